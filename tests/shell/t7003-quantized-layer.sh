#!/bin/sh
# t7003: the mainline's usable.quantized on a real sweep (built-in trainer and
# evaluator, the demo base model, 2 training steps, 48 copying questions the base
# model answers about 60% of): every evaluation (both runs' selected checkpoints
# and the baseline) is scored again as a q4_0 GGUF written by the export code and
# read back; the registry holds both accuracies; select and the report show them
# side by side; the layer's verdict follows the worst seed's drop against the
# bound, and the same runs under a bound of 0 and of 1 judge it as the numbers say
# (fail and pass when a seed lost accuracy, as on the machines this was written on).
. "$(dirname "$0")/lib.sh"

# sweep NAME BOUND: one LoRA condition x 2 seeds on copying rows ("Read: 5 17 302."
# -> the last number), usable.quantized q4_0 at most BOUND worse.
sweep() {
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/demo-base/model.safetensors
datasets: {train: train.jsonl, valid: valid.jsonl, bench: bench.jsonl}
conditions:
  attn: {adapter: lora, targets: [q_proj, v_proj]}
defaults: {rank: 2, alpha: 4, lr: 1.0e-4, batch_size: 4, max_steps: 2, eval_at: [end]}
grid: {condition: [attn], seed: [0, 1]}
evaluation: {dataset: bench, max_new_tokens: 48, extract: last_number, stop: ["\n"],
             baseline: true}
selection: {checkpoint: last, compare: {metric: accuracy, over: seed, winner_threshold: 0.02}}
mainline:
  landed: {min_gain: 0}
  usable: {min_eval_tok_per_s: 1, quantized: {quant: q4_0, max_accuracy_drop: $2}}
audit: {waive: [answers]}
EOF
}

# Copying rows: train and valid teach "Again: <the list>.", the benchmark scores the
# last number the model writes after "Read: <the list>.".
write_data() {
    awk 'BEGIN {
        srand(7)
        for (f = 0; f < 3; f++) {
            name = f == 0 ? "train" : f == 1 ? "valid" : "bench"
            rows = f == 0 ? 16 : f == 1 ? 8 : 48
            for (i = 0; i < rows; i++) {
                k = 5 + int(rand() * 5); list = ""
                for (j = 0; j < k; j++) { last = 1 + int(rand() * 999); list = list (j ? " " : "") last }
                if (f < 2)
                    printf "{\"prompt\": \"Read: %s.\", \"completion\": \"Again: %s.\"}\n", list, list > (name ".jsonl")
                else
                    printf "{\"prompt\": \"Read: %s.\", \"expected_answer\": \"%d\"}\n", list, last > (name ".jsonl")
            }
        }
    }'
}

test_body 'usable.quantized: q4_0 evaluated beside f32, recorded, judged, reported' <<\EOF
    mkdir models && cp -r "$TOP/sweeps/models/demo-base" models/
    write_data
    test "$(wc -l <bench.jsonl)" -eq 48
    sweep qa 0
    sweep qb 1
    mainline plan qa.yaml >plan.out
    mainline plan qb.yaml >>plan.out
    run_rc 0 mainline run -j 2 qa
    run_rc 0 mainline run -j 2 qb
    # every evaluation (2 runs + the baseline, per sweep) has both scores, on all 48 rows
    test "$(sql "SELECT count(*) FROM evals")" -eq 6
    test "$(sql "SELECT count(*) FROM evals WHERE quant = 'q4_0' AND quant_n = 48 AND n = 48
                 AND quant_correct BETWEEN 0 AND 48 AND abs(quant_accuracy - quant_correct / 48.0) < 1e-9
                 AND quant_tok_per_s > 0 AND quant_seconds > 0
                 AND quant_gguf_bytes > 100000")" -eq 6
    for d in runs/qa/main-attn-seed-0/eval/step-2 runs/qa/main-attn-seed-1/eval/step-2 \
             runs/qa/baseline; do
        test "$(wc -l <"$d/predictions-q4_0.jsonl")" -eq 48
        ! test -e "$d/model-q4_0.gguf"
        # the registry's quantised count is the file's
        n=$(grep -c '"correct":true' "$d/predictions-q4_0.jsonl" || :)
        grep -q "\"quantized\":{\"quant\":\"q4_0\",\"n\":48,\"correct\":$n," "$d/metrics.jsonl"
    done
    # the quantised model really was another model: some answers differ from f32's
    d=runs/qa/main-attn-seed-0/eval/step-2
    sed 's/"finish".*//' "$d/predictions.jsonl" >f32.out
    sed 's/"finish".*//' "$d/predictions-q4_0.jsonl" >q4.out
    ! cmp -s f32.out q4.out
    # the same numbers in both sweeps (same runs, same code); the worst seed's drop
    drop() {
        sql "SELECT printf('%.6f', max(e.accuracy - e.quant_accuracy)) FROM evals e
             JOIN sweeps s ON s.id = e.sweep_id WHERE s.name = '$1' AND e.run IS NOT NULL"
    }
    D=$(drop qa)
    test "$D" = "$(drop qb)"
    run_rc 0 mainline select qa
    cp out select-qa.out
    run_rc 0 mainline select qb
    cp out select-qb.out
    # a bound of 1 passes any drop; a bound of 0 passes only when no seed lost accuracy
    test "$(sql "SELECT usable FROM v_mainline WHERE sweep = 'qb'")" = pass
    test "$(sql "SELECT diagnosis FROM v_mainline WHERE sweep = 'qb'")" = passes
    if awk -v d="$D" 'BEGIN { exit !(d > 0) }'; then
        test "$(sql "SELECT usable FROM v_mainline WHERE sweep = 'qa'")" = fail
        test "$(sql "SELECT diagnosis FROM v_mainline WHERE sweep = 'qa'")" = "quality problem"
        grep "^\*\*Mainline:\*\* no mainline: .*attn, quality problem: usable (.*q4_0 accuracy .*(worst seed) > 0)" select-qa.out
    else
        echo "note: no seed lost accuracy as q4_0 here (worst drop $D): both bounds pass"
        test "$(sql "SELECT usable FROM v_mainline WHERE sweep = 'qa'")" = pass
    fi
    grep "^\*\*Mainline:\*\* mainline: attn" select-qb.out
    # select --json: the worst drop is the registry's, per seed too
    run_rc 0 mainline select qa --json
    js() { sqlite3 :memory: "SELECT json_extract(readfile('out'), '\$.mainline.$1')"; }
    test "$(js 'candidates[0].numbers.quantized.worst_drop')" = "$(sql "SELECT max(e.accuracy -
        e.quant_accuracy) FROM evals e JOIN sweeps s ON s.id = e.sweep_id
        WHERE s.name = 'qa' AND e.run IS NOT NULL")"
    test "$(js 'candidates[0].numbers.quantized.seeds[1].run')" = main-attn-seed-1
    test "$(js 'quantized.baseline.quant_accuracy')" = \
         "$(sql "SELECT quant_accuracy FROM evals WHERE run IS NULL LIMIT 1")"
    # the report: f32 and q4_0 side by side, per candidate and per seed, in md and html
    run_rc 0 mainline report qa --format md -o report.md
    grep -q '^### Quantised (q4_0) vs f32' report.md
    grep -q '^| attn | mean (worst drop) | 0\.[0-9]* | 0\.[0-9]* | [+-]0\.[0-9]* |' report.md
    grep -q '^|  | main-attn-seed-1 | 0\.[0-9]* | 0\.[0-9]* | [+-]0\.[0-9]* |' report.md
    grep -q '^| untouched base model | baseline |' report.md
    run_rc 0 mainline report qa --format html -o report.html
    grep -q '<h3>Quantised (q4_0) vs f32</h3>' report.html
    grep -q '<td>main-attn-seed-0</td>' report.html
    no_jobs_left
EOF

test_done
