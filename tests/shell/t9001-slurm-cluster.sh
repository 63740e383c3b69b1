#!/bin/sh
# t9001-slurm-cluster.sh - scripts/slurm-local.sh: a one-node Slurm cluster in this test's
# scratch directory starts (idempotently), runs a held job, an array and cancelled jobs the way
# the Slurm executor will see them, keeps its job ids across a restart of slurmctld, and stops
# leaving no daemon or job process of its directory behind. Needs root and the Slurm packages
# (installed by `make test`, else by the script): where they cannot be had it says so in a
# skip: line.
. "$(dirname "$0")/lib.sh"

CLUSTER=$SCRATCH/slurm

# job_field ID FIELD: FIELD of job ID in `scontrol show job -o` (its first line).
job_field() {
    scontrol show job -o "$1" 2>/dev/null | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

if [ "$(id -u)" -ne 0 ]; then
    skip "t9001 Slurm cluster" "not root (slurm-local.sh runs the daemons as root)"
    test_done
    exit
fi
# munged running before the start must still run after the stop
if timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1 &&
    [ "$(cat /run/munge/slurm-local.pid 2>/dev/null)" != "$(cat /run/munge/munged.pid)" ]; then
    munge_before=1
fi
mkdir -p "$CLUSTER"
trap 'slurm_local stop "$CLUSTER" >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
start_ms=$(date +%s%3N)
slurm_local start "$CLUSTER" >"$SCRATCH/start.out" 2>"$SCRATCH/start.err"
start_rc=$?
if [ "$start_rc" -eq 3 ]; then
    skip "t9001 Slurm cluster" "$(tail -n 1 "$SCRATCH/start.err")"
    test_done
    exit
fi
eval "$(cat "$SCRATCH/start.out")"

test_body 'start prints the export line, the node is idle, status says what runs' <<\EOF
check_eq "start's exit status" 0 "$start_rc" || { cat "$SCRATCH/start.err"; exit 1; }
echo "export SLURM_CONF=$CLUSTER/slurm.conf" >expect
test_cmp expect "$SCRATCH/start.out"
echo "start took $(( $(date +%s%3N) - start_ms )) ms (with the first tests)"
check_eq 'sinfo' idle "$(sinfo -h -N -o %T)"
slurm_local status "$CLUSTER" >status
grep -q "^slurmctld: running, pid $(cat "$CLUSTER/run/slurmctld.pid")" status
grep -q "^slurmd: running, pid $(cat "$CLUSTER/run/slurmd.pid")" status
grep -q '^munged: running' status
grep -qx 'MailProg=/bin/true' "$CLUSTER/slurm.conf"
grep -qx "JobCompLoc=$CLUSTER/log/jobcomp.txt" "$CLUSTER/slurm.conf"
EOF

test_body 'a second start of a running cluster changes nothing' <<\EOF
ctld=$(cat "$CLUSTER/run/slurmctld.pid")
cp "$CLUSTER/slurm.conf" conf.before
run_rc 0 slurm_local start "$CLUSTER"
test_cmp "$SCRATCH/start.out" out
grep -q "already running from $CLUSTER" err
check_eq 'slurmctld pid' "$ctld" "$(cat "$CLUSTER/run/slurmctld.pid")"
test_cmp conf.before "$CLUSTER/slurm.conf"
EOF

test_body 'a held job keeps its name and comment, runs once released, and is recorded' <<\EOF
id=$(sbatch --hold --parsable --job-name t9001-held --comment 'run main-seed-0' \
    -o "$PWD/out.%j" --wrap 'echo "task $SLURM_JOB_ID"')
echo "$id" >"$SCRATCH/held.id"
check_eq 'held state' PENDING "$(job_field "$id" JobState)"
check_eq 'held reason' JobHeldUser "$(job_field "$id" Reason)"
scontrol release "$id"
wait_until 20 slurm_inactive "$id"
check_eq 'squeue -t all' "$id|t9001-held|run main-seed-0|COMPLETED" \
    "$(squeue -t all -h -j "$id" -o '%i|%j|%k|%T')"
check_eq 'exit code' 0:0 "$(job_field "$id" ExitCode)"
check_eq 'its output' "task $id" "$(cat "out.$id")"
grep "^JobId=$id .*JobState=COMPLETED" "$CLUSTER/log/jobcomp.txt"
EOF

test_body 'an array: one record a task, exit codes per task, the last index keeps the id' <<\EOF
a=$(sbatch --parsable --array=0-3 -o /dev/null --wrap 'exit $SLURM_ARRAY_TASK_ID')
wait_until 20 slurm_inactive "$a"
scontrol show job -o "$a" >records
check_eq 'records' 4 "$(wc -l <records)"
for t in 0 1 2 3; do
    line=$(grep " ArrayTaskId=$t " records)
    case $t in 0) want='JobState=COMPLETED' ;; *) want='JobState=FAILED' ;; esac
    echo "$line" | grep -q "ArrayJobId=$a .*$want .*ExitCode=$t:0"
done
grep -q "^JobId=$a .* ArrayTaskId=3 " records
check_eq 'jobcomp lines' 4 "$(grep -c " ArrayJobId=$a " "$CLUSTER/log/jobcomp.txt")"
EOF

test_body 'scancel: a running job ends CANCELLED with its processes, and a whole array' <<\EOF
id=$(sbatch --parsable -o /dev/null --wrap "sleep 600 & echo \$! >$PWD/sleep.pid; wait")
wait_until 20 test -s sleep.pid
scancel "$id"
wait_until 10 slurm_inactive "$id"
check_eq 'state' CANCELLED "$(job_field "$id" JobState)"
check_eq 'exit code' 0:15 "$(job_field "$id" ExitCode)"
wait_until 5 proc_gone "$(cat sleep.pid)"
a=$(sbatch --parsable --array=0-3 -o /dev/null --wrap 'sleep 600')
wait_until 20 sh -c "squeue -h -j $a -t R -o %i | grep -q _1"
check_eq 'pending' "${a}_[2-3]" "$(squeue -h -j "$a" -t PD -o %i)"
scancel "$a"
wait_until 10 slurm_inactive "$a"
squeue -t all -h -j "$a" -o '%i %T' >states
cat states
check_eq 'cancelled' 3 "$(grep -c ' CANCELLED$' states)"
grep -qx "${a}_\[2-3\] CANCELLED" states
EOF

test_body 'slurmctld stopped by its pid and started again keeps the jobs and their ids' <<\EOF
held=$(cat "$SCRATCH/held.id")
id=$(sbatch --hold --parsable -J t9001-restart -o /dev/null --wrap true)
ctld=$(cat "$CLUSTER/run/slurmctld.pid")
kill "$ctld"
wait_until 10 proc_gone "$ctld"
run_rc 1 slurm_local status "$CLUSTER"
grep -qx 'slurmctld: not running' out
run_rc 0 slurm_local start "$CLUSTER"
test_cmp "$SCRATCH/start.out" out
test "$(cat "$CLUSTER/run/slurmctld.pid")" != "$ctld"
check_eq 'the held job' "t9001-restart PENDING" \
    "$(job_field "$id" JobName) $(job_field "$id" JobState)"
check_eq 'the finished one' COMPLETED "$(job_field "$held" JobState)"
next=$(sbatch --parsable -o /dev/null --wrap true)
test "$next" -gt "$id"
scontrol release "$id"
wait_until 20 slurm_inactive "$id"
check_eq 'released' COMPLETED "$(job_field "$id" JobState)"
EOF

test_body 'stop cancels what runs, stops every daemon by its pid, and leaves nothing' <<\EOF
id=$(sbatch --parsable -o /dev/null \
    --wrap "trap '' TERM; sleep 600 & echo \$! >$PWD/sleep.pid; wait; wait")
sbatch --parsable --array=0-3 -o /dev/null --wrap 'sleep 600' >/dev/null
wait_until 20 test -s sleep.pid
pids=$(cat "$CLUSTER"/run/slurm*.pid)
t0=$(date +%s%3N)
run_rc 0 slurm_local stop "$CLUSTER"
echo "stop took $(( $(date +%s%3N) - t0 )) ms"
mv err stop.err
cat stop.err
for p in $pids $(cat sleep.pid); do proc_gone "$p"; done
if pgrep -af "$CLUSTER"; then echo "left running"; exit 1; fi
run_rc 1 slurm_local status "$CLUSTER"
grep -qx 'slurmctld: not running' out
grep -qx 'slurmd: not running' out
if [ -n "$munge_before" ]; then
    grep -q 'leaving munged .* it was running before' stop.err
else
    grep -qE 'stopped munged|leaving munged .* other slurm daemons use it' stop.err
fi
run_rc 0 slurm_local stop "$CLUSTER"
EOF

test_done
