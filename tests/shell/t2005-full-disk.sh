#!/bin/sh
# t2005: a full disk gives a clear error, leaves the registry consistent, and a
# later `mainline run` (after space is freed) finishes the sweep. Needs to mount a
# small tmpfs (root); skips with a message where that is not allowed.
. "$(dirname "$0")/lib.sh"

DISK="$SCRATCH/disk"
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=1m tmpfs "$DISK" 2>/dev/null; then
    skip "t2005" "cannot mount a small tmpfs here (needs root)"
    echo "0 passed, 0 failed"
    exit 0
fi
trap 'umount "$DISK" 2>/dev/null' EXIT

# Fill the disk at $1 but for a few KiB.
fill() {
    free=$(df -k --output=avail "$1" | tail -1)
    dd if=/dev/zero of="$1/filler" bs=1k count=$((free - 4)) 2>/dev/null || true
}

test_expect_success 'run directories on a full disk: runs fail clearly, then finish' '
    write_fake_sweep full &&
    mkdir -p "$DISK/runs" && ln -s "$DISK/runs" runs &&
    mainline plan s.yaml >/dev/null &&
    fill "$DISK" &&
    expect_exit 1 mainline run full -q >out 2>err &&
    cat err &&
    grep "No space left on device" err &&
    db_is_sound mainline.db &&
    test "$(sqlite3 mainline.db "SELECT count(*) FROM runs WHERE state = '"'"'failed'"'"'
                                 AND fail_reason LIKE '"'"'%No space left%'"'"'")" -ge 1 &&
    test -z "$(find "$DISK/runs" -name "*.tmp-*")" &&
    rm -f "$DISK/filler" &&
    mainline run full -q --retry-failed >out2 &&
    grep "^full: 3 done, 0 failed" out2
'

cd "$TOP" && umount "$DISK"
test_done
