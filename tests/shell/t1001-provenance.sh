#!/bin/sh
# t1001: provenance. The git state of the repository holding the sweep file
# (commit, branch, dirty flag, the uncommitted patch), and the digests of the
# datasets and base models, are recorded with each sweep version; every run is
# linked to the files it uses.
#
# Bodies are && chains (the harness evaluates them inside an `if`, where `set -e`
# has no effect), so every command's failure fails the test.
. "$(dirname "$0")/lib.sh"

# A reproducible git: no user or system configuration, fixed identities.
GIT_AUTHOR_NAME='A U Thor'
GIT_AUTHOR_EMAIL=author@example.com
GIT_COMMITTER_NAME='C O Mitter'
GIT_COMMITTER_EMAIL=committer@example.com
GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_CONFIG_NOSYSTEM
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

# sweep_row NAME COLUMNS: one row of the sweeps table, NULLs shown as NULL.
sweep_row() {
    sqlite3 -nullvalue NULL reg.db "SELECT $2 FROM sweeps WHERE name = '$1'"
}

# ./repo: a git repository on branch main holding the example sweep, its data and
# model, and a tracked train.py; one commit. HOME is the test directory, so no
# user configuration applies. The registry is ./reg.db, outside the repository.
make_repo() {
    HOME=$PWD &&
    export HOME &&
    git -c init.defaultBranch=main init -q repo &&
    cp "$TOP/sweeps/lora-attn-vs-all.yaml" repo/ &&
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" repo/ &&
    printf 'print("train")\n' >repo/train.py &&
    (cd repo && git add . && git commit -q -m "sweep and trainer") &&
    test -z "$(cd repo && git status --porcelain)"
}

# rename_sweep FROM TO NAME: a copy of FROM recorded under another sweep name.
rename_sweep() {
    sed "s/^sweep: .*/sweep: $3/" "$1" >"$2" &&
    grep -q "^sweep: $3\$" "$2"
}

# ---- git state ----

test_expect_success 'a clean repository: commit, branch main, not dirty, no diff' '
    make_repo &&
    run_rc 0 mainline --registry reg.db plan repo/lora-attn-vs-all.yaml &&
    head=$(cd repo && git rev-parse HEAD) &&
    root=$(cd repo && git rev-parse --show-toplevel) &&
    check_eq "git columns" "ok|$root|$head|main|0|NULL" \
        "$(sweep_row lora-attn-vs-all "git_status, git_root, git_commit, git_branch, git_dirty, git_diff")" &&
    check_eq "plan event" "$head" \
        "$(sqlite3 reg.db "SELECT json_extract(data, '\''\$.git_commit'\'') FROM events WHERE kind = '\''plan'\''")" &&
    check_eq "code line" "code: $root at $(echo $head | cut -c1-12) on main" "$(tail -n 1 out)" &&
    run_rc 0 mainline --registry reg.db show main-all_layer-seed-0 &&
    grep "^code       ok $head on main\$" out &&
    test -z "$(cd repo && git status --porcelain)"
'

test_expect_success 'an edited tracked file: dirty, and the diff is recorded' '
    make_repo &&
    run_rc 0 mainline --registry reg.db plan repo/lora-attn-vs-all.yaml &&
    printf "print(\"with a change\")\n" >>repo/train.py &&
    rename_sweep repo/lora-attn-vs-all.yaml repo/lora-dirty.yaml lora-dirty &&
    run_rc 0 mainline --registry reg.db plan repo/lora-dirty.yaml &&
    head=$(cd repo && git rev-parse HEAD) &&
    check_eq "git columns" "ok|$head|main|1" \
        "$(sweep_row lora-dirty "git_status, git_commit, git_branch, git_dirty")" &&
    sqlite3 reg.db "SELECT git_diff FROM sweeps WHERE name = '\''lora-dirty'\''" >diff.recorded &&
    (cd repo && git diff HEAD) >diff.git &&
    echo >>diff.git &&
    test_cmp diff.git diff.recorded &&
    grep "^+print(\"with a change\")\$" diff.recorded &&
    grep "^diff --git a/train.py b/train.py\$" diff.recorded &&
    ! grep "lora-dirty.yaml" diff.recorded &&
    bytes=$(cd repo && git diff HEAD | wc -c | tr -d " ") &&
    check_eq "dirty line" "code: uncommitted changes recorded with the sweep ($bytes bytes of diff)" \
        "$(tail -n 1 out)" &&
    check_eq "the first version stays clean" "0|NULL" \
        "$(sweep_row lora-attn-vs-all "git_dirty, git_diff")" &&
    run_rc 0 mainline --registry reg.db show lora-dirty/main-all_layer-seed-0 &&
    grep "^code       ok $head on main (dirty)\$" out
'

test_expect_success 'staged changes are dirty too; untracked files are not' '
    make_repo &&
    echo "scratch notes" >repo/untracked.txt &&
    rename_sweep repo/lora-attn-vs-all.yaml repo/s-untracked.yaml s-untracked &&
    run_rc 0 mainline --registry reg.db plan repo/s-untracked.yaml &&
    check_eq "untracked only" "0|NULL" "$(sweep_row s-untracked "git_dirty, git_diff")" &&
    printf "import sys\n" >>repo/train.py &&
    (cd repo && git add train.py) &&
    rename_sweep repo/lora-attn-vs-all.yaml repo/s-staged.yaml s-staged &&
    run_rc 0 mainline --registry reg.db plan repo/s-staged.yaml &&
    check_eq "staged" 1 "$(sweep_row s-staged git_dirty)" &&
    sqlite3 reg.db "SELECT git_diff FROM sweeps WHERE name = '\''s-staged'\''" >diff.recorded &&
    (cd repo && git diff HEAD) >diff.git &&
    echo >>diff.git &&
    test_cmp diff.git diff.recorded
'

test_expect_success 'detached HEAD and a branch without commits' '
    make_repo &&
    (cd repo && git checkout -q --detach) &&
    rename_sweep repo/lora-attn-vs-all.yaml repo/s-detached.yaml s-detached &&
    run_rc 0 mainline --registry reg.db plan repo/s-detached.yaml &&
    head=$(cd repo && git rev-parse HEAD) &&
    check_eq "detached" "ok|$head|HEAD|0" "$(sweep_row s-detached "git_status, git_commit, git_branch, git_dirty")" &&
    git -c init.defaultBranch=trunk init -q unborn &&
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" unborn/ &&
    rename_sweep repo/lora-attn-vs-all.yaml unborn/s-unborn.yaml s-unborn &&
    run_rc 0 mainline --registry reg.db plan unborn/s-unborn.yaml &&
    check_eq "unborn" "ok|NULL|trunk|0" "$(sweep_row s-unborn "git_status, git_commit, git_branch, git_dirty")" &&
    grep "^code: .*/unborn at (no commit) on trunk\$" out
'

test_expect_success 'the repository is the one holding the sweep file, not the current one' '
    make_repo &&
    git -c init.defaultBranch=other init -q here &&
    (cd here && run_rc 0 mainline --registry ../reg.db plan ../repo/lora-attn-vs-all.yaml) &&
    head=$(cd repo && git rev-parse HEAD) &&
    root=$(cd repo && git rev-parse --show-toplevel) &&
    check_eq "git columns" "ok|$root|$head|main" \
        "$(sweep_row lora-attn-vs-all "git_status, git_root, git_commit, git_branch")"
'

test_expect_success 'a sweep outside any repository: not a git repository, still planned' '
    GIT_CEILING_DIRECTORIES=$(cd .. && pwd -P) &&
    export GIT_CEILING_DIRECTORIES &&
    cp "$TOP/sweeps/lora-attn-vs-all.yaml" . &&
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" . &&
    run_rc 0 mainline --registry reg.db plan lora-attn-vs-all.yaml &&
    check_eq "last lines" "recorded sweep '\''lora-attn-vs-all'\'' version 1: 12 runs in reg.db
code: not a git repository" "$(tail -n 2 out)" &&
    check_eq "git columns" "not a git repository|NULL|NULL|NULL|0|NULL" \
        "$(sweep_row lora-attn-vs-all "git_status, git_root, git_commit, git_branch, git_dirty, git_diff")" &&
    check_eq "runs" 12 "$(sqlite3 reg.db "SELECT count(*) FROM runs")"
'

test_expect_success 'GIT_CEILING_DIRECTORIES stops the search below an enclosing repository' '
    HOME=$PWD &&
    export HOME &&
    git -c init.defaultBranch=main init -q . &&
    mkdir outside &&
    cp "$TOP/sweeps/lora-attn-vs-all.yaml" outside/ &&
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" outside/ &&
    run_rc 0 env GIT_CEILING_DIRECTORIES="$(pwd -P)" "$MAINLINE" --registry reg.db plan outside/lora-attn-vs-all.yaml &&
    check_eq "with the ceiling" "not a git repository|NULL" \
        "$(sweep_row lora-attn-vs-all "git_status, git_root")" &&
    rename_sweep outside/lora-attn-vs-all.yaml outside/s2.yaml s2 &&
    (unset GIT_CEILING_DIRECTORIES && run_rc 0 "$MAINLINE" --registry reg.db plan outside/s2.yaml) &&
    check_eq "without it" "ok|$(pwd -P)|main" "$(sweep_row s2 "git_status, git_root, git_branch")"
'

# ---- artifacts ----

test_expect_success 'artifacts: sha256, bytes and rows match the files' '
    make_repo &&
    run_rc 0 mainline --registry reg.db plan repo/lora-attn-vs-all.yaml &&
    here=$(cd repo && pwd -P) &&
    { for d in train:arith-train valid:arith-valid bench:arith-test; do
          f=repo/data/${d#*:}.jsonl
          echo "dataset|${d%%:*}|$here/data/${d#*:}.jsonl|$(wc -c <$f | tr -d " ")|$(wc -l <$f | tr -d " ")|$(sha $f)"
      done
      f=repo/models/tiny-base/model.safetensors
      echo "base_model|tiny-base|$here/models/tiny-base/model.safetensors|$(wc -c <$f | tr -d " ")|NULL|$(sha $f)"
    } >expect &&
    sqlite3 -nullvalue NULL reg.db "SELECT role, name, path, bytes, rows, sha256 FROM artifacts ORDER BY id" >got &&
    test_cmp expect got &&
    check_eq "rows of arith-train" 240 "$(sqlite3 reg.db "SELECT rows FROM artifacts WHERE name = '\''train'\''")"
'

test_expect_success 'rows of a JSONL file count its non-blank lines; other files have none' '
    cp -R "$TOP/sweeps/models" . &&
    printf "{\"q\":1}\n\n{\"q\":2}\n   \n{\"q\":3}" >gaps.jsonl &&
    printf "{\"q\":1}\r\n{\"q\":2}\r\n" >crlf.jsonl &&
    : >empty.jsonl &&
    printf "a\nb\n" >notes.txt &&
    cat >s.yaml <<\EOF &&
sweep: rows
base_model: models/tiny-base/model.safetensors
datasets:
  train: gaps.jsonl
  valid: crlf.jsonl
  empty: empty.jsonl
  notes: notes.txt
grid: {seed: [0]}
EOF
    run_rc 0 mainline --registry reg.db plan s.yaml &&
    cat >expect <<EOF &&
train|3|28|$(sha gaps.jsonl)
valid|2|18|$(sha crlf.jsonl)
empty|0|0|$(sha empty.jsonl)
notes|NULL|4|$(sha notes.txt)
EOF
    sqlite3 -nullvalue NULL reg.db "SELECT name, rows, bytes, sha256 FROM artifacts WHERE role = '\''dataset'\'' ORDER BY id" >got &&
    test_cmp expect got
'

test_expect_success 'run_artifacts link every run to all datasets and its base model' '
    make_repo &&
    run_rc 0 mainline --registry reg.db plan repo/lora-attn-vs-all.yaml &&
    sqlite3 reg.db "SELECT run_id FROM runs ORDER BY ord" >ids &&
    check_eq "runs" 12 "$(wc -l <ids | tr -d " ")" &&
    while read id; do
        for a in dataset/train dataset/valid dataset/bench base_model/tiny-base; do
            echo "$id|$a"
        done
    done <ids >expect &&
    sqlite3 reg.db "
      SELECT r.run_id, a.role || '\''/'\'' || a.name FROM runs r
      JOIN run_artifacts ra ON ra.run = r.id JOIN artifacts a ON a.id = ra.artifact
      ORDER BY r.ord, a.id" >got &&
    test_cmp expect got &&
    check_eq "links to another sweep" 0 "$(sqlite3 reg.db "
      SELECT count(*) FROM run_artifacts ra JOIN runs r ON r.id = ra.run
      JOIN artifacts a ON a.id = ra.artifact WHERE a.sweep_id != r.sweep_id")"
'

test_expect_success 'each run links to its own base model when conditions differ' '
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" . &&
    mkdir models/other &&
    cp models/tiny-base/model.safetensors models/other/model.safetensors &&
    printf x >>models/other/model.safetensors &&
    cat >s.yaml <<\EOF &&
sweep: two-models
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
conditions:
  tiny:  {base_model: models/tiny-base/model.safetensors}
  other: {base_model: {path: models/other/model.safetensors}}
grid: {condition: [tiny, other], seed: [0, 1]}
EOF
    run_rc 0 mainline --registry reg.db plan s.yaml &&
    sqlite3 reg.db "
      SELECT r.run_id, a.name, a.sha256 FROM runs r
      JOIN run_artifacts ra ON ra.run = r.id JOIN artifacts a ON a.id = ra.artifact
      WHERE a.role = '\''base_model'\'' ORDER BY r.ord" >got &&
    tiny=$(sha models/tiny-base/model.safetensors) &&
    other=$(sha models/other/model.safetensors) &&
    test "$tiny" != "$other" &&
    cat >expect <<EOF &&
main-tiny-seed-0|tiny-base|$tiny
main-tiny-seed-1|tiny-base|$tiny
main-other-seed-0|other|$other
main-other-seed-1|other|$other
EOF
    test_cmp expect got &&
    check_eq "dataset links" "4|4" "$(sqlite3 reg.db "
      SELECT sum(a.name = '\''train'\''), sum(a.name = '\''valid'\'') FROM run_artifacts ra
      JOIN artifacts a ON a.id = ra.artifact WHERE a.role = '\''dataset'\''")" &&
    check_eq "params carry the digest" "$other" "$(sqlite3 reg.db "
      SELECT json_extract(params, '\''\$.base_model.sha256'\'') FROM runs WHERE run_id = '\''main-other-seed-1'\''")"
'

test_body 'the code a run executes is provenance: an edited train.py is a changed sweep' <<\EOF
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    printf 'print(1)\n' >train.py
    mkdir lib && echo a >lib/x.py
    cat >s.yaml <<EOF_YAML
sweep: pv
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl}
trainer: {command: [python3, train.py, --lr, "{lr}"]}
code: [lib]
grid: {seed: [0]}
EOF_YAML
    GIT_CEILING_DIRECTORIES=$PWD/.. mainline plan s.yaml >plan1.out
    grep -q "^code file: train.py sha256:$(sha256sum train.py | cut -c1-12)$" plan1.out
    grep -q "^code file: lib sha256:" plan1.out
    # unchanged: nothing to do
    mainline plan s.yaml >plan2.out
    grep -q "already planned with this exact spec and data" plan2.out
    # an edit to the trainer's code is a change like any other
    printf 'print(2)\n' >train.py
    rc=0
    mainline plan s.yaml >plan3.out 2>&1 || rc=$?
    cat plan3.out
    test "$rc" -eq 1
    grep -q '~ code.train.py: "' plan3.out
    # and so is one in a directory named by code:
    printf 'print(1)\n' >train.py
    mainline plan s.yaml >plan4.out
    echo b >lib/x.py
    rc=0
    mainline plan s.yaml >plan5.out 2>&1 || rc=$?
    test "$rc" -eq 1
    grep -q '~ code.lib: "' plan5.out
    # a code: path that does not exist is an error at its place
    sed 's/code: \[lib\]/code: [lib, nosuch.py]/' s.yaml >t.yaml
    rc=0
    mainline plan --dry-run t.yaml >t.out 2>&1 || rc=$?
    cat t.out
    test "$rc" -eq 1
    grep -q "^error: t.yaml:5:13: code: cannot read" t.out
    # outside git the report says so, not "commit -, not dirty"
    echo a >lib/x.py
    mainline select pv >/dev/null 2>&1 || :
    mainline report pv -f md >report.md
    grep -q "^| git | not a git repository |" report.md
    grep -q "^| code train.py sha256 | $(sha256sum train.py | cut -d' ' -f1) |" report.md
EOF

test_done
