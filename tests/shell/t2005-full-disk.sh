#!/bin/sh
# t2005: a full disk gives a clear error, leaves the registry consistent, and a
# later `mainline run` (after space is freed) finishes the sweep. Needs to mount a
# small tmpfs (root); skips with a message where that is not allowed.
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"
DISK="$SCRATCH/disk"
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=1m tmpfs "$DISK" 2>/dev/null; then
    skip "t2005" "cannot mount a small tmpfs here (needs root)"
    echo "0 passed, 0 failed"
    exit 0
fi
trap 'umount "$DISK" 2>/dev/null' EXIT

# A three-run sweep for the fake trainer in the current directory.
write_sweep() {
    cp -R "$TOP/sweeps/data" . && mkdir -p models &&
    head -c 4096 "$TOP/sweeps/models/tiny-base/model.safetensors" >models/base.bin &&
    cat >s.yaml <<EOF_YAML
sweep: full
base_model: models/base.bin
datasets: {train: data/arith-train.jsonl}
trainer: {command: [$FAKES/fake_trainer], resume: true}
defaults: {lr: 1.0e-4, x_steps: 4}
grid: {seed: [0, 1, 2]}
EOF_YAML
}

# Fill the disk at $1 but for a few KiB.
fill() {
    free=$(df -k --output=avail "$1" | tail -1)
    dd if=/dev/zero of="$1/filler" bs=1k count=$((free - 4)) 2>/dev/null || true
}

test_expect_success 'run directories on a full disk: runs fail clearly, then finish' '
    write_sweep &&
    mkdir -p "$DISK/runs" && ln -s "$DISK/runs" runs &&
    mainline plan s.yaml >/dev/null &&
    fill "$DISK" &&
    expect_exit 1 mainline run full -q >out 2>err &&
    cat err &&
    grep "No space left on device" err &&
    test "$(sqlite3 mainline.db "PRAGMA integrity_check")" = ok &&
    test "$(sqlite3 mainline.db "SELECT count(*) FROM runs WHERE state = '"'"'failed'"'"'
                                 AND fail_reason LIKE '"'"'%No space left%'"'"'")" -ge 1 &&
    test -z "$(find "$DISK/runs" -name "*.tmp-*")" &&
    rm -f "$DISK/filler" &&
    mainline run full -q --retry-failed >out2 &&
    grep "^full: 3 done, 0 failed" out2
'

cd "$TOP" && umount "$DISK"
test_done
