#!/bin/sh
# t2023: Python trainers through protocol/python/mainline_log.py. The module alone, in a
# fake run directory (standard library only): one complete JSON object per line, NaN as
# null, a checkpoint outside the run directory refused, the last checkpoint found for
# resume (not a torn last line), save_atomic, SIGUSR1 noted and exit 5 with the stopped
# event. Then the example sweep sweeps/torch-char.yaml, a real PyTorch trainer: run to
# the end (val_nll rows, checkpoints, select), and one run killed midway and resumed
# from its checkpoint. The torch parts are skipped when no python3 has torch.
. "$(dirname "$0")/lib.sh"

MODULE_DIR="$TOP/protocol/python"

test_body 'mainline_log: lines, NaN, checkpoints, resume, save_atomic, SIGUSR1 and exit 5' <<\EOF
    mkdir -p run/checkpoints
    echo '{"sweep": "s", "params": {"lr": 0.01, "seed": 3}}' >run/config.json
    export MAINLINE_RUN_DIR=$PWD/run MAINLINE_CONFIG=$PWD/run/config.json
    export MAINLINE_METRICS=$PWD/run/metrics.jsonl MAINLINE_RESUME=0 MAINLINE_ATTEMPT=1
    export PYTHONPATH="$MODULE_DIR"
    python3 - <<\PY
import json, os, signal
from mainline_log import run
assert run.params == {"lr": 0.01, "seed": 3} and run.config["sweep"] == "s"
assert run.dir == os.environ["MAINLINE_RUN_DIR"] and not run.resume
assert run.last_checkpoint() is None and run.resume_step() == 0
run.start(total_steps=4)
run.train(1, loss=float("nan"), lr=0.01, tok_per_s=float("inf"))
run.val(2, nll=1.5, acc=0.25)
run.save_atomic("checkpoints/step-2.bin", lambda f: f.write(b"x" * 10))
assert sorted(os.listdir("run/checkpoints")) == ["step-2.bin"]  # no temporary left
run.checkpoint(2, "checkpoints/step-2.bin")
run.checkpoint(2, os.path.join(run.dir, "checkpoints/step-2.bin"))  # absolute inside: ok
for bad in ("../outside.bin", "/etc/passwd", "checkpoints/../../x"):
    try:
        run.checkpoint(3, bad)
        raise SystemExit("accepted " + bad)
    except ValueError as e:
        assert "outside the run directory" in str(e), e
run.event("note", message="multi\nline")
run.handle_time_limit()
assert not run.stop_requested
os.kill(os.getpid(), signal.SIGUSR1)
assert run.stop_requested
run.done(steps=4)
PY
    cat run/metrics.jsonl
    python3 - <<\PY
import json
raw = open("run/metrics.jsonl", "rb").read()
assert raw.endswith(b"\n")
evs = [json.loads(l) for l in raw.decode().split("\n")[:-1]]
assert all(isinstance(e, dict) for e in evs)
assert [e["event"] for e in evs] == ["start", "train", "val", "checkpoint", "checkpoint",
                                     "note", "done"], evs
assert evs[0] == {"event": "start", "total_steps": 4, "resumed_from": 0}
assert evs[1] == {"event": "train", "step": 1, "loss": None, "lr": 0.01, "tok_per_s": None}
assert evs[3] == {"event": "checkpoint", "step": 2, "path": "checkpoints/step-2.bin",
                  "bytes": 10}
assert evs[4]["path"] == "checkpoints/step-2.bin"
PY
    # resume: the newest checkpoint whose file is there; a torn last line is skipped
    : >run/checkpoints/step-7.bin
    printf '%s\n%s' '{"event":"checkpoint","step":7,"path":"checkpoints/step-7.bin"}' \
        '{"event":"checkpoint","step":9,"path":"checkpoints/st' >>run/metrics.jsonl
    MAINLINE_RESUME=1 python3 - <<\PY
from mainline_log import run
ck = run.last_checkpoint()
assert ck.step == 7 and ck.path == run.dir + "/checkpoints/step-7.bin", ck
assert run.resume and run.resume_step() == 7
run.event("after")
PY
    # the torn line stays one malformed line: ours starts on a line of its own
    tail -n 2 run/metrics.jsonl >tail.out
    test "$(sed -n 2p tail.out)" = '{"event":"after"}'
    # stop_for_time_limit: the stopped event, exit 5
    run_rc 5 python3 -c 'from mainline_log import run; run.stop_for_time_limit(12)'
    test "$(tail -n 1 run/metrics.jsonl)" = '{"event":"stopped","reason":"time_limit","step":12}'
EOF

# A python3 that imports torch: the one in PATH, else Debian's (python3-torch).
find_torch_python

# torch_example: the example sweep, its trainer, the module and the data laid out here as
# in the repository, with the python3 that has torch; PYTHONPATH finds train and mainline_log.
torch_example() {
    mkdir -p sweeps protocol
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/torch-char" sweeps/
    cp -R "$MODULE_DIR" protocol/
    sed "s|command: \[python3,|command: [$TORCH_PY,|" "$TOP/sweeps/torch-char.yaml" \
        >sweeps/torch-char.yaml
    PYTHONPATH=$PWD/sweeps/torch-char:$PWD/protocol/python
    export PYTHONPATH
}

if [ -z "$TORCH_PY" ]; then
    skip 'the PyTorch example sweep (t2023)' \
        'no python3 here imports torch (Debian: apt-get install python3-torch)'
else

test_body 'the PyTorch example sweep: every run done, val_nll, checkpoints, select' <<\EOF
    torch_example
    mainline plan sweeps/torch-char.yaml >plan.out
    grep -q 'code file: torch-char/train.py' plan.out
    start=$(date +%s)
    mainline run torch-char -j 2 >run.out 2>&1 || { cat run.out; false; }
    echo "example sweep: $(($(date +%s) - start)) s"
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done'")" -eq 4
    # val_nll at steps 0, 20, 40, 60 for each run, falling below the untrained model's
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'val_nll'")" -eq 16
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq 24
    sql "SELECT count(*) FROM metrics m WHERE name = 'val_nll' AND step = 60 AND value >=
         (SELECT value FROM metrics WHERE name = 'val_nll' AND step = 0 AND run = m.run)" >worse
    test "$(cat worse)" -eq 0
    test "$(sql "SELECT count(*) FROM checkpoints")" -eq 12
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'malformed_line'")" -eq 0
    for f in runs/torch-char/*/checkpoints/step-60.pt; do test -s "$f"; done
    mainline select torch-char >select.out 2>&1 || { cat select.out; false; }
    cat select.out
    # min(val_nll) picks each run's last checkpoint, step 60
    test "$(grep -c '^| main-lr-[^|]* | - | [01] | 60 | ' select.out)" -eq 4
EOF

test_body 'the PyTorch trainer killed midway resumes from its checkpoint' <<\EOF
    torch_example
    sed -e 's/^sweep: torch-char/sweep: torch-kill/' \
        -e 's/^defaults:.*/defaults: {batch_size: 16, x_steps: 60, x_every: 10, x_delay: 0.05}/' \
        -e 's/^  lr: .*/  lr: [1.0e-2]/' -e 's/^  seed: .*/  seed: [0]/' \
        sweeps/torch-char.yaml >sweeps/torch-kill.yaml
    mainline plan sweeps/torch-kill.yaml >plan.out
    dir=runs/torch-kill/main-lr-0.01-seed-0
    mainline run torch-kill >run1.out 2>&1 &
    pid=$!
    trap kill_leftovers EXIT
    wait_until 60 grep -qs '"step":20,"path"' $dir/metrics.jsonl
    # the trainer's pid: job.lock holds it (PID START); it is python, not the supervisor
    job=$(cut -d' ' -f1 $dir/job.lock)
    tr '\0' ' ' </proc/$job/cmdline | grep -q -- '-m train'
    kill -9 "$job"
    wait $pid || :
    pid=
    grep -q '"event":"start"' $dir/metrics.jsonl
    refute grep -q '"event":"done"' $dir/metrics.jsonl
    mainline run torch-kill >run2.out 2>&1 || mainline run torch-kill --retry-failed >run2.out 2>&1 ||
        { cat run1.out run2.out; false; }
    cat run1.out run2.out
    test "$(sql "SELECT state FROM runs")" = done
    grep '"event":"start"' $dir/metrics.jsonl >starts
    cat starts
    test "$(wc -l <starts)" -eq 2
    resumed=$(sed -n 2p starts | sed 's/.*"resumed_from":\([0-9]*\).*/\1/')
    test "$resumed" -ge 20
    grep -q "resumed from $(pwd -P)/$dir/checkpoints/step-$resumed.pt" $dir/stdout.log
    tail -n 1 $dir/metrics.jsonl | grep -q '"event":"done"'
    # the resumed attempt went on from the checkpoint's step, not from 0
    test "$(sql "SELECT min(step) FROM metrics WHERE name = 'loss' AND attempt = 2")" -gt "$resumed"
    test "$(sql "SELECT max(step) FROM checkpoints")" -eq 60
EOF

fi
test_done
