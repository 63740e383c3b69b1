#!/bin/sh
# t0004: reading the registry. Two example sweeps planned into one registry, then
# status, runs --where (every operator, params keys, --json, hostile input),
# show, the registry-locating options, and the documented SQL views.
#
# Bodies are && chains (the harness evaluates them inside an `if`, where `set -e`
# has no effect), so every command's failure fails the test.
. "$(dirname "$0")/lib.sh"

# Nothing here is meant to be inside a git repository, whatever holds $TMPDIR.
GIT_CEILING_DIRECTORIES=$(cd "$SCRATCH" && pwd -P)
export GIT_CEILING_DIRECTORIES

# A --where value built to break out of an SQL string literal, without spaces
# (a space separates terms).
INJECT="condition=x';DROP/**/TABLE/**/runs;--"
INJECT_SPACED="condition=x'; drop table runs; --"

# lora-attn-vs-all (12 runs, 6 waiting) and rank-lr-grid (12 runs) in ./reg.db.
setup_two() {
    cp "$TOP/sweeps/lora-attn-vs-all.yaml" "$TOP/sweeps/rank-lr-grid.yaml" . &&
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" . &&
    run_rc 0 mainline --registry reg.db plan lora-attn-vs-all.yaml &&
    run_rc 0 mainline --registry reg.db plan rank-lr-grid.yaml
}

# A third sweep, lora-copy: the same runs as lora-attn-vs-all under another name.
plan_copy() {
    sed 's/^sweep: lora-attn-vs-all$/sweep: lora-copy/' lora-attn-vs-all.yaml >lora-copy.yaml &&
    grep -q '^sweep: lora-copy$' lora-copy.yaml &&
    run_rc 0 mainline --registry reg.db plan lora-copy.yaml
}

# where EXPR...: `mainline runs` with these --where terms (each a separate
# --where), as SWEEP/RUN lines in ./got.
where() {
    n=$#
    for w; do set -- "$@" --where "$w"; done
    shift "$n"
    run_rc 0 mainline --registry reg.db runs "$@" &&
    tail -n +2 out | awk '{ print $1 "/" $2 }' >got
}

# expect_runs SWEEP/RUN...: ./got lists exactly these, in this order.
expect_runs() {
    printf '%s\n' "$@" >expect &&
    test_cmp expect got
}

json_len() {
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# ---- status ----

test_expect_success 'status shows both sweeps with per-stage counts' '
    setup_two &&
    run_rc 0 mainline --registry reg.db status &&
    must_be_empty err &&
    sed "/waits for/,\$d" out >tables &&
    cat >expect <<\EOF &&
sweep lora-attn-vs-all (version 1)
  STAGE      RUNS  waiting  planned  running  done  failed  cancelled
  lr_select     6        0        6        0     0       0          0
  main          6        6        0        0     0       0          0

sweep rank-lr-grid (version 1)
  STAGE  RUNS  waiting  planned  running  done  failed  cancelled
  main     12        0       12        0     0       0          0

EOF
    test_cmp expect tables &&
    check_eq "waiting lines" 1 "$(grep -c "waits for" out)" &&
    grep "^  lora-attn-vs-all/main waits for lr from stage lr_select\\( \\|\$\\)" out
'

test_expect_success 'status SWEEP: main waits for lr from lr_select' '
    setup_two &&
    run_rc 0 mainline --registry reg.db status lora-attn-vs-all &&
    cat >expect <<\EOF &&
sweep lora-attn-vs-all (version 1)
  STAGE      RUNS  waiting  planned  running  done  failed  cancelled
  lr_select     6        0        6        0     0       0          0
  main          6        6        0        0     0       0          0

EOF
    sed "/waits for/,\$d" out >tables &&
    test_cmp expect tables &&
    check_eq "waiting lines" 1 "$(grep -c "waits for" out)" &&
    grep "^  lora-attn-vs-all/main waits for lr from stage lr_select\\( \\|\$\\)" out &&
    run_rc 0 mainline --registry reg.db status rank-lr-grid &&
    ! grep "rank-lr-grid.*waits\\|lora" out &&
    grep "^  main     12        0       12        0     0       0          0\$" out &&
    run_rc 1 mainline --registry reg.db status nosuch &&
    echo "error: no sweep named '\''nosuch'\'' in reg.db" >expect &&
    test_cmp expect err
'

test_body 'status --json: every sweep, stage counts, waiting runs; SWEEP before or after' <<\EOF
    setup_two
    run_rc 0 mainline --registry reg.db status --json
    must_be_empty err
    python3 -c '
import json
d = json.load(open("out"))
assert d["registry"] == "reg.db", d["registry"]
names = [s["sweep"] for s in d["sweeps"]]
assert names == ["lora-attn-vs-all", "rank-lr-grid"], names
lav = d["sweeps"][0]
assert lav["version"] == 1
st = {s["stage"]: s for s in lav["stages"]}
assert st["lr_select"]["runs"] == 6 and st["lr_select"]["planned"] == 6, st
assert st["main"]["waiting"] == 6 and st["main"]["done"] == 0, st
assert len(lav["waiting"]) == 6, lav["waiting"]
assert all(w["pending"] == {"lr": "lr_select"} and w["stage"] == "main" for w in lav["waiting"])
assert lav["failed"] == [] and lav["evaluations"] is None, lav
assert d["sweeps"][1]["waiting"] == []
'
    run_rc 0 mainline --registry reg.db status rank-lr-grid --json
    cp out one.json
    run_rc 0 mainline --registry reg.db status --json rank-lr-grid
    test_cmp one.json out
    python3 -c '
import json
d = json.load(open("out"))
assert [s["sweep"] for s in d["sweeps"]] == ["rank-lr-grid"], d
assert d["sweeps"][0]["stages"] == [{"stage": "main", "runs": 12, "waiting": 0, "planned": 12,
    "running": 0, "done": 0, "failed": 0, "cancelled": 0}], d
'
    run_rc 1 mainline --registry reg.db status nosuch --json
    must_be_empty out
    run_rc 129 mainline --registry reg.db status --jsn
EOF

test_body 'status --json and show of failed runs: their reasons and stderr' <<\EOF
    write_fake_sweep f
    sed -i 's/x_steps: 4}/x_steps: 4, x_fail_at: 2}/' s.yaml
    mainline plan s.yaml >/dev/null
    mainline run f >run.out 2>&1 || :
    run_rc 0 mainline status f --json
    python3 -c '
import json
d = json.load(open("out"))
f = d["sweeps"][0]["failed"]
assert len(f) == 3 and f[0]["run"] == "main-seed-0" and f[0]["attempt"] >= 1, f
assert "exit status 1" in f[0]["reason"], f[0]["reason"]
'
    # show: why, and the tail of its stderr
    run_rc 0 mainline show main-seed-1
    grep -q "^why        exit status 1: fake_trainer: failing at step 2 as asked (runs/f/main-seed-1/stderr.log)\$" out
    grep -q "^stderr     the last line of $PWD/runs/f/main-seed-1/stderr.log:\$" out
    grep -q "^  fake_trainer: failing at step 2 as asked\$" out
    run_rc 0 mainline show main-seed-1 --json
    python3 -c '
import json
d = json.load(open("out"))
assert d["stderr_tail"] == ["fake_trainer: failing at step 2 as asked"], d["stderr_tail"]
assert d["fail_reason"].startswith("exit status 1: "), d["fail_reason"]
'
EOF

test_body 'plan --dry-run --json: runs, stages, artifacts and the audit; nothing written' <<\EOF
    cp "$TOP/sweeps/lora-attn-vs-all.yaml" .
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" .
    run_rc 0 mainline --registry reg.db plan --dry-run --json lora-attn-vs-all.yaml
    test ! -e reg.db
    python3 -c '
import json
d = json.load(open("out"))
assert d["sweep"] == "lora-attn-vs-all" and d["dry_run"] is True, d["sweep"]
assert len(d["runs"]) == 12, len(d["runs"])
r = d["runs"][0]
assert r["run"] == "lr_select-attention_only-lr-1e-4-seed-7" and r["stage"] == "lr_select", r
assert r["params"]["lr"] == 0.0001 and r["pending"] == {}, r
m = [x for x in d["runs"] if x["stage"] == "main"][0]
assert m["pending"] == {"lr": "lr_select"} and "lr" not in m["params"], m
assert d["stages"] == [
    {"stage": "lr_select", "runs": 6, "state": "planned", "waits_for": {}},
    {"stage": "main", "runs": 6, "state": "waiting", "waits_for": {"lr": "lr_select"}}], d["stages"]
roles = sorted((a["role"], a["name"]) for a in d["artifacts"])
assert ("base_model", "tiny-base") in roles and ("dataset", "train") in roles, roles
assert all(len(a["sha256"]) == 64 for a in d["artifacts"])
assert d["audit_passed"] is True and len(d["contract_sha256"]) == 64
'
    run_rc 129 mainline --registry reg.db plan --json lora-attn-vs-all.yaml
    grep -q "^error: plan: --json goes with --dry-run" err
    test ! -e reg.db
EOF

# ---- runs --where ----

test_expect_success 'runs --where "condition=all_layer seed=0" returns exactly that run' '
    setup_two &&
    where "condition=all_layer seed=0" &&
    expect_runs lora-attn-vs-all/main-all_layer-seed-0 &&
    where condition=all_layer seed=0 &&
    expect_runs lora-attn-vs-all/main-all_layer-seed-0 &&
    where "condition=all_layer" &&
    expect_runs lora-attn-vs-all/lr_select-all_layer-lr-1e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-3e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-1e-3-seed-7 \
        lora-attn-vs-all/main-all_layer-seed-0 \
        lora-attn-vs-all/main-all_layer-seed-1 \
        lora-attn-vs-all/main-all_layer-seed-2
'

test_expect_success 'runs --where with != (a missing value counts as different)' '
    setup_two &&
    run_rc 0 mainline --registry reg.db runs --sweep lora-attn-vs-all --where "stage!=lr_select" &&
    tail -n +2 out | awk "{ print \$1 \"/\" \$2 }" >got &&
    expect_runs lora-attn-vs-all/main-attention_only-seed-0 \
        lora-attn-vs-all/main-attention_only-seed-1 \
        lora-attn-vs-all/main-attention_only-seed-2 \
        lora-attn-vs-all/main-all_layer-seed-0 \
        lora-attn-vs-all/main-all_layer-seed-1 \
        lora-attn-vs-all/main-all_layer-seed-2 &&
    where "condition!=all_layer seed=1" &&
    expect_runs lora-attn-vs-all/main-attention_only-seed-1 \
        rank-lr-grid/main-rank-4-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-4-lr-3e-4-seed-1 \
        rank-lr-grid/main-rank-8-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-8-lr-3e-4-seed-1 \
        rank-lr-grid/main-rank-16-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-16-lr-3e-4-seed-1 &&
    where "lr!=3e-4 condition=attention_only" &&
    expect_runs lora-attn-vs-all/lr_select-attention_only-lr-1e-4-seed-7 \
        lora-attn-vs-all/lr_select-attention_only-lr-1e-3-seed-7 \
        lora-attn-vs-all/main-attention_only-seed-0 \
        lora-attn-vs-all/main-attention_only-seed-1 \
        lora-attn-vs-all/main-attention_only-seed-2
'

test_expect_success 'runs --where with < <= > >= (a missing value never matches)' '
    setup_two &&
    where "lr<3e-4" &&
    expect_runs lora-attn-vs-all/lr_select-attention_only-lr-1e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-1e-4-seed-7 \
        rank-lr-grid/main-rank-4-lr-1e-4-seed-0 \
        rank-lr-grid/main-rank-4-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-8-lr-1e-4-seed-0 \
        rank-lr-grid/main-rank-8-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-16-lr-1e-4-seed-0 \
        rank-lr-grid/main-rank-16-lr-1e-4-seed-1 &&
    where "lr<=3e-4" "stage=lr_select" &&
    expect_runs lora-attn-vs-all/lr_select-attention_only-lr-1e-4-seed-7 \
        lora-attn-vs-all/lr_select-attention_only-lr-3e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-1e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-3e-4-seed-7 &&
    where "seed>1" &&
    expect_runs lora-attn-vs-all/lr_select-attention_only-lr-1e-4-seed-7 \
        lora-attn-vs-all/lr_select-attention_only-lr-3e-4-seed-7 \
        lora-attn-vs-all/lr_select-attention_only-lr-1e-3-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-1e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-3e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-1e-3-seed-7 \
        lora-attn-vs-all/main-attention_only-seed-2 \
        lora-attn-vs-all/main-all_layer-seed-2 &&
    where "lr>=3e-4 seed<=0" &&
    expect_runs rank-lr-grid/main-rank-4-lr-3e-4-seed-0 \
        rank-lr-grid/main-rank-8-lr-3e-4-seed-0 \
        rank-lr-grid/main-rank-16-lr-3e-4-seed-0 &&
    where "lr>1e-3" &&
    must_be_empty got &&
    where "lr=0.0003 stage=lr_select" &&
    expect_runs lora-attn-vs-all/lr_select-attention_only-lr-3e-4-seed-7 \
        lora-attn-vs-all/lr_select-all_layer-lr-3e-4-seed-7
'

test_expect_success 'runs --where on a params key (rank=8, rank>=8)' '
    setup_two &&
    run_rc 0 mainline --registry reg.db runs --sweep rank-lr-grid --where rank=8 &&
    tail -n +2 out | awk "{ print \$1 \"/\" \$2 }" >got &&
    expect_runs rank-lr-grid/main-rank-8-lr-1e-4-seed-0 \
        rank-lr-grid/main-rank-8-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-8-lr-3e-4-seed-0 \
        rank-lr-grid/main-rank-8-lr-3e-4-seed-1 &&
    where rank=8 &&
    check_eq "rank=8 over both sweeps" 16 "$(wc -l <got | tr -d " ")" &&
    check_eq "lora-attn-vs-all runs (rank 8 by default)" 12 "$(grep -c "^lora-attn-vs-all/" got)" &&
    where "rank>=8 seed=0 lr=1e-4" &&
    expect_runs rank-lr-grid/main-rank-8-lr-1e-4-seed-0 \
        rank-lr-grid/main-rank-16-lr-1e-4-seed-0 &&
    where "rank=4 condition=all_layer" &&
    must_be_empty got &&
    where "no_such_param=1" &&
    must_be_empty got
'

test_expect_success 'runs --where on the columns sweep, state, run, attempt' '
    setup_two &&
    where "state=waiting" "sweep=lora-attn-vs-all" &&
    check_eq "waiting runs" 6 "$(grep -c "^lora-attn-vs-all/main-" got)" &&
    check_eq "listed" 6 "$(wc -l <got | tr -d " ")" &&
    where "run=main-rank-16-lr-3e-4-seed-1" &&
    expect_runs rank-lr-grid/main-rank-16-lr-3e-4-seed-1 &&
    where "attempt>0" &&
    must_be_empty got &&
    where "attempt=0" &&
    check_eq "never started" 24 "$(wc -l <got | tr -d " ")" &&
    run_rc 0 mainline --registry reg.db runs --sweep rank-lr-grid --where "state=planned" --where "seed=1" --where "lr=1e-4" &&
    tail -n +2 out | awk "{ print \$1 \"/\" \$2 }" >got &&
    expect_runs rank-lr-grid/main-rank-4-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-8-lr-1e-4-seed-1 \
        rank-lr-grid/main-rank-16-lr-1e-4-seed-1
'

test_expect_success 'runs: a column per swept parameter; OTHER when the sweeps differ' '
    setup_two &&
    run_rc 0 mainline --registry reg.db runs --sweep rank-lr-grid --where rank=8 &&
    cat >expect <<\EOF &&
SWEEP         RUN                         STAGE  LR    RANK  SEED  STATE    VAL_NLL  ACCURACY
rank-lr-grid  main-rank-8-lr-1e-4-seed-0  main   1e-4  8     0     planned        -         -
rank-lr-grid  main-rank-8-lr-1e-4-seed-1  main   1e-4  8     1     planned        -         -
rank-lr-grid  main-rank-8-lr-3e-4-seed-0  main   3e-4  8     0     planned        -         -
rank-lr-grid  main-rank-8-lr-3e-4-seed-1  main   3e-4  8     1     planned        -         -
EOF
    test_cmp expect out &&
    run_rc 0 mainline --registry reg.db runs --sweep lora-attn-vs-all &&
    check_eq "lora-attn-vs-all columns" "SWEEP RUN STAGE CONDITION EPOCHS LR TARGETS TRAIN_ROWS VALID_ROWS SEED STATE VAL_NLL ACCURACY" \
        "$(head -n 1 out | tr -s " ")" &&
    grep -x "lora-attn-vs-all  main-all_layer-seed-2 *main *all_layer *2 *from lr_select *q_proj+k_proj+v_proj+o_proj+gate_proj+up_proj+down_proj *- *- *2 *waiting *- *-" out &&
    run_rc 0 mainline --registry reg.db runs &&
    check_eq "both sweeps: the common columns, then OTHER" "SWEEP RUN STAGE LR SEED OTHER STATE VAL_NLL ACCURACY" \
        "$(head -n 1 out | tr -s " ")" &&
    grep -x "rank-lr-grid *main-rank-16-lr-3e-4-seed-1 *main *3e-4 *1 *rank=16 *planned *- *-" out &&
    grep -x "lora-attn-vs-all *main-all_layer-seed-0 *main *from lr_select *0 *condition=all_layer epochs=2 targets=q_proj+k_proj+v_proj+o_proj+gate_proj+up_proj+down_proj train_rows=- valid_rows=- *waiting *- *-" out
'

test_expect_success 'the view run_params: one row per run and parameter, swept marked' '
    setup_two &&
    check_eq "rank 16 runs" "4|16" \
        "$(sqlite3 reg.db "SELECT count(*), max(value) FROM run_params WHERE name = '\''rank'\'' AND value = 16")" &&
    check_eq "rows of one run: one per key of its params" \
        "$(sqlite3 reg.db "SELECT count(*) FROM json_each((SELECT params FROM runs WHERE run_id = '\''main-all_layer-seed-0'\''))")" \
        "$(sqlite3 reg.db "SELECT count(*) FROM run_params WHERE run = '\''main-all_layer-seed-0'\''")" &&
    check_eq "swept in lora-attn-vs-all" "condition epochs lr seed targets train_rows valid_rows" \
        "$(sqlite3 reg.db "SELECT group_concat(name, '\'' '\'') FROM (SELECT DISTINCT name FROM run_params WHERE sweep = '\''lora-attn-vs-all'\'' AND swept ORDER BY name)")" &&
    check_eq "swept in rank-lr-grid" "lr rank seed" \
        "$(sqlite3 reg.db "SELECT group_concat(name, '\'' '\'') FROM (SELECT DISTINCT name FROM run_params WHERE sweep = '\''rank-lr-grid'\'' AND swept ORDER BY name)")" &&
    check_eq "a row" "rank-lr-grid|1|main-rank-4-lr-3e-4-seed-1|main|lr|0.0003|1" \
        "$(sqlite3 reg.db "SELECT sweep, version, run, stage, name, value, swept FROM run_params WHERE run = '\''main-rank-4-lr-3e-4-seed-1'\'' AND name = '\''lr'\''")"
'

test_expect_success 'runs --json parses and has the right runs' '
    setup_two &&
    run_rc 0 mainline --registry reg.db runs --json &&
    check_eq "all runs" 24 "$(json_len <out)" &&
    run_rc 0 mainline --registry reg.db runs --json --where "condition=all_layer" &&
    check_eq "all_layer runs" 6 "$(json_len <out)" &&
    python3 -c "
import json, sys
runs = json.load(open(\"out\"))
assert all(r[\"condition\"] == \"all_layer\" and r[\"sweep\"] == \"lora-attn-vs-all\" for r in runs), runs
main = [r for r in runs if r[\"stage\"] == \"main\"]
assert [r[\"run\"] for r in main] == [\"main-all_layer-seed-%d\" % i for i in range(3)], main
assert all(r[\"lr\"] is None and r[\"pending\"] == {\"lr\": \"lr_select\"} and r[\"state\"] == \"waiting\" for r in main), main
sel = [r for r in runs if r[\"stage\"] == \"lr_select\"]
assert [r[\"lr\"] for r in sel] == [1e-4, 3e-4, 1e-3], sel
assert all(r[\"seed\"] == 7 and r[\"params\"][\"rank\"] == 8 and r[\"params\"][\"epochs\"] == 1 for r in sel), sel
" &&
    run_rc 0 mainline --registry reg.db runs --json --sweep rank-lr-grid --where "rank=16" &&
    check_eq "rank 16 runs" 4 "$(json_len <out)" &&
    run_rc 0 mainline --registry reg.db runs --json --where "seed=99" &&
    check_eq "no match is an empty array" "[]" "$(tr -d " \\n" <out)"
'

test_expect_success 'runs --where with an SQL-injection value matches nothing, runs table intact' '
    setup_two &&
    run_rc 0 mainline --registry reg.db runs --where "$INJECT" &&
    must_be_empty out &&
    echo "no runs match" >expect &&
    test_cmp expect err &&
    run_rc 0 mainline --registry reg.db runs --json --where "$INJECT" &&
    check_eq "json" "[]" "$(tr -d " \\n" <out)" &&
    run_rc 0 mainline --registry reg.db runs --where "run=x\"))/**/OR/**/1=1;--" &&
    must_be_empty out &&
    run_rc 129 mainline --registry reg.db runs --where "$INJECT_SPACED" &&
    must_be_empty out &&
    check_eq "runs" 24 "$(sqlite3 reg.db "SELECT count(*) FROM runs")" &&
    check_eq "tables" "runs" "$(sqlite3 reg.db "SELECT name FROM sqlite_master WHERE type = '\''table'\'' AND name = '\''runs'\''")" &&
    run_rc 0 mainline --registry reg.db runs --where condition=all_layer &&
    check_eq "still listed" 6 "$(tail -n +2 out | wc -l | tr -d " ")"
'

test_expect_success 'runs --where with a bad key or a term without operator: 129' '
    setup_two &&
    run_rc 129 mainline --registry reg.db runs --where "a;b=1" &&
    must_be_empty out &&
    echo "error: invalid filter key '\''a;b'\'': not a column nor a parameter name" >expect &&
    test_cmp expect err &&
    run_rc 129 mainline --registry reg.db runs --where "rank'\''=8" &&
    must_be_empty out &&
    run_rc 129 mainline --registry reg.db runs --where "seed" &&
    echo "error: --where: '\''seed'\'' is not KEY=VALUE (or != < <= > >=)" >expect &&
    test_cmp expect err &&
    run_rc 129 mainline --registry reg.db runs --where "=1" &&
    must_be_empty out &&
    check_eq "runs" 24 "$(sqlite3 reg.db "SELECT count(*) FROM runs")"
'

# ---- show ----

test_expect_success 'show RUN: params, what it waits for, dataset digests, code' '
    setup_two &&
    run_rc 0 mainline --registry reg.db show main-all_layer-seed-0 &&
    must_be_empty err &&
    check_eq "first line" "run        lora-attn-vs-all/main-all_layer-seed-0 (version 1)" "$(head -n 1 out)" &&
    grep "^stage      main\$" out &&
    grep "^condition  all_layer\$" out &&
    grep "^state      waiting (attempt 0)\$" out &&
    check_eq "waiting" "waiting    lr from stage lr_select" "$(grep "^waiting " out)" &&
    grep "^  \"rank\": 8,\$" out &&
    grep "^  \"seed\": 0,\$" out &&
    grep "^  \"epochs\": 2,\$" out &&
    grep "^  \"condition\": \"all_layer\",\$" out &&
    ! grep "^  \"lr\":" out &&
    here=$(pwd -P) &&
    cat >expect <<EOF &&
uses       dataset $here/data/arith-train.jsonl sha256:$(sha data/arith-train.jsonl)
           dataset $here/data/arith-valid.jsonl sha256:$(sha data/arith-valid.jsonl)
           dataset $here/data/arith-test.jsonl sha256:$(sha data/arith-test.jsonl)
           base_model $here/models/tiny-base/model.safetensors sha256:$(sha models/tiny-base/model.safetensors)
EOF
    sed -n "/^uses /,/^code /p" out | sed "\$d" >got &&
    test_cmp expect got &&
    grep "^code       not a git repository" out &&
    grep "^contract   sha256:[0-9a-f]\\{64\\}\$" out
'

test_expect_success 'show --json: params, pending and four artifacts' '
    setup_two &&
    run_rc 0 mainline --registry reg.db show --json main-all_layer-seed-0 &&
    python3 -c "
import json
r = json.load(open(\"out\"))
assert r[\"sweep\"] == \"lora-attn-vs-all\" and r[\"run\"] == \"main-all_layer-seed-0\", r
assert r[\"params\"][\"rank\"] == 8 and r[\"params\"][\"seed\"] == 0, r
assert r[\"pending\"] == {\"lr\": \"lr_select\"}, r
assert [(a[\"role\"], a[\"name\"]) for a in r[\"artifacts\"]] == [(\"dataset\", \"train\"), (\"dataset\", \"valid\"), (\"dataset\", \"bench\"), (\"base_model\", \"tiny-base\")], r
assert r[\"git\"][\"status\"] == \"not a git repository\", r
"
'

test_expect_success 'show: an id in two sweeps is ambiguous; SWEEP/RUN resolves it' '
    setup_two &&
    plan_copy &&
    run_rc 1 mainline --registry reg.db show main-all_layer-seed-0 &&
    must_be_empty out &&
    cat >expect <<\EOF &&
error: run id '\''main-all_layer-seed-0'\'' is in several sweeps; say which:
  lora-attn-vs-all/main-all_layer-seed-0 (version 1)
  lora-copy/main-all_layer-seed-0 (version 1)
EOF
    sed "/^\$/d" err >got &&
    test_cmp expect got &&
    run_rc 0 mainline --registry reg.db show lora-copy/main-all_layer-seed-0 &&
    check_eq "first line" "run        lora-copy/main-all_layer-seed-0 (version 1)" "$(head -n 1 out)" &&
    run_rc 0 mainline --registry reg.db show lora-attn-vs-all/main-all_layer-seed-0 &&
    check_eq "first line" "run        lora-attn-vs-all/main-all_layer-seed-0 (version 1)" "$(head -n 1 out)" &&
    run_rc 0 mainline --registry reg.db show main-rank-8-lr-1e-4-seed-0 &&
    check_eq "unique id" "run        rank-lr-grid/main-rank-8-lr-1e-4-seed-0 (version 1)" "$(head -n 1 out)"
'

test_expect_success 'show: unknown runs exit 1' '
    setup_two &&
    run_rc 1 mainline --registry reg.db show nosuch &&
    echo "error: no run '\''nosuch'\''" >expect &&
    test_cmp expect err &&
    run_rc 1 mainline --registry reg.db show rank-lr-grid/main-all_layer-seed-0 &&
    echo "error: no run '\''main-all_layer-seed-0'\'' in sweep rank-lr-grid" >expect &&
    test_cmp expect err
'

# ---- finding the registry ----

test_expect_success 'MAINLINE_REGISTRY names the registry; --registry wins over it' '
    setup_two &&
    mainline --registry reg.db status rank-lr-grid >expect &&
    mkdir elsewhere &&
    (cd elsewhere && run_rc 0 env MAINLINE_REGISTRY=../reg.db "$MAINLINE" status rank-lr-grid) &&
    test_cmp expect elsewhere/out &&
    (cd elsewhere && run_rc 0 env MAINLINE_REGISTRY=/nonexistent/x.db "$MAINLINE" --registry ../reg.db status rank-lr-grid) &&
    test_cmp expect elsewhere/out &&
    (cd elsewhere && run_rc 0 env MAINLINE_REGISTRY=../reg.db "$MAINLINE" runs --where rank=16 --sweep rank-lr-grid) &&
    check_eq "runs through the env" 4 "$(tail -n +2 elsewhere/out | wc -l | tr -d " ")" &&
    (cd elsewhere && run_rc 128 env MAINLINE_REGISTRY=../missing.db "$MAINLINE" status) &&
    grep "^error: no registry at '\''../missing.db'\''" elsewhere/err
'

test_expect_success '-C DIR runs as if started in DIR' '
    mkdir proj &&
    cp "$TOP/sweeps/lora-attn-vs-all.yaml" proj/ &&
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" proj/ &&
    run_rc 0 mainline -C proj plan lora-attn-vs-all.yaml &&
    grep "^recorded sweep '\''lora-attn-vs-all'\'' version 1: 12 runs in mainline.db\$" out &&
    test -f proj/mainline.db &&
    test ! -e mainline.db &&
    run_rc 0 mainline -C proj status lora-attn-vs-all &&
    grep "^  main          6        6        0        0     0       0          0\$" out &&
    run_rc 0 mainline -C proj show main-all_layer-seed-0 &&
    grep "^run        lora-attn-vs-all/main-all_layer-seed-0 (version 1)\$" out &&
    mv proj/mainline.db proj/other.db &&
    run_rc 0 mainline -C proj --registry other.db runs --where seed=1 &&
    check_eq "runs via -C and a relative --registry" 2 "$(tail -n +2 out | wc -l | tr -d " ")" &&
    run_rc 128 mainline -C proj status &&
    test ! -e mainline.db
'

# ---- the documented SQL views and settings ----

test_expect_success 'v_stage_summary and v_runs answer the documented queries' '
    setup_two &&
    check_eq "v_stage_summary" "lr_select|6|0|6
main|6|6|0" "$(sqlite3 reg.db "select stage, runs, waiting, planned from v_stage_summary where sweep='\''lora-attn-vs-all'\''")" &&
    check_eq "v_runs" 24 "$(sqlite3 reg.db "select count(*) from v_runs")" &&
    check_eq "v_latest_sweeps" "lora-attn-vs-all|1|12
rank-lr-grid|1|12" "$(sqlite3 reg.db "select name, version, n_runs from v_latest_sweeps order by name")" &&
    sqlite3 reg.db "
      SELECT v.sweep, v.version, v.run_id, p.key AS param, p.value AS waits_on
      FROM v_runs v JOIN v_latest_sweeps l ON l.id = v.sweep_id, json_each(v.pending) p
      WHERE v.state = '\''waiting'\''
      ORDER BY v.sweep, v.ord" >got &&
    cat >expect <<\EOF &&
lora-attn-vs-all|1|main-attention_only-seed-0|lr|lr_select
lora-attn-vs-all|1|main-attention_only-seed-1|lr|lr_select
lora-attn-vs-all|1|main-attention_only-seed-2|lr|lr_select
lora-attn-vs-all|1|main-all_layer-seed-0|lr|lr_select
lora-attn-vs-all|1|main-all_layer-seed-1|lr|lr_select
lora-attn-vs-all|1|main-all_layer-seed-2|lr|lr_select
EOF
    test_cmp expect got &&
    check_eq "rank 8 by json_extract, as runs --where rank=8" 16 \
        "$(sqlite3 reg.db "SELECT count(*) FROM v_runs WHERE json_extract(params, '\''\$.rank'\'') = 8")" &&
    sqlite3 reg.db "
      SELECT a.name, a.rows, a.sha256 FROM runs r
      JOIN sweeps s ON s.id = r.sweep_id
      JOIN run_artifacts ra ON ra.run = r.id
      JOIN artifacts a ON a.id = ra.artifact
      WHERE s.name = '\''lora-attn-vs-all'\'' AND r.run_id = '\''main-attention_only-seed-0'\''
        AND a.role = '\''dataset'\''
      ORDER BY a.id" >got &&
    cat >expect <<EOF &&
train|240|$(sha data/arith-train.jsonl)
valid|48|$(sha data/arith-valid.jsonl)
bench|48|$(sha data/arith-test.jsonl)
EOF
    test_cmp expect got
'

test_expect_success 'WAL mode, schema version, application id, foreign keys' '
    setup_two &&
    check_eq "journal_mode" wal "$(sqlite3 reg.db "pragma journal_mode")" &&
    schema=$(sed -n "s/^#define REG_SCHEMA_VERSION \([0-9]*\)$/\1/p" "$TOP/registry/registry.h") &&
    check_eq "user_version" "$schema" "$(sqlite3 reg.db "pragma user_version")" &&
    check_eq "application_id" 1296846385 "$(sqlite3 reg.db "pragma application_id")" &&
    check_eq "runs -> sweeps" "sweeps|sweep_id|id|CASCADE" \
        "$(sqlite3 reg.db "SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('\''runs'\'')")" &&
    check_eq "dangling links" 0 "$(sqlite3 reg.db "pragma foreign_key_check" | wc -l | tr -d " ")" &&
    if sqlite3 reg.db "PRAGMA foreign_keys = ON; INSERT INTO runs (sweep_id, run_id, ord, stage, params) VALUES (999, '\''x'\'', 99, '\''s'\'', '\''{}'\'')" 2>fkerr; then
        echo "a run of a missing sweep was accepted"; false
    else
        grep "FOREIGN KEY constraint failed" fkerr
    fi &&
    sqlite3 reg.db "PRAGMA foreign_keys = ON; DELETE FROM sweeps WHERE name = '\''rank-lr-grid'\''" &&
    check_eq "after deleting a sweep: runs, artifacts, links" "12|4|48" \
        "$(sqlite3 reg.db "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM artifacts), (SELECT count(*) FROM run_artifacts)")" &&
    check_eq "events kept, detached" "2|1" \
        "$(sqlite3 reg.db "SELECT count(*), sum(sweep_id IS NULL) FROM events WHERE kind = '\''plan'\''")"
'

test_done
