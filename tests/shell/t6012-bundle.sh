#!/bin/sh
# t6012: `mainline export --format bundle` and `mainline import` (fake trainer and
# evaluator, 2 conditions x 2 seeds, a declared mainline). A run's bundle and the
# mainline's (every seed of the mainline condition) hold what the manifest lists, with
# the digests it gives; imported into a fresh registry (the sweep created from the
# bundle) `show` and `select` agree with the source; imported run by run into a
# registry where the sweep is planned, `select` prints what the source printed; the
# same bundle twice is a no-op; other results for the same run, and a version planned
# from another spec, are refused; hostile bundles (`../x`, `/abs`, a symlink, a hard
# link, a FIFO, a device, an unlisted file, a digest mismatch, a truncated archive, the
# manifest not first, a gzip bomb whose member is far larger than the manifest says, a
# registry.json over the 256 MiB JSON cap, files that would not fit on the disk) are
# refused with the reason, the registry and the directory (no staging directory left)
# as they were; no mainline, or an OUT that exists, refused with nothing written; a
# checkpoint file of several export chunks extracted byte for byte.
. "$(dirname "$0")/lib.sh"

SRC=$SCRATCH/src
export SRC

# the source: planned, run and selected once for every test
mkdir -p "$SRC" && (
    cd "$SRC" && fake_sweep fs "lr: 1.0e-4" "0, 1" >/dev/null &&
    grep -v '^grid:' fs.yaml >fs.head && mv fs.head fs.yaml && cat >>fs.yaml <<\YAML &&
conditions:
  a: {x_steps: 4}
  b: {x_steps: 5, x_val_seed_jitter: 50}
grid: {condition: [a, b], seed: [0, 1]}
selection: {checkpoint: min(val_nll)}
mainline: {usable: {max_adapter_mb: 100}}
YAML
    mainline plan fs.yaml >/dev/null && mainline run -q -j 2 fs >run.out 2>&1 &&
    mainline select fs >select.out
) || { echo "cannot prepare the source sweep"; exit 1; }

# snap NAME: the registry's rows and the directory's files (but run_rc's out and err),
# into ../NAME, to compare before and after
snap() {
    { sqlite3 mainline.db .dump
      find . \( -name out -o -name err -o -name mainline.db-shm \) -prune -o -print | sort
    } >"../$1"
}

test_body 'a run bundle holds the run with the digests its manifest gives' <<\EOF
    cd "$SRC"
    run_rc 0 mainline export fs main-b-seed-1 --format bundle -o "$OLDPWD/one.tar.gz"
    cat out
    grep -q "^exported sweep fs v1, 1 run (main-b-seed-1 step [0-9]*) as bundle: .*one.tar.gz, 11 files" out
    cd "$OLDPWD"
    mkdir x && tar -C x -xzf one.tar.gz
    (cd x/fs-main-b-seed-1 && find . -type f | sed 's|^\./||' | sort) >files
    cat >expect <<\LIST
manifest.json
registry.json
runs/main-b-seed-1/checkpoints/step-5/state.json
runs/main-b-seed-1/config.json
runs/main-b-seed-1/eval/step-5/eval.json
runs/main-b-seed-1/eval/step-5/exit.json
runs/main-b-seed-1/eval/step-5/metrics.jsonl
runs/main-b-seed-1/eval/step-5/predictions.jsonl
runs/main-b-seed-1/exit.json
runs/main-b-seed-1/metrics.jsonl
sweep.yaml
LIST
    test_cmp expect files
    cmp x/fs-main-b-seed-1/sweep.yaml "$SRC/fs.yaml"
    python3 - x/fs-main-b-seed-1 "$SRC/mainline.db" <<\PY
import hashlib, json, os, sqlite3, sys
top, db = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(top, "manifest.json")))
listed = {f["path"]: f for f in m["files"]}
for root, _, names in os.walk(top):
    for n in names:
        rel = os.path.relpath(os.path.join(root, n), top)
        if rel == "manifest.json":
            continue
        data = open(os.path.join(top, rel), "rb").read()
        assert rel in listed, rel
        assert listed[rel]["sha256"] == hashlib.sha256(data).hexdigest(), rel
        assert listed[rel]["bytes"] == len(data), rel
        del listed[rel]
assert not listed, listed
con = sqlite3.connect(db)
sw = con.execute("SELECT name, version, spec_sha256, canon_sha256, contract_sha256 FROM sweeps").fetchone()
assert (m["sweep"], m["sweep_version"], m["spec_sha256"], m["canon_sha256"], m["contract_sha256"]) == sw, m
arts = sorted((a["role"], a["name"], a["sha256"]) for a in m["inputs"])
assert arts == sorted(con.execute("SELECT role, name, sha256 FROM artifacts")), arts
assert [r["run_id"] for r in m["runs"]] == ["main-b-seed-1"]
assert "base_model" in [a[0] for a in arts]
print("manifest ok")
PY
EOF

test_body 'the mainline bundle into a fresh registry: show and select agree' <<\EOF
    (cd "$SRC" && mainline export fs --format bundle -o "$OLDPWD/ml.tar.gz") >out
    grep -q "^exported sweep fs v1, 2 runs (main-a-seed-0 step [0-9]*, main-a-seed-1 step [0-9]*) as bundle" out
    mkdir laptop && cd laptop
    run_rc 0 mainline import ../ml.tar.gz
    grep -q "^imported 2 runs of sweep fs v1 from ../ml.tar.gz (the sweep version created from the bundle)" out
    test -f runs/fs/main-a-seed-1/checkpoints/step-4/state.json
    for r in main-a-seed-0 main-a-seed-1; do
        mainline show --json "$r" >here.json
        (cd "$SRC" && mainline show --json "$r") >there.json
        python3 - here.json there.json <<\PY
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for k in ("params", "state", "attempt", "best_val_nll", "best_val_step", "accuracy", "contract_sha256"):
    assert a[k] == b[k], (k, a[k], b[k])
kept = [c for c in b["checkpoints"] if c["step"] == a["best_val_step"]]
assert [(c["step"], c["sha256"]) for c in a["checkpoints"]] == [(c["step"], c["sha256"]) for c in b["checkpoints"]]
assert a["imported"]["bundle_sha256"] and b["imported"] is None
PY
        mainline show "$r" | grep -q "^imported   .* from .*/ml.tar.gz (sha256:"
    done
    mainline runs >runs.out
    grep -q "^fs  *main-a-seed-0 .* done (imported) " runs.out
    mainline runs --json | python3 -c 'import json, sys; assert all(r["imported"]["bundle_sha256"] for r in json.load(sys.stdin))'
    (cd "$SRC" && mainline runs) >runs.out
    refute grep -q imported runs.out
    mainline select fs >select.out
    grep -q '^\*\*Mainline:\*\* mainline: a' select.out
    for r in main-a-seed-0 main-a-seed-1; do
        grep "^| $r |" select.out >here
        grep "^| $r |" "$SRC/select.out" >there
        test_cmp there here
    done
    # again: nothing to do, nothing changed
    snap before
    run_rc 0 mainline import ../ml.tar.gz
    grep -q "already imported: 2 runs of sweep fs v1 here with the same results; nothing to do" out
    snap after
    test_cmp ../before ../after
EOF

test_body 'run by run into the planned sweep: select prints what the source did' <<\EOF
    cp -r "$SRC/data" "$SRC/models" "$SRC/fs.yaml" .
    mainline plan fs.yaml >/dev/null
    for r in main-a-seed-0 main-a-seed-1 main-b-seed-0 main-b-seed-1; do
        (cd "$SRC" && mainline export fs $r --format bundle -o "$OLDPWD/$r.tgz") >/dev/null
        run_rc 0 mainline import $r.tgz
        grep -q "^imported 1 run of sweep fs v1 from $r.tgz (into the planned sweep version, filling planned runs)" out
    done
    # not while a `mainline run` of the sweep holds it (on another host: taken as alive)
    sqlite3 mainline.db "PRAGMA foreign_keys = ON; DELETE FROM runs WHERE run_id = 'main-b-seed-1';
        INSERT INTO runs (sweep_id, run_id, ord, stage, params) VALUES (1, 'main-b-seed-1', 3, 'main', '{}');
        INSERT INTO locks (sweep_id, holder_pid, host) VALUES (1, 4242, 'elsewhere')"
    snap before
    run_rc 1 mainline import main-b-seed-1.tgz
    grep -q "^error: main-b-seed-1.tgz: sweep 'fs' is already being run by pid 4242 on elsewhere; 'mainline status fs' shows its progress; nothing was imported" err
    snap after
    test_cmp ../before ../after
    sqlite3 mainline.db "DELETE FROM locks; PRAGMA foreign_keys = ON; DELETE FROM runs WHERE run_id = 'main-b-seed-1'"
    rm -r runs/fs/main-b-seed-1 && mainline import main-b-seed-1.tgz >/dev/null
    mainline select fs >select.out
    test_cmp "$SRC/select.out" select.out
    mainline run -q fs >run.out 2>&1
    grep -q "fs: 4 done, 0 failed" run.out
    check_eq "jobs started here" 0 "$(sqlite3 mainline.db "SELECT count(*) FROM events WHERE kind = 'start'")"
EOF

test_body 'other results for the same run, or another spec, are refused' <<\EOF
    (cd "$SRC" && mainline export fs main-a-seed-0 --format bundle -o "$OLDPWD/a0.tgz") >/dev/null
    mkdir l1 && cd l1
    mainline import ../a0.tgz >/dev/null
    sqlite3 mainline.db "UPDATE metrics SET value = value + 1 WHERE name = 'val_nll'"
    snap before
    run_rc 1 mainline import ../a0.tgz
    grep -q "error: ../a0.tgz: run 'main-a-seed-0' of sweep 'fs' v1 is here already with other results (results digest [0-9a-f]* here, [0-9a-f]* in the bundle): a different run of the same identity is never replaced; nothing was imported" err
    snap after
    test_cmp ../before ../after
    cd .. && mkdir l2 && cd l2
    cp -r "$SRC/data" "$SRC/models" .
    sed 's/x_steps: 4/x_steps: 6/' "$SRC/fs.yaml" >fs.yaml
    mainline plan fs.yaml >/dev/null
    snap before
    run_rc 1 mainline import ../a0.tgz
    grep -q "error: ../a0.tgz: sweep 'fs' here is at v1, planned from another spec (canon sha256 [0-9a-f]*, the bundle's v1 [0-9a-f]*): plan the bundle's sweep.yaml with --new-version, then import again; nothing was imported" err
    snap after
    test_cmp ../before ../after
    tar -xzf ../a0.tgz --strip-components=1 fs-main-a-seed-0/sweep.yaml
    mainline plan --new-version sweep.yaml >/dev/null
    run_rc 0 mainline import ../a0.tgz
    grep -q "^imported 1 run of sweep fs v2 from ../a0.tgz (into the planned sweep version, filling planned runs)" out
    test -f runs/fs@v2/main-a-seed-0/metrics.jsonl
EOF

test_body 'hostile bundles are refused, nothing written' <<\EOF
    (cd "$SRC" && mainline export fs main-a-seed-0 --format bundle -o "$OLDPWD/good.tgz") >/dev/null
    mkdir bad
    python3 - good.tgz bad <<\PY
import gzip, hashlib, io, json, sys, tarfile
good, out = sys.argv[1], sys.argv[2]
src = tarfile.open(good)
members = [(m, src.extractfile(m).read()) for m in src.getmembers()]
top = members[0][0].name.split("/")[0]
def write(name, extra=(), change=None):
    with tarfile.open(f"{out}/{name}.tgz", "w:gz") as t:
        for m, data in members:
            if change and m.name.endswith(change):
                data = data.replace(b"4", b"5")
            m.size = len(data)
            t.addfile(m, io.BytesIO(data))
        for info, data in extra:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
def reg(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def kind(name, type, **kw):
    i = tarfile.TarInfo(name); i.type = type
    for k, v in kw.items(): setattr(i, k, v)
    return (i, None)
write("dotdot", [reg(f"{top}/../x")])
write("abs", [reg("/tmp/abs-from-bundle")])
write("symlink", [kind(f"{top}/runs/link", tarfile.SYMTYPE, linkname="/etc/passwd")])
write("hardlink", [kind(f"{top}/runs/hard", tarfile.LNKTYPE, linkname=f"{top}/sweep.yaml")])
write("fifo", [kind(f"{top}/runs/fifo", tarfile.FIFOTYPE)])
write("device", [kind(f"{top}/runs/null", tarfile.CHRTYPE, devmajor=1, devminor=3)])
write("unlisted", [reg(f"{top}/runs/main-a-seed-0/extra.txt")])
write("mismatch", change="state.json")
# members changed with the manifest listing their new digests: verified, then refused
# later (write_swapped), the originals kept for the next
def write_swapped(name, swaps):
    global members
    orig = members
    files = dict((m.name, d) for m, d in orig)
    man = json.loads(files[f"{top}/manifest.json"])
    for f in man["files"]:
        data = swaps.get(f"{top}/{f['path']}")
        if data is not None:
            f["sha256"], f["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    swaps = dict(swaps, **{f"{top}/manifest.json": json.dumps(man).encode()})
    members = [(m, swaps.get(m.name, d)) for m, d in orig]
    write(name)
    members = orig
files = dict((m.name, d) for m, d in members)
# a checkpoint file that is not what its registry row says
ck = f"{top}/runs/main-a-seed-0/checkpoints/step-4/state.json"
write_swapped("checkpoint", {ck: files[ck] + b" "})
# a column the registry lacks, in a field the results digest leaves out: refused while
# recording, after the files were placed (they go back)
rows = json.loads(files[f"{top}/registry.json"])
rows["runs"][0]["checkpoints"][0]["pid"] = 1
write_swapped("badcolumn", {f"{top}/registry.json": json.dumps(rows).encode()})
data = open(good, "rb").read()
open(f"{out}/truncated.tgz", "wb").write(data[: len(data) // 2])
# the manifest after the members it bounds
with tarfile.open(f"{out}/late.tgz", "w:gz") as t:
    for m, data in members[1:] + members[:1]:
        t.addfile(m, io.BytesIO(data))
# 256 MiB + 1 of zeros, 1 MB compressed, streamed (never held here)
BIG = (256 << 20) + 1
class Zeros(io.RawIOBase):
    def __init__(self, n): self.n = n
    def readable(self): return True
    def readinto(self, b):
        k = min(len(b), self.n); b[:k] = bytes(k); self.n -= k; return k
def write_big(name, member, man=None):
    with tarfile.open(f"{out}/{name}.tgz", "w:gz", compresslevel=1) as t:
        for m, data in members:
            if m.name == f"{top}/manifest.json" and man is not None:
                data = json.dumps(man).encode()
            m.size = BIG if m.name == f"{top}/{member}" else len(data)
            t.addfile(m, io.BufferedReader(Zeros(BIG), 1 << 20) if m.size == BIG else
                      io.BytesIO(data))
# a gzip bomb: a member far larger than the manifest says
write_big("bomb", "runs/main-a-seed-0/config.json")
# registry.json over the 256 MiB a JSON member read into memory may hold, listed so
man = json.loads(files[f"{top}/manifest.json"])
h = hashlib.sha256()
for _ in range(256):
    h.update(bytes(1 << 20))
h.update(b"\0")
for f in man["files"]:
    if f["path"] == "registry.json":
        f["sha256"], f["bytes"] = h.hexdigest(), BIG
write_big("bigjson", "registry.json", man)
# a manifest whose files would not fit on the disk: refused before any is read
man = json.loads(files[f"{top}/manifest.json"])
man["files"][-1]["bytes"] = 1 << 62
with tarfile.open(f"{out}/huge.tgz", "w:gz") as t:
    for m, data in members:
        data = json.dumps(man).encode() if m.name == f"{top}/manifest.json" else data
        m.size = len(data)
        t.addfile(m, io.BytesIO(data))
PY
    mkdir laptop && cd laptop
    cp ../good.tgz . && mainline import good.tgz >/dev/null && rm good.tgz
    sqlite3 mainline.db "PRAGMA foreign_keys = ON; DELETE FROM runs" && rm -r runs   # the sweep here, its run gone
    snap before
    expect() {
        run_rc 1 mainline import ../bad/$1.tgz
        grep -q "^error: ../bad/$1.tgz: $2; nothing was imported$" err || { cat err; return 1; }
        snap after
        test_cmp ../before ../after
        test ! -e /tmp/abs-from-bundle
    }
    expect dotdot "'fs-main-a-seed-0/../x' has a '..' component: a member must stay inside the bundle"
    expect abs "'/tmp/abs-from-bundle' is an absolute path"
    expect symlink "'fs-main-a-seed-0/runs/link' is a symbolic link"
    expect hardlink "'fs-main-a-seed-0/runs/hard' is a hard link (to 'fs-main-a-seed-0/sweep.yaml')"
    expect fifo "'fs-main-a-seed-0/runs/fifo' is a FIFO"
    expect device "'fs-main-a-seed-0/runs/null' is a character device"
    expect unlisted "'runs/main-a-seed-0/extra.txt' is in the bundle but not in its manifest"
    expect mismatch "'runs/main-a-seed-0/checkpoints/step-4/state.json' does not match the manifest: sha256 [0-9a-f]*, [0-9]* bytes; the manifest says [0-9a-f]*, [0-9]* bytes"
    expect checkpoint "run 'main-a-seed-0': checkpoint step 4 has sha256 [0-9a-f]*; registry.json records [0-9a-f]*"
    expect badcolumn "the bundle's checkpoints row has a column 'pid' this registry does not have"
    expect truncated "'../bad/truncated.tgz' is not a whole bundle: .*"
    expect late "'fs-main-a-seed-0/sweep.yaml' comes before manifest.json: a bundle starts with its manifest (is it a mainline bundle?)"
    expect bomb "'runs/main-a-seed-0/config.json' is 268435457 bytes in the archive; the manifest says [0-9]* bytes"
    expect bigjson "'registry.json' is 268435457 bytes; mainline reads at most 256 MiB of it"
    expect huge "its files take [0-9]* bytes, the manifest says; '.*/laptop' has [0-9]* bytes free"
    # into a new registry: refused while recording, the registry it made goes too
    mkdir ../fresh && (cd ../fresh && run_rc 1 mainline import ../bad/badcolumn.tgz &&
                       grep -q "this registry does not have; nothing was imported" err &&
                       rm out err && test -z "$(ls -A)")
    # the good one still imports; not twice where its directory is taken
    run_rc 0 mainline import ../good.tgz
    sqlite3 mainline.db "PRAGMA foreign_keys = ON; DELETE FROM runs"
    snap before
    run_rc 1 mainline import ../good.tgz
    grep -q "^error: ../good.tgz: run 'main-a-seed-0': '.*/runs/fs/main-a-seed-0' exists; move it away first; nothing was imported" err
    snap after
    test_cmp ../before ../after
EOF

test_body 'usage; no mainline, an existing OUT: refused, nothing written' <<\EOF
    run_rc 129 mainline import
    run_rc 129 mainline import a b
    run_rc 1 mainline import missing.tgz
    grep -q "^error: missing.tgz: cannot .*missing.tgz.*; nothing was imported" err
    test ! -e mainline.db
    run_rc 129 mainline export --model x --format bundle -o b.tgz
    grep -q "^error: --format bundle takes a sweep's runs, not --model" err
    run_rc 1 sh -c "cd '$SRC' && \"$MAINLINE\" export fs main-a-seed-0 --format bundle -o fs.yaml"
    grep -q "error: 'fs.yaml' already exists" err
    # no mainline declared: refused with the reason, nothing written
    fake_sweep nm "lr: 1.0e-4, x_steps: 4" "0" >/dev/null
    mainline plan nm.yaml >/dev/null && mainline run -q nm >/dev/null 2>&1
    run_rc 1 mainline export nm --format bundle -o nm.tgz
    grep -q "^error: sweep 'nm' has no mainline to bundle (.*); bundle one run with 'mainline export nm RUN --format bundle ...'" err
    test ! -e nm.tgz
    # a selected checkpoint gone from disk: refused, nothing written
    mv runs/nm/main-seed-0/checkpoints ckpts
    run_rc 1 mainline export nm main-seed-0 --format bundle -o nm.tgz
    grep -q "^error: cannot .*runs/nm/main-seed-0/checkpoints/step-4.*No such file" err
    test ! -e nm.tgz
    mv ckpts runs/nm/main-seed-0/checkpoints
    run_rc 0 mainline export nm main-seed-0 --format bundle -o nm.tgz
    # a checkpoint file of several export chunks (64 KiB): streamed into the bundle
    # whole, in order, under the digest the manifest gives
    head -c 300000 /dev/urandom >runs/nm/main-seed-0/checkpoints/step-4/big.bin
    run_rc 0 mainline export nm main-seed-0 --format bundle -o big.tgz
    mkdir big && tar -C big -xzf big.tgz
    cmp runs/nm/main-seed-0/checkpoints/step-4/big.bin \
        big/nm-main-seed-0/runs/main-seed-0/checkpoints/step-4/big.bin
    python3 - big/nm-main-seed-0 runs/nm/main-seed-0/checkpoints/step-4/big.bin <<\PY
import hashlib, json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
f = [f for f in m["files"] if f["path"] == "runs/main-seed-0/checkpoints/step-4/big.bin"]
data = open(sys.argv[2], "rb").read()
assert f == [{"path": f[0]["path"], "sha256": hashlib.sha256(data).hexdigest(),
              "bytes": 300000}], f
PY
    rm -r big big.tgz runs/nm/main-seed-0/checkpoints/step-4/big.bin
    ls -A | grep -v -e '^nm.tgz$' -e '^mainline.db' -e '^runs$' -e '^data$' -e '^models$' \
        -e '^nm.yaml$' -e '^out$' -e '^err$' -e '^extra$' >extra || :
    must_be_empty extra
EOF

test_done
