#!/bin/sh
# t7001: `mainline select` and `mainline report` on sweeps run by `mainline run`
# with the fake trainer and evaluator: exact verdicts for a winner beyond the
# threshold, an inconclusive gap, a mainline failing only `usable` (a speed
# problem) and one failing base_survived (a quality problem); the checkpoint rule's
# tie going to the earlier step; re-running select gives byte-identical output and
# no duplicate rows; `mainline rules`; the views; every report format; the HTML page
# rendered by headless Chromium with no console error and a screenshot kept, and its
# layout checked at 390 and 1280 px (tests/shell/layout-check.js).
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"

# sweep NAME A_CORRECT B_CORRECT THRESHOLD A_EXTRA B_EXTRA USABLE [STAGES]: two conditions
# a and b, 3 seeds, 100 examples; the base model gets 50 right, retention NLL 1.0.
sweep() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" . 2>/dev/null || :
    runs=${8:-'grid: {condition: [a, b], seed: [0, 1, 2]}'}
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl,
           bench: data/arith-test.jsonl}
trainer: {command: [$FAKES/fake_trainer], resume: true}
evaluator: {command: [$FAKES/fake_evaluator, --n, "100", --base-correct, "50",
                      --base-retention, "1.0", --probe, Hello]}
conditions:
  a: {adapter: lora, targets: [q_proj, v_proj], x_eval_correct: $2, x_ckpt_bytes: 30800000,
      x_trainable_pct: 1 $5}
  b: {adapter: lora, targets: all-linear, x_eval_correct: $3, x_eval_shift: 5,
      x_ckpt_bytes: 87500000, x_retention_nll: 1.01, x_trainable_pct: 3 $6}
defaults: {x_steps: 6, x_peak_rss_mb: 300, x_retention_nll: 1.02, lr: 3.0e-4}
$runs
evaluation: {dataset: bench, baseline: true, retention: valid}
selection: {checkpoint: min(val_nll),
            compare: {metric: accuracy, over: seed, winner_threshold: $4, test: mcnemar}}
mainline:
  base_survived: {probe: retention, max_nll_increase: 0.05}
  landed: {min_gain: 0.01}
  usable: {$7}
  prefer: [smaller_adapter, smaller_seed_range]
EOF
    mainline plan "$1.yaml" >plan.out
    mainline run -q -j 2 "$1" >run.out 2>&1 || { cat run.out; return 1; }
}

verdict() {
    grep '^\*\*Verdict:\*\*' "$1" | sed 's/^\*\*Verdict:\*\* //'
}
mainline_line() {
    grep '^\*\*Mainline:\*\*' "$1" | sed 's/^\*\*Mainline:\*\* //'
}

STAGES='stages:
  lr_select:
    grid: {condition: [a, b], lr: [1.0e-4, 3.0e-4, 1.0e-3], seed: [7]}
    pick: {per: condition, param: lr, by: min(val_nll)}
  main:
    grid: {condition: [a, b], seed: [0, 1, 2]}
    lr: {from: lr_select}'

test_body 'a gap beyond the threshold: winner a; b fails only usable; mainline a' <<\EOF
    sweep win 90 80 0.05 "" "" "max_adapter_mb: 50, min_eval_tok_per_s: 100" "$STAGES"
    mainline select win >sel.out
    cat sel.out
    check_eq verdict "winner: a (mean accuracy 0.9000 vs 0.8000 for b: gap 0.1000 >= threshold 0.05)" \
        "$(verdict sel.out)"
    check_eq mainline "mainline: a (passes every declared layer)" "$(mainline_line sel.out)"
    # per seed: a only 15, b only 5, both 75, neither 5; McNemar exact p for (15, 5)
    grep -qx '| 0 | 15 | 5 | 75 | 5 | +10 | 0.04139 |' sel.out
    grep -qx '| all | 45 | 15 | 225 | 15 | +30 | 0.0001345 |' sel.out
    sql "SELECT candidate, base_survived, landed, usable, diagnosis, is_mainline
         FROM v_mainline ORDER BY candidate" >got
    printf '%s\n' 'a|pass|pass|pass|passes|1' 'b|pass|pass|fail|speed problem|0' >want
    test_cmp want got
    rules=$(sql "SELECT contract_sha256 FROM sweeps")
    test "$(sql "SELECT count(*) FROM selections WHERE rules_sha256 = '$rules'")" -eq 12
    test "$(sql "SELECT count(*) FROM selections WHERE kind = 'checkpoint'")" -eq 6
    sql "SELECT pick, lr, picked FROM v_lr_selection WHERE picked" >got
    printf '%s\n' 'lr_select.lr per condition=a|0.0003|1' 'lr_select.lr per condition=b|0.0003|1' >want
    test_cmp want got
EOF

test_body 'select again: byte-identical output, no duplicate rows' <<\EOF
    sweep again 90 80 0.05 "" "" "max_adapter_mb: 50"
    mainline select again >one.out
    ids=$(sql "SELECT count(*), min(id) FROM selections")
    mainline select again >two.out
    test_cmp one.out two.out
    test "$(sql "SELECT count(*) FROM selections")" -eq "$(echo "$ids" | cut -d'|' -f1)"
    test "$(sql "SELECT count(*) FROM (SELECT kind, scope FROM selections
                 GROUP BY kind, scope HAVING count(*) > 1)")" -eq 0
    # --json, before or after the sweep: the same decision as one document
    mainline select --json again >sel.json
    mainline select again --json >sel2.json
    test_cmp sel.json sel2.json
    python3 -c '
import json, sys
d = json.load(open("sel.json"))
assert d["sweep"] == "again" and d["version"] == 1, d
assert d["recorded"] == int(sys.argv[1]), d["recorded"]
assert d["checkpoint_rule"] == "min(val_nll)"
assert len(d["checkpoints"]) == 6 and all("step" in c for c in d["checkpoints"]), d["checkpoints"]
assert d["compare"]["winner"] == "a", d["compare"]
print(sorted(d))
' "$(echo "$ids" | cut -d'|' -f1)"
    test "$(sql "SELECT count(*) FROM selections")" -eq "$(echo "$ids" | cut -d'|' -f1)"
    expect_exit 129 mainline select again --jsn
    # show and runs: the accuracy of the run's latest evaluation, in %
    mainline show main-a-seed-0 >show.out
    grep -q "^accuracy   90\.0% (its latest evaluation)\$" show.out
    grep -q "^val NLL    [0-9.]* nats/token (best, at step [0-9]*)\$" show.out
    mainline runs --where condition=b >runs.out
    cat runs.out
    test "$(tail -n +2 runs.out | awk '{ print $NF }' | sort -u)" = "80.0%"
EOF

test_body 'a gap inside the threshold is inconclusive, with its numbers' <<\EOF
    sweep close 90 89 0.05 "" "" "max_adapter_mb: 100"
    mainline select close >sel.out
    check_eq verdict "inconclusive (mean accuracy 0.9000 for a vs 0.8900 for b: gap 0.0100 < threshold 0.05)" \
        "$(verdict sel.out)"
    grep -q '^- the gap (0.0100) is below the frozen 0.05 threshold for a winner claim$' sel.out
    grep -q '^- a is generally better than b$' sel.out
    sql "SELECT json_extract(choice, '$.verdict'), json_extract(choice, '$.winner') IS NULL
         FROM selections WHERE kind = 'compare'" >got
    echo 'inconclusive|1' >want
    test_cmp want got
    # both pass; a is preferred for its smaller adapter
    check_eq mainline "mainline: a (passes every declared layer; preferred by smaller_adapter, smaller_seed_range over 1 other passing candidate)" \
        "$(mainline_line sel.out)"
EOF

test_body 'every candidate fails only usable: no mainline, a speed problem' <<\EOF
    sweep slow 90 80 0.01 "" "" "max_adapter_mb: 100, min_eval_tok_per_s: 5000"
    mainline select slow >sel.out
    check_eq mainline "no mainline: none of 2 candidates passes every layer: a, speed problem: usable (adapter 30.8 MB <= 100; eval 1800 tok/s < 5000); b, speed problem: usable (adapter 87.5 MB <= 100; eval 1800 tok/s < 5000)" \
        "$(mainline_line sel.out)"
    test "$(sql "SELECT group_concat(diagnosis) FROM v_mainline")" = "speed problem,speed problem"
EOF

test_body 'a damaged base is a quality problem' <<\EOF
    sweep hurt 90 80 0.01 ", x_retention_nll: 1.30" "" "max_adapter_mb: 100"
    mainline select hurt >sel.out
    sql "SELECT candidate, base_survived, diagnosis, is_mainline,
                round(retention_nll_increase, 4) FROM v_mainline ORDER BY candidate" >got
    printf '%s\n' 'a|fail|quality problem|0|0.3' 'b|pass|passes|1|0.01' >want
    test_cmp want got
EOF

test_body 'checkpoint rule: min(val_nll) ties go to the earlier step' <<\EOF
    sweep tie 90 80 0.05 ", x_val_flat_from: 4" ", x_val_flat_from: 4" "max_adapter_mb: 100"
    mainline select tie >sel.out
    # val at steps 2, 4, 6; 4 and 6 have the same NLL: step 4 counts
    test "$(sql "SELECT group_concat(DISTINCT json_extract(choice, '$.step'))
                 FROM selections WHERE kind = 'checkpoint'")" = 4
    test "$(sql "SELECT count(*) FROM selections WHERE kind = 'checkpoint'
                 AND json_array_length(inputs) = 3")" -eq 6
EOF

test_body 'rules: the frozen rules and the hash the selections carry' <<\EOF
    sweep rl 90 80 0.05 "" "" "max_adapter_mb: 50"
    mainline select rl >/dev/null
    mainline rules rl >rules.out
    hash=$(sql "SELECT contract_sha256 FROM sweeps")
    grep -qx "rules sha256: $hash" rules.out
    grep -q '"max_nll_increase": 0.05' rules.out
    mainline rules rl.yaml >file.out
    grep -qx "rules sha256: $hash" file.out
    grep -qx "registry: sweep 'rl' version 1 has the same rules" file.out
    test "$(sql "SELECT count(DISTINCT rules_sha256) FROM selections WHERE kind != 'pick'")" -eq 1
    test "$(sql "SELECT DISTINCT rules_sha256 FROM selections")" = "$hash"
    # the mainline rules are frozen: changing one is refused like any change
    sed -i 's/max_nll_increase: 0.05/max_nll_increase: 0.5/' rl.yaml
    run_rc 1 mainline plan rl.yaml
    grep -q 'max_nll_increase' err
EOF

test_body 'report: refused before select; md, csv, json; -o writes the file' <<\EOF
    sweep rep 90 80 0.05 "" "" "max_adapter_mb: 50"
    run_rc 1 mainline report rep
    grep -q "run 'mainline select rep' first" err
    mainline select rep >/dev/null
    mainline report rep >r.md
    for h in '### Mainline layers' '### Disagreement: a vs b' '### Validation NLL by step' \
             '### Variants' '### Throughput' '### Provenance' '### This result cannot say'; do
        grep -qF "$h" r.md
    done
    # every parameter that differs between runs is a column: the conditions' own
    # settings too, and seed
    grep -q '^| run | condition | targets | x_ckpt_bytes | .* | seed | type | trainable % |' r.md
    grep -q '^| main-a-seed-0 | a | q_proj+v_proj | 30800000 | .* | 0 | lora q_proj+v_proj | 1.000 |' r.md
    grep -qF 'Hello -> Hello from main-a-seed-0' r.md
    (umask 022 && mainline report rep -f csv -o r.csv)
    test "$(wc -l <r.csv)" -eq 7
    # written atomically, yet an ordinary file: the umask decides its mode
    check_eq "mode under umask 022" 644 "$(stat -c %a r.csv)"
    (umask 077 && mainline report rep -f csv -o private.csv)
    check_eq "mode under umask 077" 600 "$(stat -c %a private.csv)"
    mainline report rep --format json -o r.json
    python3 - <<\PY
import json
m = json.load(open("r.json"))
assert m["compare"]["winner"] == "a", m["compare"]
assert m["mainline"]["mainline"] == "a"
assert len(m["runs"]) == 6 and m["provenance"]["rules_sha256"] == m["rules_sha256"]
assert m["pairs"][0]["bootstrap"]["lo"] > 0
PY
    run_rc 129 mainline report rep --format pdf
EOF

test_body 'report: failed runs listed with their reason and last stderr line' <<\EOF
    sweep fail 90 80 0.05 "" ", x_fail_at: 2" "max_adapter_mb: 50" || :
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'failed'")" -eq 3
    mainline select fail >sel.out 2>&1 || :
    cat sel.out
    mainline report fail >report.md
    sed -n '/^## Failed runs/,$p' report.md >failed.md
    cat failed.md
    grep -qx '3 runs failed; `mainline show RUN` prints the last lines of its stderr, `mainline run --retry-failed` tries again.' failed.md
    for s in 0 1 2; do
        grep -qxF "| main-b-seed-$s | main | 1 | exit status 1: fake_trainer: failing at step 2 as asked (runs/fail/main-b-seed-$s/stderr.log) | fake_trainer: failing at step 2 as asked |" failed.md
    done
    ! grep -q "main-a-seed" failed.md
    test "$(sql "SELECT DISTINCT fail_stderr FROM runs WHERE state = 'failed'")" = \
        "fake_trainer: failing at step 2 as asked"
    mainline report fail --format html >report.html
    grep -q '<h2>Failed runs</h2>' report.html
    grep -q '<td>main-b-seed-1</td><td>main</td><td[^>]*>1</td><td>exit status 1: fake_trainer: failing at step 2 as asked (runs/fail/main-b-seed-1/stderr.log)</td><td><code>fake_trainer: failing at step 2 as asked</code></td>' report.html
    mainline report fail --format json >report.json
    python3 -c '
import json
f = json.load(open("report.json"))["failed_runs"]
assert [x["run"] for x in f] == ["main-b-seed-0", "main-b-seed-1", "main-b-seed-2"], f
assert f[0]["stderr_line"] == "fake_trainer: failing at step 2 as asked" and f[0]["attempt"] == 1, f
'
    # a sweep with no failure has no such section
    sweep ok 90 80 0.05 "" "" "max_adapter_mb: 50"
    mainline select ok >/dev/null
    mainline report ok >ok.md
    ! grep -q "Failed runs" ok.md
EOF

test_body 'rank x lr x seed with no conditions: every swept parameter is a column' <<\EOF
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >grid.yaml <<YAML
sweep: grid
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl,
           bench: data/arith-test.jsonl}
trainer: {command: [$FAKES/fake_trainer], resume: true}
evaluator: {command: [$FAKES/fake_evaluator, --n, "100", --probe, Hello]}
defaults: {adapter: lora, targets: [q_proj, v_proj], x_steps: 4, x_eval_correct: 70,
           x_peak_rss_mb: 300}
grid: {rank: [4, 16], lr: [1.0e-4, 3.0e-4], seed: [0, 1]}
evaluation: {dataset: bench}
selection: {checkpoint: last, compare: {metric: accuracy, over: seed}}
YAML
    mainline plan grid.yaml >plan.out
    mainline run -q -j 2 grid >run.out 2>&1 || { cat run.out; exit 1; }
    mainline select grid >/dev/null
    mainline report grid -f csv -o r.csv
    check_eq "csv header" "sweep,version,rules_sha256,run,stage,lr,rank,seed,state,type,selected_step,val_nll,accuracy,trainable_pct,train_loss,peak_rss_mb,train_tok_per_s,eval_tok_per_s" \
        "$(head -n 1 r.csv)"
    test "$(wc -l <r.csv)" -eq 9
    grep -q '^grid,1,[0-9a-f]*,"main-rank-16-lr-3e-4-seed-1","main",3e-4,16,1,"done",' r.csv
    mainline report grid -f json -o r.json
    python3 - <<\PY
import json
m = json.load(open("r.json"))
assert m["parameters"] == ["lr", "rank", "seed"], m["parameters"]
r = [r for r in m["runs"] if r["run"] == "main-rank-16-lr-3e-4-seed-1"][0]
assert (r["rank"], r["lr"], r["seed"]) == (16, 0.0003, 1), r
assert isinstance(r["rank"], int) and isinstance(r["lr"], float)
assert "targets" not in r and "adapter" not in r
PY
    mainline report grid -o r.md
    grep -qx '| run | lr | rank | seed | type | trainable % | train loss | val loss | peak MB | probe answers |' r.md
    grep -q '^| main-rank-4-lr-1e-4-seed-0 | 1e-4 | 4 | 0 | lora q_proj+v_proj |' r.md
    grep -qx '| run | lr | rank | seed | train tok/s | eval tok/s |' r.md
    mainline report grid -f html -o r.html
    grep -q '<th>run</th><th>lr</th><th>rank</th><th>seed</th><th>type</th>' r.html
    grep -q '<td>main-rank-4-lr-1e-4-seed-0</td><td>1e-4</td><td>4</td><td>0</td>' r.html
    sql "SELECT run, value FROM run_params WHERE name = 'rank' AND swept ORDER BY ord" >got
    printf '%s\n' 'main-rank-4-lr-1e-4-seed-0|4' 'main-rank-4-lr-1e-4-seed-1|4' \
        'main-rank-4-lr-3e-4-seed-0|4' 'main-rank-4-lr-3e-4-seed-1|4' \
        'main-rank-16-lr-1e-4-seed-0|16' 'main-rank-16-lr-1e-4-seed-1|16' \
        'main-rank-16-lr-3e-4-seed-0|16' 'main-rank-16-lr-3e-4-seed-1|16' >want
    test_cmp want got
    check_eq "swept" "lr rank seed" \
        "$(sql "SELECT group_concat(name, ' ') FROM (SELECT DISTINCT name FROM run_params
                WHERE sweep = 'grid' AND swept ORDER BY name)")"
EOF

test_body 'the HTML report renders in headless Chromium without console errors' <<\EOF
    if ! command -v chromium >/dev/null 2>&1; then
        echo "SKIP: chromium is not installed (make deps installs it)"
        exit 0
    fi
    # 30 steps: the fake trainer's loss falls from 2.02 to 0.09, more than 10x, so the
    # train-loss chart has a log y axis; its validation NLL (1.52 to 1.05) a linear one
    sweep web 90 89 0.05 ", x_steps: 30" ", x_steps: 30" "max_adapter_mb: 50"
    mainline select web >/dev/null
    mainline report web -f html -o report.html
    refute grep -qiE '<script|https?://|src=' report.html
    # validation NLL and, beside it, the train loss of every run (narrow and wide)
    test "$(grep -o 'aria-label="validation NLL by step, stage main"' report.html | wc -l)" -ge 2
    test "$(grep -o 'aria-label="training loss by step, stage main"' report.html | wc -l)" -eq 2
    grep -q '>train loss (nats/token, log)</text>' report.html
    grep -q '>validation NLL (nats/token)</text>' report.html
    refute grep -q 'NLL (nats/token, log)' report.html
    grep -q '>accuracy (% correct)</text>' report.html
    grep -q 'a: mean 90.0%, range 0.0 points over 3 seeds' report.html
    for size in 390,2400 1280,2400; do
        timeout 120 chromium --headless --disable-gpu --no-sandbox --enable-logging=stderr \
            --v=0 --screenshot="$PWD/shot-$size.png" --window-size=$size \
            "file://$PWD/report.html" >chrome-$size.log 2>&1
        test -s "shot-$size.png"
        refute grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE\(' chrome-$size.log
    done
    timeout 120 chromium --headless --disable-gpu --no-sandbox --dump-dom \
        "file://$PWD/report.html" >dom.html 2>/dev/null
    grep -q 'inconclusive (mean accuracy 0.9000 for a' dom.html
    test "$(grep -o '<svg' dom.html | wc -l)" -ge 7
    # the layout at a phone's and a laptop's width: no text below 11 px, overlapping or
    # cut off, no tick outside what the quantity can be, nothing wider than the page
    for w in 390 1280; do
        { printf '<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="report.html"'
          printf ' style="border:0;width:%spx;height:3000px"></iframe><script>' $w
          cat "$TOP/tests/shell/layout-check.js"
          echo 'document.getElementById("f").onload = function () { check(this.contentWindow); };'
          echo '</script></body></html>'; } >check-$w.html
        timeout 120 chromium --headless --disable-gpu --no-sandbox --allow-file-access-from-files \
            --window-size=$w,3000 --dump-dom "file://$PWD/check-$w.html" 2>/dev/null |
            sed -n '/<pre id="layout-check">/,/<\/pre>/p' >layout-$w.out
        cat layout-$w.out
        grep -q "checked [1-9][0-9]* texts, [1-9][0-9]* ticks at $w px" layout-$w.out
        refute grep -q FAIL layout-$w.out
    done
    # the scratch directory goes when every test passes: keep the pictures apart
    keep=${MAINLINE_TEST_ARTIFACTS:-${TMPDIR:-/tmp}/mainline-test-artifacts}/t7001
    mkdir -p "$keep" && cp shot-*.png report.html "$keep/"
    echo "screenshots kept in $keep"
EOF

test_done
