#!/bin/sh
# t9004: what mainline records of each Slurm job (one node on this machine, from
# scripts/slurm-local.sh, with accounting where slurmdbd and mariadb-server are
# installed): `mainline show` lists each attempt's job with partition, nodes, state and
# elapsed time; the report's CSV, JSON and Markdown carry each run's job id and state
# (and no such column for a sweep run locally); squeue is asked once per look for all
# jobs, less often while nothing changes, and sacct only about jobs that ended; with
# accounting sacct confirms each end and MaxRSS is recorded; a run that failed twice on
# the node asks Slurm to exclude it. Skipped, with a line saying why, where Slurm cannot
# be had (not root, no packages).
. "$(dirname "$0")/lib.sh"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
ACCOUNTING=
# T9004_NO_ACCOUNTING=1: the same tests on a cluster without accounting
if [ -z "${T9004_NO_ACCOUNTING:-}" ] && installed slurmdbd && installed mariadb-server; then
    ACCOUNTING=--accounting
    chmod 711 "$SCRATCH"   # MariaDB runs as mysql: it must get through to its directory
fi
slurm_test_cluster $ACCOUNTING
export MAINLINE_SLURM_POLL=0.5
NODE=$(sinfo -h -o %N)
export NODE ACCOUNTING
[ -n "$ACCOUNTING" ] || skip "t9004 MaxRSS and sacct" \
    "no accounting (slurmdbd or mariadb-server not installed, or T9004_NO_ACCOUNTING set)"

# wrap_slurm_clients: squeue and sacct in ./wrap log each call (its -j argument) to
# ./calls.squeue and ./calls.sacct, then run the real one. Put ./wrap first in PATH.
wrap_slurm_clients() {
    mkdir wrap
    for c in squeue sacct; do
        real=$(command -v $c)
        cat >wrap/$c <<EOF_WRAP
#!/bin/sh
ids=
prev=
for a in "\$@"; do [ "\$prev" = -j ] && ids=\$a; prev=\$a; done
echo "\$(date +%s.%N) \$ids" >>$PWD/calls.$c
exec $real "\$@"
EOF_WRAP
        chmod +x wrap/$c
    done
}

test_body 'show: each attempt and evaluation with its Slurm job, partition, nodes, state' <<\EOF
    slurm_sweep s "x_steps: 6, x_sleep_ms: 300" "0"
    mainline run s >run.out 2>&1 || { cat run.out; false; }
    mainline show main-seed-0 >show.out
    cat show.out
    job=$(sql "SELECT job_id FROM runs")
    grep -q "^batch jobs" show.out
    grep -Eq "^  $job +attempt 1 +COMPLETED.* +debug +$NODE +0:0[1-9]" show.out
    grep -Eq "^  [0-9]+ +eval@6 +COMPLETED" show.out
    test "$(sql "SELECT partition || ' ' || nodes || ' ' || (elapsed_s >= 1)
                 FROM batch_jobs WHERE job_id = $job")" = "debug $NODE 1"
    mainline show --json main-seed-0 >show.json
    python3 - "$job" "$NODE" <<\EOF_PY
import json, sys
b = json.load(open("show.json"))["batch_jobs"]
assert [j["eval_step"] for j in b] == [None, 6], b
j = b[0]
assert (j["job_id"], j["attempt"], j["state"], j["partition"], j["nodes"]) == \
    (int(sys.argv[1]), 1, "COMPLETED", "debug", sys.argv[2]), j
assert j["elapsed_s"] >= 1 and j["array_index"] is None, j
EOF_PY
    # a run that never ran on Slurm lists no batch jobs
    mkdir local && cd local
    fake_sweep l "x_steps: 2" "0" && mainline plan l.yaml >/dev/null && mainline run l >/dev/null
    mainline show main-seed-0 >show.out
    refute grep -q "batch jobs" show.out
    test "$(mainline show --json main-seed-0 | python3 -c 'import json, sys
print(len(json.load(sys.stdin)["batch_jobs"]))')" -eq 0
EOF

test_body 'the report: CSV, JSON and Markdown have each run'"'"'s Slurm job and state' <<\EOF
    slurm_sweep r "x_steps: 4, x_sleep_ms: 100" "0, 1"
    mainline run r >run.out 2>&1 || { cat run.out; false; }
    mainline select r >/dev/null
    mainline report r -f csv -o r.csv
    mainline report r -f json -o r.json
    mainline report r -o r.md
    cat r.csv
    head -n 1 r.csv | grep -q ',eval_tok_per_s,slurm_job,slurm_state$'
    for run in main-seed-0 main-seed-1; do
        job=$(sql "SELECT job_id FROM runs WHERE run_id = '$run'")
        grep -q "^r,1,[0-9a-f]*,\"$run\",.*,$job,\"COMPLETED\"$" r.csv
        grep -q "| $run | .* | $job | COMPLETED |$" r.md
    done
    python3 - <<\EOF_PY
import json
runs = json.load(open("r.json"))["runs"]
assert all(isinstance(r["slurm_job"], int) and r["slurm_state"] == "COMPLETED" for r in runs), runs
EOF_PY
    # run locally: no Slurm column anywhere
    mkdir local && cd local
    fake_sweep l "x_steps: 2" "0" && mainline plan l.yaml >/dev/null && mainline run l >/dev/null
    mainline select l >/dev/null
    mainline report l -f csv -o l.csv
    mainline report l -f json -o l.json
    mainline report l -o l.md
    refute grep -qi slurm l.csv l.json l.md
EOF

test_body 'squeue once per look for all jobs, less often while none changes; sacct after ends' <<\EOF
    wrap_slurm_clients
    slurm_sweep b "x_steps: 24, x_sleep_ms: 500" "0, 1"
    export MAINLINE_SLURM_POLL=0.2
    PATH=$PWD/wrap:$PATH mainline run b >run.out 2>&1 || { cat run.out; false; }
    cat run.out
    # while both trainers ran (about 12 s), squeue was asked about both at once
    awk -v a="$(sql "SELECT job_id FROM runs WHERE run_id = 'main-seed-0'")" \
        -v b="$(sql "SELECT job_id FROM runs WHERE run_id = 'main-seed-1'")" '
        { n = split($2, ids, ","); fa = fb = 0
          for (i = 1; i <= n; i++) { fa += ids[i] == a; fb += ids[i] == b } }
        fa && fb { both++ }
        END { exit !(both >= 2) }' calls.squeue
    n=$(wc -l <calls.squeue)
    echo "squeue called $n times in $(sql "SELECT sum(elapsed_s) FROM batch_jobs") job-seconds"
    # every 0.2 s would be 60 calls in the trainers' 12 s alone
    test "$n" -le 35
    # the intervals grew while nothing changed: some gap of 2 s or more
    awk 'NR > 1 && $1 - t >= 2 { long = 1 } { t = $1 } END { exit !long }' calls.squeue
    if [ -n "$ACCOUNTING" ]; then
        cat calls.sacct
        # only about jobs that ended, each at most a few times (sacct lags by seconds)
        test "$(wc -l <calls.sacct)" -le 20
        for j in $(sql "SELECT job_id FROM batch_jobs"); do
            grep -Eq " ([0-9]+,)*$j(,[0-9]+)*\$" calls.sacct
        done
        test "$(sql "SELECT count(*) FROM batch_jobs WHERE acct_confirmed = 1")" -eq 5
    else
        test ! -e calls.sacct || test "$(wc -l <calls.sacct)" -le 1
    fi
EOF

[ -z "$ACCOUNTING" ] ||   # else said in the skip: line above
test_body 'with accounting: sacct confirms the end, and MaxRSS is recorded' <<\EOF
    # Slurm samples a job's memory every JobAcctGatherFrequency (30 s): ask for 1 s
    slurm_sweep m "x_steps: 8, x_sleep_ms: 300, x_alloc_mb: 64" "0" \
        'slurm: {extra: ["--acctg-freq=1"]}'
    mainline run m >run.out 2>&1 || { cat run.out; false; }
    job=$(sql "SELECT job_id FROM runs")
    sql "SELECT * FROM batch_jobs"
    test "$(sql "SELECT state || ' ' || acct_confirmed || ' ' || (max_rss_bytes >= 64 * 1048576)
                 || ' ' || (max_rss_bytes < 1024 * 1048576) FROM batch_jobs
                 WHERE job_id = $job")" = "COMPLETED 1 1 1"
    sacct -n -P --noconvert -j "$job" -o JobIDRaw,MaxRSS
    mainline show main-seed-0 >show.out
    cat show.out
    grep -Eq "^  $job +attempt 1 +COMPLETED \(sacct\) .* [0-9]+\.[0-9] MiB$" show.out
EOF

test_body 'a run that failed twice on the only node: its next attempt excludes the node' <<\EOF
    trap 'kill -9 $pid 2>/dev/null || :' EXIT
    slurm_sweep x "x_steps: 4, x_fail_at: 2" "0" "retries: 2"
    "$MAINLINE" run x >run.out 2>&1 &
    pid=$!
    third() { sql "SELECT job_id FROM batch_jobs WHERE attempt = 3"; }
    submitted() { test -n "$(third)"; }
    wait_until 60 submitted
    job=$(third)
    # released, and Slurm looked at it: with its one node excluded it can never start
    reason() { squeue -h -j "$job" -o '%T %r'; }
    looked_at() {
        case $(reason) in "PENDING JobHeldUser" | "PENDING None") return 1 ;; esac
    }
    wait_until 20 looked_at
    reason
    test "$(reason)" = "PENDING BadConstraints"
    scontrol show job -o "$job" | tr ' ' '\n' | grep -x "ExcNodeList=$NODE"
    # What one node can show: the argument is passed and Slurm honours it. That the
    # job would run on another node is left to a cluster that has one.
    scancel "$job"
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run.out
    test "$rc" -eq 1
    grep -q "main-seed-0 failed 2 times on $NODE: its next attempts exclude it" run.out
    grep -q "cancel main-seed-0: cancelled in Slurm" run.out
    test "$(sql "SELECT group_concat(attempt || ':' || state || ':' || coalesce(nodes, '-'), ' ')
                 FROM (SELECT * FROM batch_jobs WHERE run IS NOT NULL ORDER BY attempt)")" = \
        "1:FAILED:$NODE 2:FAILED:$NODE 3:CANCELLED:-"
    # the first two asked for no exclusion
    for j in $(sql "SELECT job_id FROM batch_jobs WHERE run IS NOT NULL AND attempt < 3"); do
        scontrol show job -o "$j" | tr ' ' '\n' | grep -x "ExcNodeList=(null)"
    done
EOF

slurm_test_done
