#!/bin/sh
# slurm-local.sh - a one-node Slurm cluster on this machine, for trying mainline's Slurm
# executor and for its tests (Debian 12: Slurm 22.05, munge; as root; no systemd, no cgroups).
#
#   sh scripts/slurm-local.sh start [--accounting] STATE_DIR   # prints: export SLURM_CONF=...
#   sh scripts/slurm-local.sh status STATE_DIR
#   sh scripts/slurm-local.sh stop STATE_DIR
#
# Everything the cluster keeps lives in STATE_DIR: slurm.conf (and slurmdbd.conf), state/,
# spool/, run/*.pid, log/*.log, log/jobcomp.txt, and with --accounting mysql/ (MariaDB's data,
# owned by the mysql user). Only munged is machine-wide (/run/munge). Every wait is bounded,
# every daemon is stopped by the pid in its pid file. docs/slurm.md, "A cluster on this machine
# for trying and testing", says more. Exit status: 0 ok, 1 something failed (the message names
# it and its log), 2 usage, 3 Slurm cannot be had here (not root, packages cannot be installed).
#
# Ports: the first free ones from 6817 up, unless set with SLURM_LOCAL_CTLD_PORT,
# SLURM_LOCAL_SLURMD_PORT, SLURM_LOCAL_DBD_PORT, SLURM_LOCAL_MYSQL_PORT.
prog=slurm-local.sh

say() { echo "$prog: $*" >&2; }
# fail MESSAGE: say it and exit 1; during a start, first stop what that start started.
fail() {
    say "$*"
    [ -z "${started:-}" ] || undo_start
    exit 1
}
unavailable() { say "$*"; exit 3; }
usage() {
    echo "usage: $prog start [--accounting] STATE_DIR | stop STATE_DIR | status STATE_DIR" >&2
    exit 2
}

# ---- processes ----

# alive PID [COMM]: PID is a live process (not a zombie), named COMM when given. kill -0 is
# not enough: exited daemons linger as zombies of PID 1 here.
alive() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
    a_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    case $a_state in ''|Z|X|x) return 1 ;; esac
    [ -z "${2:-}" ] || [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# running NAME: the pid in run/NAME.pid when that process lives and is NAME.
running() {
    r_pid=$(cat "$S/run/$1.pid" 2>/dev/null) || return 1
    alive "$r_pid" "$1" && echo "$r_pid"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 when time is up.
wait_for() {
    w_tries=$(($1 * 10))
    shift
    until "$@"; do
        w_tries=$((w_tries - 1))
        [ "$w_tries" -gt 0 ] || return 1
        sleep 0.1
    done
}

dead() { ! alive "$1"; }

# stop_pid NAME PID: SIGTERM, up to 10 s, then SIGKILL and up to 5 s more.
stop_pid() {
    kill -TERM "$2" 2>/dev/null
    wait_for 10 dead "$2" && { say "stopped $1 (pid $2)"; return 0; }
    say "$1 (pid $2) still alive 10 s after SIGTERM: SIGKILL"
    kill -KILL "$2" 2>/dev/null
    wait_for 5 dead "$2" && return 0
    say "$1 (pid $2) survived SIGKILL"
    return 1
}

# stop_daemon NAME: stop the process in run/NAME.pid if it runs.
stop_daemon() {
    if sd_pid=$(running "$1"); then
        stop_pid "$1" "$sd_pid" || return 1
    fi
    rm -f "$S/run/$1.pid"
}

# since LOG SIZE: what LOG gained after it was SIZE bytes long (for error messages).
log_size() { if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi; }
since() { tail -c +"$(($2 + 1))" "$1" 2>/dev/null; }

# ---- packages ----

apt_log() { echo "$S/log/apt.log"; }
apt_install() {
    timeout 400 apt-get -o DPkg::Lock::Timeout=120 install -y --no-install-recommends "$@" \
        </dev/null >>"$(apt_log)" 2>&1
}

# install PACKAGE...: apt-get install the ones missing; on failure apt-get update and one retry.
install() {
    i_missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            i_missing="$i_missing $p"
    done
    [ -z "$i_missing" ] && return 0
    command -v apt-get >/dev/null || unavailable "no apt-get to install$i_missing"
    say "installing$i_missing (log: $(apt_log))"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # a list of package names
    apt_install $i_missing && return 0
    timeout 300 apt-get -o DPkg::Lock::Timeout=120 update </dev/null >>"$(apt_log)" 2>&1
    # shellcheck disable=SC2086
    apt_install $i_missing && return 0
    tail -n 5 "$(apt_log)" >&2
    unavailable "apt-get install$i_missing failed twice, once after apt-get update (log: $(apt_log))"
}

# ---- munge ----

munge_works() { timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; }

# A munged started by this script has its pid in /run/munge/slurm-local.pid; one that was
# running before is never stopped. The stop that leaves no slurm daemon on the machine stops
# a munged started here.
MUNGE_MARK=/run/munge/slurm-local.pid
start_munge() {
    munge_works && return 0
    [ -r /etc/munge/munge.key ] ||
        runuser -u munge -- mungekey --create >>"$S/log/munged.log" 2>&1 ||
        fail "cannot create /etc/munge/munge.key with mungekey (log: $S/log/munged.log)"
    mkdir -p /run/munge && chown munge:munge /run/munge
    m_old=$(cat /run/munge/munged.pid 2>/dev/null)
    if alive "$m_old" munged; then
        wait_for 5 munge_works && return 0
        fail "munged (pid $m_old) runs but 'munge -n | unmunge' fails: see /var/log/munge/munged.log"
    fi
    # a munged that died uncleanly leaves its socket and lock; --force starts over them
    runuser -u munge -- /usr/sbin/munged --force </dev/null >>"$S/log/munged.log" 2>&1 9>&- ||
        fail "munged did not start (log: $S/log/munged.log, /var/log/munge/munged.log)"
    wait_for 5 munge_works ||
        fail "munged started but 'munge -n | unmunge' fails (log: /var/log/munge/munged.log)"
    cat /run/munge/munged.pid >"$MUNGE_MARK"
    started="$started munged"
    say "started munged (pid $(cat "$MUNGE_MARK"))"
}

# other_slurm_daemons: pids of live slurm daemons that are not this cluster's.
other_slurm_daemons() {
    for o_pid in $(pgrep -x slurmctld; pgrep -x slurmd; pgrep -x slurmdbd; pgrep -x slurmstepd); do
        alive "$o_pid" || continue
        case " $(cat "$S"/run/slurm*.pid 2>/dev/null | tr '\n' ' ') " in
            *" $o_pid "*) continue ;;
        esac
        echo "$o_pid"
    done
}

stop_munge() {
    [ -n "${locked:-}" ] || machine_lock
    m_pid=$(cat /run/munge/munged.pid 2>/dev/null)
    alive "$m_pid" munged || return 0
    if [ "$(cat "$MUNGE_MARK" 2>/dev/null)" != "$m_pid" ]; then
        say "leaving munged (pid $m_pid) running: it was running before slurm-local.sh"
        return 0
    fi
    m_others=$(other_slurm_daemons)
    if [ -n "$m_others" ]; then
        say "leaving munged (pid $m_pid) running: other slurm daemons use it (pids" \
            "$(echo "$m_others" | tr '\n' ' '| sed 's/ $//'))"
        return 0
    fi
    stop_pid munged "$m_pid" && rm -f "$MUNGE_MARK"
}

# machine_lock: hold /run/slurm-local.lock (fd 9) until this process exits. Starts hold it
# from munged on, so that concurrent starts neither both start munged nor take the same ports,
# and a stop takes it before it decides to stop munged. Daemons are started with 9>&-.
LOCK=/run/slurm-local.lock
machine_lock() {
    locked=1
    exec 9>>"$LOCK" || fail "cannot open $LOCK"
    flock -w 60 9 || fail "another slurm-local.sh has held $LOCK for 60 s"
}

# ---- configuration ----

port_free() {
    case " $taken " in *" $1 "*) return 1 ;; esac
    ! ss -Htan 2>/dev/null | awk '$1 != "TIME-WAIT" {print $4}' | grep -q ":$1\$"
}

# pick_port VAR VALUE: set VAR to VALUE when that is set (the caller's), else to the first
# free port from 6817 (+ $port_skip) up that is not in $taken.
pick_port() {
    p_port=$2
    if [ -z "$p_port" ]; then
        p_port=$((6817 + ${port_skip:-0}))
        while ! port_free "$p_port"; do
            p_port=$((p_port + 1))
            [ "$p_port" -lt 7817 ] || fail "no free port between 6817 and 7816"
        done
    fi
    taken="$taken $p_port"
    eval "$1=\$p_port"
}

conf_value() { sed -n "s/^$1=//p" "$2" 2>/dev/null | head -n 1; }

write_conf() {
    # the ports of a running slurmdbd or MariaDB stay (set before this is called)
    taken="${dbd_port:-} ${mysql_port:-}"
    ctld_port=""
    slurmd_port=""
    pick_port ctld_port "${SLURM_LOCAL_CTLD_PORT:-}"
    pick_port slurmd_port "${SLURM_LOCAL_SLURMD_PORT:-}"
    hw=$(slurmd -C 2>>"$S/log/slurmd.log" | head -n 1)
    node=$(echo "$hw" | sed -n 's/^NodeName=\([^ ]*\) .*/\1/p')
    [ -n "$node" ] || fail "'slurmd -C' printed no NodeName (log: $S/log/slurmd.log)"
    topo=""
    for k in CPUs Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do
        v=$(echo "$hw" | tr ' ' '\n' | sed -n "s/^$k=//p")
        [ -n "$v" ] && topo="$topo $k=$v"
    done
    phys=$(echo "$hw" | tr ' ' '\n' | sed -n 's/^RealMemory=//p')
    mem=$((${phys:-2048} / 2))
    [ "$mem" -le 8192 ] || mem=8192
    if [ -n "$accounting" ]; then
        [ -n "${dbd_port:-}" ] || pick_port dbd_port "${SLURM_LOCAL_DBD_PORT:-}"
        [ -n "${mysql_port:-}" ] || pick_port mysql_port "${SLURM_LOCAL_MYSQL_PORT:-}"
        acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbd_port
JobAcctGatherType=jobacct_gather/linux"
    else
        acct="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
    fi
    cat >"$S/slurm.conf.new" <<EOF
# Written by scripts/slurm-local.sh for a one-node cluster on this machine.
ClusterName=local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups: plain /proc process tracking, no task containment
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
$acct
# finished jobs: one line each in JobCompLoc, forever; visible to squeue -t all and
# scontrol show job for MinJobAge seconds
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
MinJobAge=600
# scancel: SIGTERM, then SIGKILL after KillWait seconds
KillWait=5
MaxArraySize=1001
SchedulerType=sched/backfill
# start queued batch jobs at once (the default batch_sched_delay=3 waits 3 s a wave)
SchedulerParameters=batch_sched_delay=0,sched_interval=1,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1$topo RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$S/slurm.conf.new" "$S/slurm.conf"
}

# ---- accounting: MariaDB and slurmdbd ----

my() { timeout 10 mariadb --no-defaults --socket="$S/mysql/mysqld.sock" -uroot "$@"; }
mysql_up() { my -e 'select 1' >/dev/null 2>&1; }

start_mariadb() {
    mysql_pid=$(cat "$S/mysql/mariadbd.pid" 2>/dev/null)
    alive "$mysql_pid" mariadbd && return 0
    mkdir -p "$S/mysql" && chown mysql:mysql "$S/mysql" && chmod 700 "$S/mysql"
    # mariadbd runs as mysql: every directory above its own must let it through
    if ! runuser -u mysql -- test -w "$S/mysql"; then
        d=$S
        while [ "$d" != / ] && runuser -u mysql -- test -x "$d"; do d=$(dirname "$d"); done
        fail "user mysql cannot reach $S/mysql (MariaDB runs as mysql): $d needs search" \
            "permission for others (chmod o+x $d), or use another STATE_DIR"
    fi
    mlog=$S/mysql/mariadbd.log
    if [ ! -d "$S/mysql/data/mysql" ]; then
        timeout 120 runuser -u mysql -- mariadb-install-db --no-defaults \
            --datadir="$S/mysql/data" --auth-root-authentication-method=socket \
            --skip-test-db </dev/null >>"$mlog" 2>&1 ||
            fail "mariadb-install-db failed (log: $mlog)"
    fi
    rm -f "$S/mysql/mariadbd.pid"
    started="$started mariadbd"
    setsid mariadbd --no-defaults --user=mysql --datadir="$S/mysql/data" \
        --socket="$S/mysql/mysqld.sock" --pid-file="$S/mysql/mariadbd.pid" \
        --log-error="$mlog" --bind-address=127.0.0.1 --port="$mysql_port" \
        --skip-name-resolve </dev/null >>"$mlog" 2>&1 9>&- &
    wait_for 30 mysql_up || fail "MariaDB did not answer within 30 s (log: $mlog)"
    # slurmdbd has no socket option: it reaches MariaDB over TCP on 127.0.0.1 as user slurm
    my -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
           ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
           GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" >>"$mlog" 2>&1 ||
        fail "cannot create MariaDB user slurm (log: $mlog)"
}

write_dbd_conf() {
    pass=$(conf_value StoragePass "$S/slurmdbd.conf")
    [ -n "$pass" ] || pass=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
    [ -n "$mysql_port" ] || pick_port mysql_port "${SLURM_LOCAL_MYSQL_PORT:-}"
    (umask 077 && cat >"$S/slurmdbd.conf.new" <<EOF
# Written by scripts/slurm-local.sh. slurmdbd reads it from the directory of SLURM_CONF.
AuthType=auth/munge
DbdHost=localhost
DbdPort=$dbd_port
SlurmUser=root
PidFile=$S/run/slurmdbd.pid
LogFile=$S/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$mysql_port
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db
EOF
    ) && chmod 600 "$S/slurmdbd.conf.new" && mv "$S/slurmdbd.conf.new" "$S/slurmdbd.conf"
}

dbd_listening() { ss -Htln 2>/dev/null | awk '{print $4}' | grep -q ":$dbd_port\$"; }

start_slurmdbd() {
    running slurmdbd >/dev/null && return 0
    rm -f "$S/run/slurmdbd.pid"
    started="$started slurmdbd"
    SLURM_CONF=$S/slurm.conf slurmdbd </dev/null >>"$S/log/slurmdbd.log" 2>&1 9>&- ||
        fail "slurmdbd did not start (log: $S/log/slurmdbd.log)"
    wait_for 20 dbd_listening ||
        fail "slurmdbd does not listen on port $dbd_port after 20 s (log: $S/log/slurmdbd.log)"
    if ! sacctmgr_n list cluster format=cluster | grep -qx local; then
        sacctmgr_n -i add cluster local >>"$S/log/slurmdbd.log" 2>&1 ||
            fail "sacctmgr add cluster local failed (log: $S/log/slurmdbd.log)"
    fi
}
sacctmgr_n() { SLURM_CONF=$S/slurm.conf timeout 20 sacctmgr -n -P "$@"; }

# ---- slurmctld and slurmd ----

# start_slurm NAME ARGS...: start a self-daemonizing slurm daemon unless it runs; 0 once its
# pid file names a live process, 1 (the reason in $why) when not.
start_slurm() {
    ss_name=$1
    shift
    running "$ss_name" >/dev/null && return 0
    rm -f "$S/run/$ss_name.pid"
    ss_log=$S/log/$ss_name.log
    ss_from=$(log_size "$ss_log")
    started="$started $ss_name"
    "$ss_name" "$@" </dev/null >>"$ss_log" 2>&1 9>&-
    if wait_for 10 running "$ss_name" >/dev/null; then
        sleep 0.3    # a busy port kills it within about 0.2 s of its pid file
        running "$ss_name" >/dev/null && return 0
    fi
    # the fatal line, else the last errors but those every first start logs (state files, PMIx)
    why=$(since "$ss_log" "$ss_from" | grep 'fatal' | tail -n 2)
    [ -n "$why" ] || why=$(since "$ss_log" "$ss_from" | grep 'error' |
        grep -vE 'state file|state save file|pmix|MPI' | tail -n 2)
    return 1
}

node_idle() {
    ni=$(SLURM_CONF=$S/slurm.conf timeout 5 sinfo -h -N -o %T 2>/dev/null)
    case $ni in idle*) return 0 ;; esac
    return 1
}

# start_cluster: slurmctld and slurmd from $S/slurm.conf (already written), the node idle,
# one warm-up job. A port taken meanwhile (another cluster starting) means new ports, twice.
start_cluster() {
    tries=0
    while :; do
        tries=$((tries + 1))
        if start_slurm slurmctld -f "$S/slurm.conf" &&
            start_slurm slurmd -f "$S/slurm.conf" -N "$(conf_value NodeName "$S/slurm.conf" |
                cut -d' ' -f1)"; then
            break
        fi
        case $why in
            *"Address already in use"*)
                if [ "$tries" -lt 3 ] && [ -z "${SLURM_LOCAL_CTLD_PORT:-}" ] &&
                    [ -z "${SLURM_LOCAL_SLURMD_PORT:-}" ]; then
                    say "a port was taken meanwhile; trying others"
                    stop_daemon slurmctld
                    stop_daemon slurmd
                    port_skip=$((tries * 7))
                    write_conf
                    continue
                fi ;;
        esac
        fail "$ss_name did not start${why:+: $why} (log: $S/log/$ss_name.log)"
    done
    wait_for 15 node_idle ||
        fail "node not idle in sinfo after 15 s: $(SLURM_CONF=$S/slurm.conf timeout 5 sinfo \
-h -N -o '%N %T %E' 2>&1) (logs: $S/log/slurmctld.log, $S/log/slurmd.log)"
    # the main scheduler first acts about 3 s after slurmctld starts: wait for it here, once
    # (polling: sbatch --wait polls every 2 s and more, so it took 9 s)
    warm=$(SLURM_CONF=$S/slurm.conf timeout 20 sbatch --parsable -J slurm-local-warmup \
        -o /dev/null -e /dev/null --wrap=true 2>>"$S/log/warmup.log") ||
        fail "warm-up job: sbatch failed (logs: $S/log/warmup.log, $S/log/slurmctld.log)"
    wait_for 30 warm_done ||
        fail "warm-up job $warm not done after 30 s (log: $S/log/slurmctld.log)"
}

# warm_done: the warm-up job $warm completed; exits when it ended otherwise.
warm_done() {
    wd=$(SLURM_CONF=$S/slurm.conf timeout 5 scontrol show job -o "$warm" 2>&1 |
        sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case $wd in
        COMPLETED) return 0 ;;
        ''|PENDING|CONFIGURING|RUNNING|COMPLETING) return 1 ;;
    esac
    fail "warm-up job $warm ended $wd (logs: $S/log/slurmctld.log, $S/log/slurmd.log)"
}

# undo_start: stop, newest first, the daemons this start started (a failed start leaves none).
undo_start() {
    u_list=$started
    started=""
    say "stopping what this start started:$u_list"
    for u in $(echo "$u_list" | tr ' ' '\n' | sed '1!G;h;$!d'); do
        case $u in
            munged) stop_munge ;;
            mariadbd)
                u_pid=$(cat "$S/mysql/mariadbd.pid" 2>/dev/null)
                if alive "$u_pid" mariadbd; then stop_pid mariadbd "$u_pid"; fi ;;
            *) stop_daemon "$u" ;;
        esac
    done
}

slurm_up() { running slurmctld >/dev/null || running slurmd >/dev/null; }

cmd_start() {
    started=""
    [ "$(id -u)" -eq 0 ] || unavailable "must run as root (SlurmUser=root, munged, apt-get)"
    mkdir -p "$S/state" "$S/spool" "$S/run" "$S/log" || fail "cannot make directories in $S"
    S=$(cd "$S" && pwd) || fail "cannot enter $S"
    if slurm_up; then
        was=$(conf_value AccountingStorageType "$S/slurm.conf")
        case $was/$accounting in
            */slurmdbd/) fail "a cluster with accounting runs from $S: stop it first" ;;
            */none/1) fail "a cluster without accounting runs from $S: stop it first" ;;
        esac
    fi
    pkgs="slurmctld slurmd slurm-client munge"
    [ -n "$accounting" ] && pkgs="$pkgs slurmdbd mariadb-server"
    # shellcheck disable=SC2086
    install $pkgs
    machine_lock
    start_munge
    # a daemon that runs keeps its port; slurm.conf is written anew only when neither
    # slurmctld nor slurmd runs
    dbd_port=""
    mysql_port=""
    if [ -n "$accounting" ]; then
        if running slurmdbd >/dev/null || slurm_up; then
            dbd_port=$(conf_value DbdPort "$S/slurmdbd.conf")
        fi
        if alive "$(cat "$S/mysql/mariadbd.pid" 2>/dev/null)" mariadbd; then
            mysql_port=$(conf_value StoragePort "$S/slurmdbd.conf")
        fi
    fi
    slurm_up || write_conf
    if [ -n "$accounting" ]; then
        write_dbd_conf
        start_mariadb
        start_slurmdbd
    fi
    if running slurmctld >/dev/null && running slurmd >/dev/null && node_idle; then
        say "already running from $S"
    else
        start_cluster
    fi
    echo "export SLURM_CONF=$S/slurm.conf"
}

# ---- stop ----

cancel_jobs() {
    sc() { SLURM_CONF=$S/slurm.conf timeout 10 "$@"; }
    ids=$(sc squeue -h -o %F 2>/dev/null | sort -u)
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086 # job ids
    sc scancel $ids 2>>"$S/log/slurmctld.log"
    no_jobs() { [ -z "$(sc squeue -h -o %i 2>/dev/null)" ]; }
    # KillWait=5: a job that ignores SIGTERM is killed after 5 s
    wait_for 15 no_jobs || say "jobs still in squeue 15 s after scancel: $(sc squeue -h 2>&1)"
}

cmd_stop() {
    [ -d "$S" ] || fail "no such directory $S"
    S=$(cd "$S" && pwd) || fail "cannot enter $S"
    rc=0
    running slurmctld >/dev/null && cancel_jobs
    for d in slurmd slurmctld slurmdbd; do
        stop_daemon "$d" || rc=1
    done
    mysql_pid=$(cat "$S/mysql/mariadbd.pid" 2>/dev/null)
    if alive "$mysql_pid" mariadbd; then
        stop_pid mariadbd "$mysql_pid" || rc=1
    fi
    stop_munge || rc=1
    [ "$rc" -eq 0 ] || fail "some daemons of $S did not stop (see above)"
}

# ---- status ----

cmd_status() {
    [ -d "$S" ] || fail "no such directory $S"
    S=$(cd "$S" && pwd) || fail "cannot enter $S"
    up=0
    for d in slurmctld slurmd slurmdbd; do
        if st_pid=$(running "$d"); then
            echo "$d: running, pid $st_pid, log $S/log/$d.log"
            [ "$d" = slurmdbd ] || up=$((up + 1))
        elif [ "$d" != slurmdbd ] || [ -f "$S/slurmdbd.conf" ]; then
            echo "$d: not running"
        fi
    done
    if [ -f "$S/slurmdbd.conf" ]; then
        st_pid=$(cat "$S/mysql/mariadbd.pid" 2>/dev/null)
        if alive "$st_pid" mariadbd; then
            echo "mariadbd: running, pid $st_pid, log $S/mysql/mariadbd.log"
        else
            echo "mariadbd: not running"
        fi
    fi
    st_pid=$(cat /run/munge/munged.pid 2>/dev/null)
    if alive "$st_pid" munged; then
        if [ "$(cat "$MUNGE_MARK" 2>/dev/null)" = "$st_pid" ]; then
            echo "munged: running, pid $st_pid (started by slurm-local.sh)"
        else
            echo "munged: running, pid $st_pid (not started by slurm-local.sh: never stopped)"
        fi
    else
        echo "munged: not running"
    fi
    [ "$up" -eq 2 ] || return 1
    echo "ports: slurmctld $(conf_value SlurmctldPort "$S/slurm.conf")," \
        "slurmd $(conf_value SlurmdPort "$S/slurm.conf")"
    SLURM_CONF=$S/slurm.conf timeout 5 sinfo -h -N -o 'node: %N %T, %c CPUs, %m MB' 2>&1
    echo "export SLURM_CONF=$S/slurm.conf"
}

# ---- main ----

[ $# -ge 1 ] || usage
cmd=$1
shift
accounting=""
if [ "$cmd" = start ] && [ "${1:-}" = --accounting ]; then
    accounting=1
    shift
fi
[ $# -eq 1 ] && [ -n "$1" ] || usage
S=$1
case $cmd in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) usage ;;
esac
