#!/bin/sh
# t0002: re-planning. An unchanged sweep (or one whose edits do not change the
# canonical spec) is a no-op; a changed spec or changed dataset contents are
# refused with the list of changes until --new-version; a sha256 pin mismatch and
# --dry-run write nothing.
#
# Bodies are && chains (the harness evaluates them inside an `if`, where `set -e`
# has no effect), so every command's failure fails the test.
. "$(dirname "$0")/lib.sh"

SWEEP=lora-attn-vs-all.yaml
TRAIN_PIN=15f01275460940e13a288a9ce01089dcf4ab4beb324cbb52fdf665be527aaf21

# The example sweep with its data and model next to it, so its relative paths work.
setup_sweep() {
    cp "$TOP/sweeps/$SWEEP" . &&
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" .
}

# edit SED-SCRIPT FILE: edit a file in place, portably.
edit() {
    sed "$1" "$2" >"$2.new" && mv "$2.new" "$2"
}

# What a plan wrote: sweeps, runs, artifacts, run links, the latest version.
counts() {
    sqlite3 reg.db "SELECT (SELECT count(*) FROM sweeps), (SELECT count(*) FROM runs),
                           (SELECT count(*) FROM artifacts), (SELECT count(*) FROM run_artifacts),
                           (SELECT max(version) FROM sweeps)"
}

# Everything recorded about each version, to show that a refused plan changed nothing.
snapshot() {
    sqlite3 reg.db "SELECT version, spec_sha256, canon_sha256, created_at FROM sweeps ORDER BY id;
                    SELECT sweep_id, run_id, ord, state FROM runs ORDER BY id;
                    SELECT sweep_id, role, name, sha256 FROM artifacts ORDER BY id"
}

runs_per_version() {   # from `mainline runs --json` on stdin: "VERSION:COUNT ..."
    python3 -c '
import collections, json, sys
c = collections.Counter(r["version"] for r in json.load(sys.stdin))
print(" ".join("%d:%d" % (v, c[v]) for v in sorted(c)))'
}

test_expect_success 'first plan records version 1: 12 runs, 3 datasets and a base model' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    check_eq "summary line" "recorded sweep '\''lora-attn-vs-all'\'' version 1: 12 runs in reg.db" \
        "$(grep "^recorded sweep" out)" &&
    check_eq "counts" "1|12|4|48|1" "$(counts)" &&
    check_eq "runs by stage and state" "lr_select|planned|6
main|waiting|6" "$(sqlite3 reg.db "SELECT stage, state, count(*) FROM runs GROUP BY stage, state ORDER BY stage")" &&
    test ! -s err
'

test_expect_success 're-planning an unchanged sweep does nothing' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    snapshot >before &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    check_eq "last line" "sweep '\''lora-attn-vs-all'\'' version 1 is already planned with this exact spec and data: nothing to do" \
        "$(tail -n 1 out)" &&
    ! grep "^recorded" out &&
    test ! -s err &&
    check_eq "counts" "1|12|4|48|1" "$(counts)" &&
    snapshot >after &&
    test_cmp before after
'

test_expect_success 're-planning through another path to the same file does nothing' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    mkdir sub &&
    run_rc 0 mainline --registry reg.db plan "$PWD/$SWEEP" &&
    grep "nothing to do\$" out &&
    (cd sub && run_rc 0 mainline --registry ../reg.db plan ../$SWEEP && grep "nothing to do\$" out) &&
    check_eq "counts" "1|12|4|48|1" "$(counts)"
'

test_expect_success 'comment and whitespace-only edits are a no-op (canonical spec)' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    cp $SWEEP orig.yaml &&
    snapshot >before &&
    { echo "# a new leading comment"; echo; cat orig.yaml; } >$SWEEP &&
    edit "s/^\\(  main:\\)\$/\\1      # the comparison/; s/^\\(defaults:.*\\)\$/\\1   /" $SWEEP &&
    printf "\\n\\n# trailing comment\\n\\n" >>$SWEEP &&
    ! cmp -s orig.yaml $SWEEP &&
    grep "^  main:      # the comparison\$" $SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    grep "version 1 is already planned with this exact spec and data: nothing to do\$" out &&
    snapshot >after &&
    test_cmp before after &&
    check_eq "recorded spec text is the first one" "$(sha orig.yaml)" \
        "$(sqlite3 reg.db "SELECT spec_sha256 FROM sweeps")"
'

test_expect_success 'reformatting (block style, key order, number spelling) is a no-op' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    snapshot >before &&
    cat >$SWEEP <<\EOF &&
sweep: lora-attn-vs-all
description: attention-only vs all-layer LoRA on arithmetic word problems
datasets:
  bench: {path: data/arith-test.jsonl}
  valid:
    path: data/arith-valid.jsonl
  train: {sha256: 15f01275460940e13a288a9ce01089dcf4ab4beb324cbb52fdf665be527aaf21, path: data/arith-train.jsonl}
base_model:
  path: models/tiny-base/model.safetensors
conditions:
  all_layer:      {adapter: lora, targets: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]}
  attention_only: {targets: [q_proj, k_proj, v_proj, o_proj], adapter: lora}
defaults:
  eval_at: [10, 20, epoch, 40, end]
  min_lr: 0.00003
  warmup_steps: 6
  epochs: 2
  batch_size: 8
  dropout: 0.0
  alpha: 16
  rank: 8
stages:
  lr_select:
    pick: {by: min(val_nll), param: lr, per: condition}
    overrides: {epochs: 1, valid_rows: 16, train_rows: 64}
    grid:
      seed: [7]
      lr: [0.0001, 3e-4, 1.0E-3]
      condition: [attention_only, all_layer]
  main:
    lr: {from: lr_select}
    grid: {seed: [0, 1, 2], condition: [attention_only, all_layer]}
    needs: lr_select
selection:  {compare: {over: seed, metric: accuracy, winner_threshold: 0.01}, checkpoint: min(val_nll)}
evaluation: {dataset: bench, max_new_tokens: 64, extract: regex, pattern: "#### (-?[0-9.,]+)",
             match: exact, baseline: true}
EOF
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    grep "version 1 is already planned with this exact spec and data: nothing to do\$" out &&
    snapshot >after &&
    test_cmp before after
'

test_expect_success 'a changed lr grid is refused with the list of changes, registry untouched' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    snapshot >before &&
    edit "s/lr: \\[1.0e-4, 3.0e-4, 1.0e-3\\]/lr: [1.0e-4, 3.0e-4]/" $SWEEP &&
    grep "lr: \\[1.0e-4, 3.0e-4\\]," $SWEEP &&
    run_rc 1 mainline --registry reg.db plan $SWEEP &&
    cat >expect <<\EOF &&
error: sweep '\''lora-attn-vs-all'\'' version 1 was planned from a different spec; what changed:
  ~ spec.stages.lr_select.grid.lr: [0.0001,0.0003,0.001] -> [0.0001,0.0003]
plan it as version 2 with --new-version, or give it another name
EOF
    test_cmp expect err &&
    ! grep "^recorded" out &&
    check_eq "counts" "1|12|4|48|1" "$(counts)" &&
    snapshot >after &&
    test_cmp before after
'

test_expect_success 'a changed stage override and a new default are both listed' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    edit "s/overrides: {train_rows: 64,/overrides: {train_rows: 32,/; s/^defaults: {rank: 8,/defaults: {rank: 8, weight_decay: 0.1,/" $SWEEP &&
    run_rc 1 mainline --registry reg.db plan $SWEEP &&
    grep "^  ~ spec\\.stages\\.lr_select\\.overrides\\.train_rows: 64 -> 32\$" err &&
    grep "^  + spec\\.defaults\\.weight_decay: 0\\.1\$" err &&
    check_eq "changes listed" 2 "$(grep -c "^  [-+~] " err)" &&
    check_eq "counts" "1|12|4|48|1" "$(counts)"
'

test_expect_success '--new-version records version 2; runs shows the latest version unless --all-versions' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    edit "s/lr: \\[1.0e-4, 3.0e-4, 1.0e-3\\]/lr: [1.0e-4, 3.0e-4]/" $SWEEP &&
    run_rc 0 mainline --registry reg.db plan --new-version $SWEEP &&
    check_eq "summary line" "recorded sweep '\''lora-attn-vs-all'\'' version 2: 10 runs in reg.db" \
        "$(grep "^recorded sweep" out)" &&
    check_eq "runs per version" "1|12
2|10" "$(sqlite3 reg.db "SELECT s.version, count(*) FROM runs r JOIN sweeps s ON s.id = r.sweep_id GROUP BY s.version ORDER BY s.version")" &&
    check_eq "latest version" "2|10" \
        "$(sqlite3 reg.db "SELECT version, n_runs FROM v_latest_sweeps WHERE name = '\''lora-attn-vs-all'\''")" &&
    run_rc 0 mainline --registry reg.db runs &&
    check_eq "runs lists" 10 "$(tail -n +2 out | wc -l | tr -d " ")" &&
    ! grep "lr-1e-3" out &&
    run_rc 0 mainline --registry reg.db runs --json &&
    check_eq "runs --json" "2:10" "$(runs_per_version <out)" &&
    run_rc 0 mainline --registry reg.db runs --all-versions &&
    check_eq "runs --all-versions lists" 22 "$(tail -n +2 out | wc -l | tr -d " ")" &&
    check_eq "1e-3 runs, only in version 1" 2 "$(grep -c "lr-1e-3" out)" &&
    run_rc 0 mainline --registry reg.db runs --all-versions --json &&
    check_eq "runs --all-versions --json" "1:12 2:10" "$(runs_per_version <out)" &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    grep "^sweep '\''lora-attn-vs-all'\'' version 2 is already planned with this exact spec and data: nothing to do\$" out
'

test_expect_success 'going back to the version 1 spec is a change against version 2' '
    setup_sweep &&
    cp $SWEEP orig.yaml &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    edit "s/lr: \\[1.0e-4, 3.0e-4, 1.0e-3\\]/lr: [1.0e-4, 3.0e-4]/" $SWEEP &&
    run_rc 0 mainline --registry reg.db plan --new-version $SWEEP &&
    cp orig.yaml $SWEEP &&
    run_rc 1 mainline --registry reg.db plan $SWEEP &&
    grep "^error: sweep '\''lora-attn-vs-all'\'' version 2 was planned from a different spec; what changed:\$" err &&
    grep "^  ~ spec\\.stages\\.lr_select\\.grid\\.lr: \\[0\\.0001,0\\.0003\\] -> \\[0\\.0001,0\\.0003,0\\.001\\]\$" err &&
    grep "^plan it as version 3 with --new-version" err &&
    check_eq "counts" "2|22|8|88|2" "$(counts)" &&
    run_rc 0 mainline --registry reg.db plan --new-version $SWEEP &&
    grep "^recorded sweep '\''lora-attn-vs-all'\'' version 3: 12 runs in reg.db\$" out
'

test_expect_success 'a dataset whose contents changed is a change (artifacts.dataset/train)' '
    setup_sweep &&
    edit "s/, sha256: $TRAIN_PIN//" $SWEEP &&
    ! grep sha256 $SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    old=$(sha data/arith-train.jsonl) &&
    snapshot >before &&
    tail -n 1 data/arith-train.jsonl | sed "s/\"problem\": \"/\"problem\": \"Today /" >>data/arith-train.jsonl &&
    new=$(sha data/arith-train.jsonl) &&
    test "$old" != "$new" &&
    run_rc 1 mainline --registry reg.db plan $SWEEP &&
    cat >expect <<EOF &&
error: sweep '\''lora-attn-vs-all'\'' version 1 was planned from a different spec; what changed:
  ~ artifacts.dataset/train: "$old" -> "$new"
plan it as version 2 with --new-version, or give it another name
EOF
    test_cmp expect err &&
    snapshot >after &&
    test_cmp before after &&
    run_rc 0 mainline --registry reg.db plan --new-version $SWEEP &&
    check_eq "train rows and digest per version" "1|240|$old
2|241|$new" "$(sqlite3 reg.db "SELECT s.version, a.rows, a.sha256 FROM artifacts a JOIN sweeps s ON s.id = a.sweep_id
                                WHERE a.role = '\''dataset'\'' AND a.name = '\''train'\'' ORDER BY s.version")"
'

test_expect_success 'a sha256 pin mismatch is refused with both digests and nothing is written' '
    setup_sweep &&
    tail -n 1 data/arith-train.jsonl | sed "s/\"problem\": \"/\"problem\": \"Today /" >>data/arith-train.jsonl &&
    new=$(sha data/arith-train.jsonl) &&
    test "$new" != "$TRAIN_PIN" &&
    run_rc 1 mainline --registry reg.db plan $SWEEP &&
    echo "error: $SWEEP:8:10: sha256 mismatch for dataset '\''data/arith-train.jsonl'\'': the sweep pins $TRAIN_PIN but the file has $new" >expect &&
    test_cmp expect err &&
    test ! -s out &&
    test ! -e reg.db &&
    test ! -e reg.db-wal &&
    run_rc 1 mainline plan $SWEEP &&
    test_cmp expect err &&
    test ! -e mainline.db
'

test_expect_success 'a base_model pin mismatch is reported once, not once per run' '
    setup_sweep &&
    zero=0000000000000000000000000000000000000000000000000000000000000000 &&
    edit "s|^base_model: {path: models/tiny-base/model.safetensors}|base_model: {path: models/tiny-base/model.safetensors, sha256: $zero}|" $SWEEP &&
    grep "sha256: $zero}" $SWEEP &&
    run_rc 1 mainline --registry reg.db plan $SWEEP &&
    echo "error: $SWEEP:6:13: sha256 mismatch for base_model '\''models/tiny-base/model.safetensors'\'': the sweep pins $zero but the file has $(sha models/tiny-base/model.safetensors)" >expect &&
    test_cmp expect err &&
    test ! -e reg.db
'

test_expect_success '--dry-run prints the plan and writes nothing' '
    setup_sweep &&
    run_rc 0 mainline plan --dry-run $SWEEP &&
    mv out dry &&
    test ! -s err &&
    test ! -e mainline.db &&
    test ! -e mainline.db-wal &&
    check_eq "last line" "dry run: nothing written" "$(tail -n 1 dry)" &&
    check_eq "table header" "RUN                                      STAGE      CONDITION       LR              SEED  OTHER" \
        "$(head -n 1 dry)" &&
    check_eq "one row per run" 12 "$(grep -c -E "^(lr_select|main)-" dry)" &&
    grep "^main-all_layer-seed-2  *main  *all_layer  *from lr_select  *2\$" dry &&
    grep "^lr_select-attention_only-lr-1e-3-seed-7  *lr_select  *attention_only  *1e-3  *7\$" dry &&
    grep "^total  *12\$" dry &&
    grep "^dataset  *train  *data/arith-train.jsonl  *57665  *240  *$TRAIN_PIN\$" dry &&
    run_rc 0 mainline plan -n $SWEEP &&
    test_cmp dry out &&
    test ! -e mainline.db &&
    ls -A >files &&
    printf "%s\n" data dry err files lora-attn-vs-all.yaml models out >expect &&
    test_cmp expect files &&
    run_rc 0 mainline plan $SWEEP &&
    sed "\$d" dry >dry-plan &&
    sed "/^recorded sweep/,\$d" out >real-plan &&
    test_cmp dry-plan real-plan
'

test_expect_success '--dry-run of a changed sweep leaves an existing registry alone' '
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    snapshot >before &&
    edit "s/seed: \\[0, 1, 2\\]/seed: [0, 1, 2, 3]/" $SWEEP &&
    run_rc 0 mainline --registry reg.db plan --dry-run $SWEEP &&
    check_eq "last line" "dry run: nothing written" "$(tail -n 1 out)" &&
    grep "^main-all_layer-seed-3 " out &&
    snapshot >after &&
    test_cmp before after
'

test_expect_success 'a new timeout or retries updates the recorded text, nothing else' '
    setup_sweep &&
    printf "timeout: 1s\nretries: 0\n" >>$SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    counts >before &&
    edit "s/^timeout: 1s/timeout: 2h/; s/^retries: 0/retries: 2/" $SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    grep "^(its timeout and retries are updated)\$" out &&
    counts >after &&
    test_cmp before after &&
    check_eq "recorded text" "$(sha $SWEEP)" \
        "$(sqlite3 reg.db "SELECT spec_sha256 FROM sweeps WHERE version = 1")" &&
    grep -q "^timeout: 2h" <<EOF_TEXT
$(sqlite3 reg.db "SELECT spec_text FROM sweeps WHERE version = 1")
EOF_TEXT
'

test_body 'declaring executor and slurm is no new version; changing them updates the recorded text' <<\EOF
    setup_sweep &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    sqlite3 reg.db "SELECT version, canon_sha256, contract_sha256 FROM sweeps" >before &&
    counts >counts_before &&
    printf 'executor: slurm\nslurm: {partition: gpu, time: "4:00:00", extra: ["--constraint=a100"]}\n' >>$SWEEP &&
    edit 's/^    pick: \(.*\)$/    pick: \1\n    slurm: {time: 30m}/; s/match: exact, baseline: true}/match: exact, baseline: true, slurm: {cpus_per_task: 4}}/' $SWEEP &&
    grep -q "^    slurm: {time: 30m}$" $SWEEP &&
    grep -q "cpus_per_task: 4}}$" $SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    grep -q "^sweep 'lora-attn-vs-all' version 1 is already planned with this exact spec and data: nothing to do$" out &&
    check_eq "updated" "(its executor and slurm resources are updated)" "$(tail -n 1 out)" &&
    check_eq "recorded text" "$(sha $SWEEP)" "$(sqlite3 reg.db "SELECT spec_sha256 FROM sweeps")" &&
    edit 's/time: "4:00:00"/time: 4h/' $SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    check_eq "a respelling changes nothing" "nothing to do" "$(tail -n 1 out | sed 's/.*: //')" &&
    edit 's/partition: gpu/partition: gpu2/' $SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    check_eq "updated" "(its slurm resources are updated)" "$(tail -n 1 out)" &&
    edit 's/^executor: slurm$/executor: local/' $SWEEP &&
    run_rc 0 mainline --registry reg.db plan $SWEEP &&
    check_eq "updated" "(its executor is updated)" "$(tail -n 1 out)" &&
    sqlite3 reg.db "SELECT version, canon_sha256, contract_sha256 FROM sweeps" >after &&
    test_cmp before after &&
    counts >counts_after &&
    test_cmp counts_before counts_after &&
    grep -q "^executor: local$" <<EOF_TEXT
$(sqlite3 reg.db "SELECT spec_text FROM sweeps WHERE version = 1")
EOF_TEXT
EOF

# parse_stdout_sweep N: p.yaml, an external trainer's sweep with N parse_stdout rules.
parse_stdout_sweep() {
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" . &&
    printf 'print(1)\n' >t.py &&
    {
        printf 'sweep: p\nbase_model: models/tiny-base/model.safetensors\n'
        printf 'datasets: {train: data/arith-train.jsonl}\n'
        printf 'trainer:\n  command: [python3, t.py]\n  parse_stdout:\n'
        i=0
        while [ "$i" -lt "$1" ]; do
            printf '    - {pattern: "Iter (\\\\d+): Val%d loss (\\\\d+\\\\.\\\\d+) of a long line", event: val, fields: [step, nll]}\n' "$i"
            i=$((i + 1))
        done
        printf 'grid: {seed: [0]}\n'
    } >p.yaml
}

test_body 'a refused re-plan shows the whole old and new value of a long changed key' <<\EOF
    parse_stdout_sweep 2
    run_rc 0 mainline --registry reg.db plan p.yaml
    sed -i 's/Val1 loss/Validation loss/' p.yaml
    run_rc 1 mainline --registry reg.db plan p.yaml
    cat >expect <<\EOF_ERR
error: sweep 'p' version 1 was planned from a different spec; what changed:
  ~ spec.trainer.parse_stdout:
      was:
        [
          {
            "event": "val",
            "fields": ["step","nll"],
            "pattern": "Iter (\\d+): Val0 loss (\\d+\\.\\d+) of a long line"
          },
          {
            "event": "val",
            "fields": ["step","nll"],
            "pattern": "Iter (\\d+): Val1 loss (\\d+\\.\\d+) of a long line"
          }
        ]
      now:
        [
          {
            "event": "val",
            "fields": ["step","nll"],
            "pattern": "Iter (\\d+): Val0 loss (\\d+\\.\\d+) of a long line"
          },
          {
            "event": "val",
            "fields": ["step","nll"],
            "pattern": "Iter (\\d+): Validation loss (\\d+\\.\\d+) of a long line"
          }
        ]
plan it as version 2 with --new-version, or give it another name
EOF_ERR
    test_cmp expect err
EOF

test_body 'a changed value of more than 30 lines is cut, saying how much was' <<\EOF
    parse_stdout_sweep 40
    run_rc 0 mainline --registry reg.db plan p.yaml
    sed -i 's/Val39 loss/Validation loss/' p.yaml
    run_rc 1 mainline --registry reg.db plan p.yaml
    cat err
    # 202 lines each: the 30 from a little before the first that differs
    check_eq "cut before" 2 "$(grep -c '^        \.\.\. (184 lines before)$' err)"
    grep -q '^            "pattern": "Iter (\\\\d+): Val39 loss' err
    grep -q '^            "pattern": "Iter (\\\\d+): Validation loss' err
    check_eq "lines" 43 "$(wc -l <err)"
EOF

test_done
