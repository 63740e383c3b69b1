#!/bin/sh
# t9002-slurm-accounting.sh - scripts/slurm-local.sh start --accounting: slurmdbd and a
# MariaDB of the cluster's own (in STATE_DIR/mysql), sacct reports each array task's exit code,
# and stop leaves no daemon of the directory. Accounting is optional: `make test` does not
# install slurmdbd and mariadb-server, and where they are missing this says so in a skip: line.
. "$(dirname "$0")/lib.sh"

CLUSTER=$SCRATCH/slurm
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if [ "$(id -u)" -ne 0 ]; then
    skip "t9002 Slurm accounting" "not root (slurm-local.sh runs the daemons as root)"
    test_done
    exit
fi
if ! installed slurmdbd || ! installed mariadb-server || ! installed slurmctld; then
    skip "t9002 Slurm accounting" "slurmdbd, mariadb-server or slurmctld not installed" \
        "(scripts/slurm-local.sh start --accounting installs them)"
    test_done
    exit
fi
# MariaDB runs as user mysql: it must get through the scratch directory to its own
chmod 711 "$SCRATCH"
mkdir -p "$CLUSTER"
trap 'slurm_local stop "$CLUSTER" >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM
slurm_local start --accounting "$CLUSTER" >"$SCRATCH/start.out" 2>"$SCRATCH/start.err"
start_rc=$?
eval "$(cat "$SCRATCH/start.out")"

test_body 'start --accounting: slurmdbd and MariaDB of its own, slurmdbd.conf mode 600' <<\EOF
check_eq "start's exit status" 0 "$start_rc" || { cat "$SCRATCH/start.err"; exit 1; }
check_eq 'slurmdbd.conf' '600 root' "$(stat -c '%a %U' "$CLUSTER/slurmdbd.conf")"
check_eq 'mysql/' mysql "$(stat -c %U "$CLUSTER/mysql")"
grep -qx 'AccountingStorageType=accounting_storage/slurmdbd' "$CLUSTER/slurm.conf"
run_rc 0 slurm_local status "$CLUSTER"
grep -q '^slurmdbd: running' out
grep -q '^mariadbd: running' out
check_eq 'cluster' local "$(sacctmgr -n -P list cluster format=cluster)"
EOF

test_body 'a start without --accounting of a cluster that has it is refused' <<\EOF
run_rc 1 slurm_local start "$CLUSTER"
grep -q "a cluster with accounting runs from $CLUSTER: stop it first" err
EOF

test_body 'sacct reports every task of an array with its exit code' <<\EOF
a=$(sbatch --parsable --array=0-3 -o /dev/null --wrap 'exit $SLURM_ARRAY_TASK_ID')
wait_until 20 slurm_inactive "$a"
# sacct lags squeue by seconds
all_in() {
    sacct -n -X -P -j "$a" -o JobID,State,ExitCode >acct &&
        [ "$(wc -l <acct)" -eq 4 ]
}
wait_until 20 all_in
sort acct >got
printf '%s\n' "${a}_0|COMPLETED|0:0" "${a}_1|FAILED|1:0" "${a}_2|FAILED|2:0" \
    "${a}_3|FAILED|3:0" >expect
test_cmp expect got
EOF

test_body 'stop leaves no daemon of the directory, MariaDB included' <<\EOF
pids="$(cat "$CLUSTER"/run/*.pid "$CLUSTER/mysql/mariadbd.pid")"
run_rc 0 slurm_local stop "$CLUSTER"
grep -q 'stopped slurmdbd' err
grep -q 'stopped mariadbd' err
for p in $pids; do proc_gone "$p"; done
if pgrep -af "$CLUSTER"; then echo "left running"; exit 1; fi
EOF

test_done
