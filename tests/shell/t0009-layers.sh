#!/bin/sh
# t0009-layers: the rooms point one way. A room's files include only headers of
# the rooms below it (the table here, the link lines in the Makefile and the
# README's "Layout" say the same), and the job programs link none of the
# orchestrator's libraries.
. "$(dirname "$0")/lib.sh"

# room: the rooms whose headers it may include (itself first).
allowed() {
    case $1 in
    common) echo "common" ;;
    protocol) echo "protocol common" ;;
    model) echo "model common" ;;
    data) echo "data model common" ;;
    trainer) echo "trainer protocol model common" ;;
    evaluator) echo "evaluator trainer protocol model common" ;;
    registry) echo "registry common" ;;
    reports) echo "reports registry protocol common" ;;
    sweep) echo "sweep registry data protocol model common" ;;
    exec) echo "exec sweep reports registry data protocol model common" ;;
    cli) echo "cli exec sweep reports registry data protocol model trainer evaluator common" ;;
    esac
}
ROOMS="common protocol model data trainer evaluator registry reports sweep exec cli"

# Every quoted include of every file of every room, as "room file header" lines,
# where header's room is where the file would find it: its own folder first, then
# the one room that has a header of that name.
include_rooms() {
    for room in $ROOMS; do
        for f in "$TOP/$room"/*.[ch]; do
            sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while read -r h; do
                if [ -f "$TOP/$room/$h" ]; then
                    echo "$room $room/${f##*/} $h $room"
                    continue
                fi
                owner=
                for r in $ROOMS; do
                    [ -f "$TOP/$r/$h" ] && owner="$owner$r "
                done
                echo "$room $room/${f##*/} $h ${owner:-none}"
            done
        done
    done
}

test_expect_success 'every room includes only headers of the rooms below it' '
    include_rooms >includes &&
    test "$(wc -l <includes)" -gt 300 &&
    while read -r room file h owner; do
        case " $(allowed "$room") " in
        *" $owner "*) ;;
        *) echo "$file includes \"$h\" of room $owner; $room may include: $(allowed "$room")"
        esac
    done <includes >violations &&
    must_be_empty violations
'

test_expect_success 'the check finds a lower room reaching up' '
    printf "%s\n" "common common/x.c sweep.h sweep" "model model/y.c registry.h registry" \
        >includes &&
    while read -r room file h owner; do
        case " $(allowed "$room") " in
        *" $owner "*) ;;
        *) echo "$file includes \"$h\""
        esac
    done <includes >violations &&
    test "$(wc -l <violations)" -eq 2
'

test_expect_success 'no header name is in two rooms (an include would depend on -iquote order)' '
    for r in $ROOMS; do ls "$TOP/$r" | grep "\.h\$"; done | sort | uniq -d >dups &&
    must_be_empty dups
'

test_expect_success 'library code never calls die() (only cli/ and the programs'"'"' mains)' '
    cd "$TOP" &&
    grep -n "\bdie(" common/*.c protocol/*.c model/*.c data/*.c trainer/*.c evaluator/*.c \
        registry/*.c reports/*.c sweep/*.c exec/*.c |
        grep -v "^common/error\.c:\|^trainer/main\.c:\|^evaluator/main\.c:\|^exec/supervise\.c:" \
        >"$SCRATCH/dies" || true &&
    must_be_empty "$SCRATCH/dies"
'

# exec/ prints nothing: the scheduler says things through the caller's struct
# sched_report (exec/scheduler.h) and cli/ prints them. Two places may: the
# supervisor's main (supervise.c, bin/mainline-supervise) and the local executor's
# forked child before exec (exec_child in executor_local.c), whose stderr is the
# job's own stderr.log. PRINT_CALLS matches printf, vprintf, puts, putchar, perror,
# error() and warning() (not sched_error() nor a member r->error()), and any
# f*() call that names stdout or stderr.
PRINT_CALLS='(^|[^A-Za-z0-9_>.])(printf|vprintf|puts|putchar|perror|error|warning)\(|f(printf|puts|putc|write)\(.*std(out|err)|vfprintf\('

# exec_prints FILE...: "file:line: text" for each printing call outside those places.
exec_prints() {
    for f in "$@"; do
        case ${f##*/} in
        supervise.c) continue ;;
        executor_local.c) sed '/^static void exec_child(/,/^}/s/.*//' "$f" ;;
        *) cat "$f" ;;
        esac | grep -nE "$PRINT_CALLS" | sed "s|^|${f#"$TOP"/}:|"
    done
}

test_expect_success 'exec/ prints nothing (but the supervisor and the forked child)' '
    exec_prints "$TOP"/exec/*.c "$TOP"/exec/*.h >prints &&
    must_be_empty prints
'

test_expect_success 'the print check finds printing calls and passes the allowed ones' '
    cat >lib.c <<\EOF &&
    printf("x\n");
    error("cannot %s", what);
    fputs("\033[1A", stdout);
    sched_error(s, "cannot %s", what);
    r->error(r->data, msg);
    snprintf(buf, sizeof(buf), "%s", x);
    regerror(rc, &re, msg, sizeof(msg));
EOF
    cat >executor_local.c <<\EOF &&
static void exec_child(void)
{
    fprintf(stderr, "mainline: cannot enter it\n");
}

static int local_submit(void)
{
    fprintf(stderr, "the parent may not\n");
}
EOF
    cp lib.c supervise.c &&
    exec_prints lib.c executor_local.c supervise.c >prints &&
    cat prints &&
    test "$(wc -l <prints)" -eq 4 &&
    grep -q "^executor_local.c:8:" prints
'

# The libraries only the orchestrator may link: a job program with any of them
# could reach the registry or the sweep loader.
ORCHESTRATOR_ONLY="libsqlite3 libyaml libgit2 libcurl libarchive"

needed() { readelf -d "$1" | sed -n "s/.*(NEEDED).*\[\(.*\)\]/\1/p"; }

for prog in mainline-train mainline-eval mainline-supervise; do
    test_expect_success "$prog links none of the orchestrator's libraries" "
        bin=\$(dirname \"\$MAINLINE\")/$prog &&
        needed \"\$bin\" >needed &&
        grep -q '^libc\\.so' needed &&
        for lib in \$ORCHESTRATOR_ONLY; do
            ! grep \"^\$lib[.-]\" needed || exit 1
        done
    "
done

test_expect_success 'mainline itself links them (the check above can see a library)' '
    needed "$MAINLINE" >needed &&
    grep -q "^libsqlite3\." needed &&
    grep -q "^libyaml" needed
'

test_done
