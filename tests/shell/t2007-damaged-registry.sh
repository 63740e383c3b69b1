#!/bin/sh
# t2007: a registry with damaged pages is refused by every command that opens it,
# with exit status 1, nothing written, and a way out that works; an unchanged
# registry is not checked again, a changed one is (registry/reg_check.c).
. "$(dirname "$0")/lib.sh"

# .recover reads the sqlite_dbpage table, which Debian 12's sqlite3 lacks.
HAVE_RECOVER=
if sqlite3 :memory: 'SELECT count(*) FROM sqlite_dbpage' >/dev/null 2>&1; then
    HAVE_RECOVER=1
else
    skip "t2007 .recover" "this sqlite3 has no sqlite_dbpage (the .dump way out is tested)"
fi

# A three-run sweep for the fake trainer, planned and run: a real registry with
# metrics rows. Its runs are main-seed-0..2 of sweep `dmg`.
make_registry() {
    write_fake_sweep dmg &&
    sed 's/^sweep: dmg$/sweep: other/' s.yaml >other.yaml &&
    mainline plan s.yaml >/dev/null &&
    mainline run dmg -q >/dev/null &&
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done'")" = 3 &&
    test "$(sql "SELECT count(*) FROM metrics")" -gt 0
}

# Overwrite the page header of metrics' root page with text: the b-tree page is
# no longer one. The WAL is emptied into the file first, so the bytes land in
# the page SQLite reads.
damage_metrics() {
    sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
    page=$(sql "SELECT rootpage FROM sqlite_master WHERE name = 'metrics'") &&
    size=$(sql "PRAGMA page_size") &&
    printf 'not a b-tree page, not a b-tree page' |
        dd of=mainline.db bs=1 seek=$(((page - 1) * size)) conv=notrunc 2>/dev/null &&
    # SQLite itself must see the damage (its false NULL lines aside).
    { sqlite3 mainline.db "PRAGMA quick_check" >qc 2>&1 || :; } &&
    grep -v -e '^ok$' -e '^NULL value in metrics\.' qc | grep .
}

# The refusal in ./err: what is wrong, that nothing changed, the way out.
refused() {
    grep "^error: registry 'mainline.db' is damaged (PRAGMA quick_check: .*); nothing was changed\.$" err &&
    grep -F '  sqlite3 mainline.db .recover | sqlite3 mainline-recovered.db' err &&
    grep -F "  sqlite3 mainline.db .dump | sed" err
}

test_body 'a damaged registry: every command refuses it (exit 1), nothing is written' <<\EOF
make_registry
test -s mainline.db.checked     # `mainline run` stamped what it wrote
damage_metrics
before=$(sha mainline.db)
for cmd in status "status dmg" runs "runs --json" "show main-seed-0" "run dmg" \
           "run dmg --retry-failed" "select dmg" "report dmg" "rules dmg" "plan other.yaml" \
           "plan --new-version s.yaml"; do
    echo "== mainline $cmd"
    run_rc 1 mainline $cmd
    refused
    check_eq "registry after '$cmd'" "$before" "$(sha mainline.db)"
    test ! -s mainline.db-wal
    test ! -e mainline.db.checked
done
# plan said so before it would have recorded anything; its estimate says so too.
run_rc 1 mainline plan other.yaml
grep "^estimate: registry 'mainline.db' is damaged" out
refute grep "^recorded" out
test ! -e runs/other
EOF

test_body 'the way out it prints saves what can be read, and mainline takes the copy' <<\EOF
make_registry
damage_metrics
run_rc 1 mainline status
grep '^  sqlite3 ' err | sed 's/^  //' >steps
cat steps
test "$(wc -l <steps)" = 3
# .dump, which every sqlite3 has: the last two lines.
tail -n 2 steps >dump-steps
sh -e dump-steps
mainline --registry mainline-recovered.db status >out
grep '^  main      3        0        0        0     3' out
mainline --registry mainline-recovered.db runs --where 'seed=1' | grep main-seed-1
db_is_sound mainline-recovered.db
if [ -n "$HAVE_RECOVER" ]; then
    mkdir r && cp mainline.db r/ && head -n 1 steps >r/recover-step &&
    (cd r && sh -e recover-step && mainline --registry mainline-recovered.db status >out &&
     grep '^  main      3        0        0        0     3' out)
fi
EOF

# Whether the stamp was written again since keep_stamp: a check that runs and
# passes replaces the file (a rename), leaving the hard link on the old one.
keep_stamp() {
    rm -f stamp-link && ln mainline.db.checked stamp-link
}
stamp_kept() {
    test "$(stat -c %h mainline.db.checked)" = 2
}

test_body 'an unchanged registry is not checked again; one changed from outside is' <<\EOF
make_registry
keep_stamp                      # as `mainline run` left it
mainline status >/dev/null
mainline runs >/dev/null
mainline show main-seed-0 >/dev/null
sqlite3 mainline.db 'SELECT count(*) FROM metrics' >/dev/null   # reading changes nothing
mainline status >/dev/null
stamp_kept

sqlite3 mainline.db "CREATE TABLE scratch (x); DROP TABLE scratch"
mainline status >/dev/null
refute stamp_kept
# It was checked and found sound, metrics rows and all: SQLite 3.40.1's false
# NULL reports are not damage. Checked once, not again.
keep_stamp
mainline status >/dev/null
stamp_kept
EOF

test_done
