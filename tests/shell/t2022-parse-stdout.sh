#!/bin/sh
# t2022: a trainer that only prints. Its lines in mlx_lm.lora's format become train,
# val, memory and checkpoint rows through the mlx-lm preset; a pattern written the
# Python way (\d, \.) gives rows instead of silently none; the checkpoint rule of the
# selection finds them.
. "$(dirname "$0")/lib.sh"

# printer.sh: prints what mlx_lm.lora prints for a 30-iteration run (val every 10,
# a report every 10, a save every 10), writing the adapter files it names.
write_printer() {
    cat >printer.sh <<'EOF'
#!/bin/sh
mkdir -p adapters
echo "Loading pretrained model"
echo "Trainable parameters: 0.082% (0.295M/360.822M)"
echo "Starting training..., iters: 30"
echo "Iter 1: Val loss 2.931, Val took 1.634s"
for it in 10 20 30; do
    loss=$(awk -v i=$it 'BEGIN { printf "%.3f", 2.5 - i / 40 }')
    echo "Iter $it: Train loss $loss, Learning Rate 1.000e-05, It/sec 0.583, Tokens/sec 283.211, Trained Tokens $((it * 486)), Peak mem 5.364 GB"
    echo "Iter $it: Val loss $(awk -v i=$it 'BEGIN { printf "%.3f", 2.9 - i / 50 }'), Val took 1.2s"
    n=$(printf '%07d' $it)
    : >adapters/adapters.safetensors
    : >adapters/${n}_adapters.safetensors
    echo "Iter $it: Saved adapter weights to adapters/adapters.safetensors and adapters/${n}_adapters.safetensors."
done
echo "Saved final weights to adapters/adapters.safetensors."
EOF
    chmod +x printer.sh
}

test_body 'the mlx-lm preset: train, val, memory and checkpoint rows from mlx_lm.lora lines' <<\EOF
    write_printer
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >m.yaml <<EOF_YAML
sweep: m
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl}
trainer:
  command: [sh, $PWD/printer.sh]
  parse_stdout:
    preset: mlx-lm
    examples: ["Iter 10: Val loss 2.345, Val took 1.2s"]
selection: {checkpoint: min(val_nll)}
grid: {seed: [0]}
EOF_YAML
    mainline plan m.yaml >/dev/null
    mainline run m >run.out 2>&1 || { cat run.out; false; }
    test "$(sql "SELECT group_concat(step || '=' || value, ' ') FROM
                 (SELECT step, value FROM metrics WHERE name = 'val_nll' ORDER BY step)")" = \
         "1=2.931 10=2.7 20=2.5 30=2.3"
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq 3
    test "$(sql "SELECT value FROM metrics WHERE name = 'tokens' AND step = 30")" = 14580.0
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'peak_mem_gb'")" -eq 3
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'memory'")" -eq 3
    test "$(sql "SELECT group_concat(step || ':' || path, ' ') FROM checkpoints")" = \
         "10:adapters/0000010_adapters.safetensors 20:adapters/0000020_adapters.safetensors 30:adapters/0000030_adapters.safetensors"
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'saved'")" -eq 1
    # the checkpoint rule min(val_nll) picks the step-30 adapter
    mainline select m >select.out 2>&1 || :
    cat select.out
    grep -q "^| main-seed-0 | - | 0 | 30 | 2.300000 |" select.out
    # a rule over a metric the trainer does not report fails, naming what it did report
    sed -e 's/^sweep: m/sweep: m2/' -e 's/min(val_nll)/min(val_loss)/' m.yaml >m2.yaml
    mainline plan m2.yaml >/dev/null
    mainline run m2 >run2.out 2>&1 || { cat run2.out; false; }
    rc=0
    mainline select m2 >sel2.out 2>&1 || rc=$?
    cat sel2.out
    test "$rc" -eq 1
    grep -q "no run reported 'val_loss' at a checkpoint, so the rule min(val_loss) selects nothing; they reported: it_per_s, loss, lr, peak_mem_gb, tok_per_s, tokens, val_nll, val_seconds" sel2.out
EOF

test_body 'a pattern written the Python way (\d, \.) gives rows; a broken one is refused at plan' <<\EOF
    write_printer
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >p.yaml <<EOF_YAML
sweep: p
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl}
trainer:
  command: [sh, $PWD/printer.sh]
  parse_stdout:
    - {pattern: "Iter (\\\\d+): Val loss (\\\\d+\\\\.\\\\d+)", event: val, fields: [step, nll]}
grid: {seed: [0]}
EOF_YAML
    cat p.yaml
    mainline plan p.yaml >/dev/null
    mainline run p >run.out 2>&1 || { cat run.out; false; }
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'val_nll'")" -eq 4
    # the same, a parenthesis short
    sed -e 's/^sweep: p/sweep: q/' -e 's/\\\\d+)", event/\\\\d+", event/' p.yaml >q.yaml
    cat q.yaml
    rc=0
    mainline plan q.yaml >q.out 2>&1 || rc=$?
    cat q.out
    test "$rc" -eq 1
    grep -q "^error: q.yaml:7:[0-9]*: parse_stdout pattern: missing closing parenthesis" q.out
EOF

test_body 'a command naming a file beside the sweep (sh printer.sh) runs it from the run directory' <<\EOF
    write_printer
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >r.yaml <<EOF_YAML
sweep: r
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl}
trainer: {command: [sh, printer.sh], parse_stdout: mlx-lm}
grid: {seed: [0]}
EOF_YAML
    mainline plan r.yaml >plan.out
    grep -q "^code file: printer.sh sha256:" plan.out
    mainline run r >run.out 2>&1 || { cat run.out; false; }
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'val_nll'")" -eq 4
EOF

test_done
