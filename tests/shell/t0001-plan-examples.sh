#!/bin/sh
# t0001: every example sweep in sweeps/ plans for real and answers sqlite3 queries.
. "$(dirname "$0")/lib.sh"

for f in "$TOP"/sweeps/*.yaml; do
    name=$(basename "$f")
    test_expect_success "plan $name records runs that sqlite3 can see" "
        mainline --registry reg.db plan '$f' >out &&
        grep -q '^recorded sweep' out &&
        n=\$(sqlite3 reg.db 'select count(*) from runs') &&
        test \"\$n\" -gt 0 &&
        m=\$(grep -c '^[a-z]' out) &&
        sqlite3 reg.db 'select count(*) from v_runs' >/dev/null
    "
done

test_done
