#!/bin/sh
# t6001: datasets and base models named by URL. A local HTTP server
# (fetch_server.py, 127.0.0.1, a free port) serves the files; the tests check that
# a pinned download lands in the cache and is recorded with its URL, that a second
# plan does not fetch again, that a broken transfer is resumed with a Range
# request (within one plan and across two), that a partial file is started over
# when the server ignores the Range request, that a 404 fails at once and a 500
# after its retries, that a wrong checksum is refused with nothing recorded or
# cached, that archive members are used and unsafe archives refused, that hf://
# URLs resolve against HF_ENDPOINT, and that jobs get the cached path. Nothing
# touches the real network or ~/.cache: MAINLINE_CACHE is a scratch directory.
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"
WWW="$SCRATCH/www"
LOG="$SCRATCH/server.log"
export MAINLINE_CACHE="$SCRATCH/cache"
export MAINLINE_FETCH_BACKOFF=0.05
unset HF_ENDPOINT HF_TOKEN

mkdir -p "$WWW/data" "$WWW/datasets/org/math/resolve/main" "$WWW/org/tiny/resolve/v1"
python3 - "$WWW" <<\EOF
import io, os, random, sys, tarfile, zipfile
www = sys.argv[1]
rows = "".join('{"problem": "%d + %d", "answer": "%d"}\n' % (i, i, 2 * i) for i in range(40))
open(os.path.join(www, "data/train.jsonl"), "w").write(rows)
# validation: other problems (the same ones would fail plan's leakage gate)
valid = "".join('{"problem": "%d + %d", "answer": "%d"}\n' % (i, i, 2 * i) for i in range(100, 105))
open(os.path.join(www, "data/valid.jsonl"), "w").write(valid)
random.seed(1)
open(os.path.join(www, "data/big.bin"), "wb").write(bytes(random.getrandbits(8) for _ in range(300000)))
open(os.path.join(www, "datasets/org/math/resolve/main/train.jsonl"), "w").write(rows)
open(os.path.join(www, "org/tiny/resolve/v1/weights.bin"), "wb").write(b"w" * 1000)
def add(tar, name, data=None, link=None, kind=None):
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = kind, link
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
with tarfile.open(os.path.join(www, "data/pack.tar.gz"), "w:gz") as t:
    add(t, "pack/train.jsonl", rows.encode())
    add(t, "pack/notes.txt", b"hello\n")
    add(t, "pack/inner-link", link="train.jsonl", kind=tarfile.SYMTYPE)
with zipfile.ZipFile(os.path.join(www, "data/pack.zip"), "w") as z:
    z.writestr("sub/valid.jsonl", valid)
with tarfile.open(os.path.join(www, "data/evil-abs.tar.gz"), "w:gz") as t:
    add(t, "ok.jsonl", b"{}\n")
    add(t, "/tmp/evil.jsonl", b"{}\n")
with tarfile.open(os.path.join(www, "data/evil-dotdot.tar.gz"), "w:gz") as t:
    add(t, "a/../../evil.jsonl", b"{}\n")
with tarfile.open(os.path.join(www, "data/evil-link.tar.gz"), "w:gz") as t:
    add(t, "up", link="../../outside", kind=tarfile.SYMTYPE)
    add(t, "ok.jsonl", b"{}\n")
EOF

python3 "$TOP/tests/shell/fetch_server.py" "$WWW" "$SCRATCH/port" "$LOG" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
i=0
while [ ! -s "$SCRATCH/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$SCRATCH/port")
URL="http://127.0.0.1:$PORT"
TRAIN_SHA=$(sha "$WWW/data/train.jsonl")
BIG_SHA=$(sha "$WWW/data/big.bin")

# requests PATH: how many requests the server saw for PATH so far.
requests() {
    grep -c "^GET $1 " "$LOG" || :
}

# sweep_with NAME DATASETS: a one-run sweep whose datasets mapping is DATASETS.
sweep_with() {
    cat >"$1.yaml" <<EOF
sweep: $1
datasets: $2
grid: {seed: [0]}
EOF
}

test_body 'a pinned URL is fetched into the cache and recorded with its URL' <<EOF
sweep_with pinned "{train: {url: $URL/data/train.jsonl, sha256: $TRAIN_SHA}}"
run_rc 0 mainline plan pinned.yaml
obj="\$MAINLINE_CACHE/objects/$TRAIN_SHA/train.jsonl"
cmp "\$obj" "$WWW/data/train.jsonl"
grep -q "dataset train: \$obj" out
grep -q "fetched now: \$(wc -c <"$WWW/data/train.jsonl") bytes" out
check_eq "registry" "\$obj|$URL/data/train.jsonl|$TRAIN_SHA|40" \
    "\$(sql "select path, source, sha256, rows from artifacts")"
check_eq "no partial left" "" "\$(ls "\$MAINLINE_CACHE/partial")"
run_rc 0 mainline show main-seed-0
grep -q "^ *from $URL/data/train.jsonl\$" out
EOF

test_body 'a second plan (and another sweep) use the cache, not the server' <<EOF
sweep_with pinned "{train: {url: $URL/data/train.jsonl, sha256: $TRAIN_SHA}}"
sweep_with unpinned "{train: $URL/data/train.jsonl}"
run_rc 0 mainline plan pinned.yaml
before=\$(requests /data/train.jsonl)
run_rc 0 mainline plan pinned.yaml
grep -q "already planned" out
run_rc 0 mainline plan unpinned.yaml
refute grep -q "fetched now" out
check_eq "requests" "\$before" "\$(requests /data/train.jsonl)"
EOF

test_body 'an unpinned URL is fetched once and its sha256 recorded' <<EOF
sweep_with unpinned "{valid: $URL/data/valid.jsonl}"
run_rc 0 mainline plan unpinned.yaml
check_eq "recorded sha" "\$(sha "$WWW/data/valid.jsonl")" "\$(sql "select sha256 from artifacts")"
grep -q '"url": "$URL/data/valid.jsonl"' "\$MAINLINE_CACHE"/urls/*.json
run_rc 0 mainline plan --dry-run unpinned.yaml
check_eq "requests" 1 "\$(requests /data/valid.jsonl)"
EOF

test_body 'a connection broken mid-file is resumed with a Range request' <<EOF
sweep_with broken "{big: {url: $URL/break/data/big.bin, sha256: $BIG_SHA}}"
run_rc 0 mainline plan broken.yaml
grep -q "retry 1 of 4" err
grep "^GET /break/data/big.bin " "$LOG" >reqs
check_eq "first request" "GET /break/data/big.bin range=- if-range=no" "\$(sed -n 1p reqs)"
check_eq "second request" "GET /break/data/big.bin range=150000 if-range=yes" "\$(sed -n 2p reqs)"
cmp "\$MAINLINE_CACHE/objects/$BIG_SHA/big.bin" "$WWW/data/big.bin"
EOF

test_body 'a download cut short is resumed by the next plan' <<EOF
sweep_with later "{big: {url: $URL/break/data/big.bin?copy=2, sha256: $BIG_SHA}}"
rm -rf "\$MAINLINE_CACHE/objects/$BIG_SHA"
MAINLINE_FETCH_RETRIES=0 run_rc 1 mainline plan later.yaml
grep -q "cannot fetch '$URL/break/data/big.bin?copy=2'" err
test -s "\$(ls -d "\$MAINLINE_CACHE"/partial/* | grep -v validator)"
refute test -e mainline.db
run_rc 0 mainline plan later.yaml
grep "^GET /break/data/big.bin?copy=2 " "$LOG" >reqs
check_eq "resumed" "GET /break/data/big.bin?copy=2 range=150000 if-range=yes" "\$(sed -n 2p reqs)"
cmp "\$MAINLINE_CACHE/objects/$BIG_SHA/big.bin" "$WWW/data/big.bin"
EOF

test_body 'a partial download from a server without Range support starts over' <<EOF
url="$URL/norange/data/big.bin"
sweep_with norange "{big: {url: \$url, sha256: $BIG_SHA}}"
key=\$(printf %s "\$url" | sha256sum | cut -d" " -f1)
mkdir -p "\$MAINLINE_CACHE/partial"
head -c 150000 "$WWW/data/big.bin" >"\$MAINLINE_CACHE/partial/\$key"
printf '%s' '"an-old-etag"' >"\$MAINLINE_CACHE/partial/\$key.validator"
run_rc 0 mainline plan norange.yaml
check_eq "one request, its range ignored" "GET /norange/data/big.bin range=150000 if-range=yes" \
    "\$(grep "^GET /norange/data/big.bin " "$LOG")"
refute grep -q "retry" err
cmp "\$MAINLINE_CACHE/objects/$BIG_SHA/big.bin" "$WWW/data/big.bin"
refute test -e "\$MAINLINE_CACHE/partial/\$key"
refute test -e "\$MAINLINE_CACHE/partial/\$key.validator"
EOF

test_body 'a 404 is a clear error, not retried' <<EOF
sweep_with missing "{train: $URL/data/nope.jsonl}"
run_rc 1 mainline plan missing.yaml
grep -q "missing.yaml:2:[0-9]*: dataset train: cannot fetch '$URL/data/nope.jsonl': HTTP 404 (not retried)" err
refute grep -q "retry 1" err
check_eq "requests" 1 "\$(requests /data/nope.jsonl)"
refute test -e mainline.db
check_eq "no empty partial left" "" "\$(ls "\$MAINLINE_CACHE/partial")"
EOF

test_body 'a 500 is retried with backoff, then fails clearly' <<EOF
sweep_with flaky "{train: $URL/status/500/train.jsonl}"
MAINLINE_FETCH_RETRIES=2 run_rc 1 mainline plan flaky.yaml
grep -q "retry 1 of 2 in 0.1 s" err
grep -q "retry 2 of 2 in 0.1 s" err
grep -q "cannot fetch '$URL/status/500/train.jsonl': HTTP 500 (gave up after 3 attempts)" err
check_eq "requests" 3 "\$(requests /status/500/train.jsonl)"
EOF

test_body 'a stalled transfer times out, is resumed, then fails clearly' <<EOF
sweep_with stalled "{big: $URL/stall/data/big.bin}"
start=\$(date +%s)
MAINLINE_FETCH_RETRIES=1 MAINLINE_FETCH_STALL_TIMEOUT=1 run_rc 1 mainline plan stalled.yaml
grep -q "cannot fetch '$URL/stall/data/big.bin': Operation too slow.*(gave up after 2 attempts)" err
check_eq "second request resumes" "GET /stall/data/big.bin range=150000 if-range=yes" \
    "\$(grep "^GET /stall/data/big.bin " "$LOG" | sed -n 2p)"
test \$((\$(date +%s) - start)) -lt 20
EOF

test_body 'a wrong checksum is refused: nothing recorded, nothing cached' <<EOF
bad=0000000000000000000000000000000000000000000000000000000000000000
sweep_with wrong "{valid: {url: $URL/data/valid.jsonl?v=wrong, sha256: \$bad}}"
run_rc 1 mainline plan wrong.yaml
grep -q "sha256 mismatch for '$URL/data/valid.jsonl?v=wrong': the sweep pins \$bad but the download has \$(sha "$WWW/data/valid.jsonl") (the download was deleted)" err
refute test -e mainline.db
refute test -e "\$MAINLINE_CACHE/objects/\$bad"
key=\$(printf %s "$URL/data/valid.jsonl?v=wrong" | sha256sum | cut -d" " -f1)
refute test -e "\$MAINLINE_CACHE/partial/\$key"
refute test -e "\$MAINLINE_CACHE/partial/\$key.validator"
# A pin naming a file the cache holds for another URL still fails for this one.
sweep_with other "{valid: {url: $URL/data/valid.jsonl?v=other, sha256: $TRAIN_SHA}}"
run_rc 1 mainline plan other.yaml
grep -q "sha256 mismatch for '$URL/data/valid.jsonl?v=other': the sweep pins $TRAIN_SHA" err
EOF

test_body 'archive members: tar.gz by #member, zip by {url, member}' <<EOF
sweep_with packed "{train: '$URL/data/pack.tar.gz#pack/train.jsonl',
  valid: {url: $URL/data/pack.zip, member: sub/valid.jsonl, sha256: \$(sha "$WWW/data/valid.jsonl")}}"
run_rc 0 mainline plan packed.yaml
tgz=\$(sha "$WWW/data/pack.tar.gz")
check_eq "train" "\$MAINLINE_CACHE/unpacked/\$tgz/pack/train.jsonl|$URL/data/pack.tar.gz#pack/train.jsonl|$TRAIN_SHA" \
    "\$(sql "select path, source, sha256 from artifacts where name = 'train'")"
cmp "\$MAINLINE_CACHE/unpacked/\$tgz/pack/train.jsonl" "$WWW/data/train.jsonl"
test -L "\$MAINLINE_CACHE/unpacked/\$tgz/pack/inner-link"
check_eq "valid" "$URL/data/pack.zip#sub/valid.jsonl" "\$(sql "select source from artifacts where name = 'valid'")"
EOF

test_body 'a member missing from the archive, and a member of a non-archive' <<EOF
sweep_with nomember "{train: '$URL/data/pack.tar.gz#pack/nothere.jsonl'}"
run_rc 1 mainline plan nomember.yaml
grep -q "dataset train: archive '.*/pack.tar.gz': the archive has no 'pack/nothere.jsonl'" err
sweep_with notarchive "{train: {url: $URL/data/train.jsonl, member: x.jsonl}}"
run_rc 1 mainline plan notarchive.yaml
grep -q "'train' names member 'x.jsonl' of '$URL/data/train.jsonl', which is not an archive" err
EOF

test_body 'archives with an absolute path, .. or an escaping link are refused' <<EOF
for kind in abs dotdot link; do
    sweep_with evil-\$kind "{train: '$URL/data/evil-\$kind.tar.gz#ok.jsonl'}"
    run_rc 1 mainline plan evil-\$kind.yaml
    cat err >>all-errors
done
grep -q "entry '/tmp/evil.jsonl': absolute paths are refused" all-errors
grep -q "entry 'a/../../evil.jsonl': '..' components are refused" all-errors
grep -q "entry 'up': a symbolic link that points outside the archive's directory is refused" all-errors
for kind in abs dotdot link; do
    refute test -e "\$MAINLINE_CACHE/unpacked/\$(sha "$WWW/data/evil-\$kind.tar.gz")"
done
check_eq "no temporary trees" "" "\$(ls "\$MAINLINE_CACHE/unpacked" | grep tmp || :)"
refute test -e /tmp/evil.jsonl
refute test -e mainline.db
EOF

test_body 'hf:// URLs resolve against HF_ENDPOINT (datasets, models, @revision)' <<EOF
cat >hf.yaml <<EOS
sweep: hf
base_model: {url: "hf://org/tiny@v1/weights.bin", sha256: \$(sha "$WWW/org/tiny/resolve/v1/weights.bin")}
datasets: {train: "hf://datasets/org/math/train.jsonl"}
grid: {seed: [0]}
EOS
HF_ENDPOINT=$URL/ run_rc 0 mainline plan hf.yaml
check_eq "requests" "1 1" "\$(requests /datasets/org/math/resolve/main/train.jsonl) \$(requests /org/tiny/resolve/v1/weights.bin)"
check_eq "sources" "hf://org/tiny@v1/weights.bin;hf://datasets/org/math/train.jsonl" \
    "\$(sql "select group_concat(source, ';') from (select source from artifacts order by role)")"
grep -q '"base_model":{"sha256":"[0-9a-f]*","url":"hf://org/tiny@v1/weights.bin"}' \
    "\$(sql "select params from runs" >params && echo params)"
EOF

test_body 'jobs read the cached file: config.json has the local path and the URL' <<EOF
cp -r "$TOP/sweeps/models" .
cat >job.yaml <<EOS
sweep: job
base_model: models/tiny-base/model.safetensors
datasets: {train: {url: $URL/data/train.jsonl, sha256: $TRAIN_SHA}, valid: "$URL/data/valid.jsonl"}
trainer: {command: [$FAKES/fake_trainer]}
defaults: {lr: 1.0e-4, max_steps: 2}
grid: {seed: [0]}
EOS
run_rc 0 mainline plan job.yaml
mainline run job -q >run.out 2>&1 || { cat run.out; false; }
cfg=\$(find runs -name config.json | head -n 1)
check_eq "train path" "\$MAINLINE_CACHE/objects/$TRAIN_SHA/train.jsonl" \
    "\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["datasets"]["train"]["path"])' "\$cfg")"
check_eq "train source" "$URL/data/train.jsonl" \
    "\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["datasets"]["train"]["source"])' "\$cfg")"
EOF

test_done
