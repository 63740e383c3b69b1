/* test_slurm_acct.c - squeue's and sacct's text as exec/slurm_acct.c reads it: times,
 * sizes, squeue lines, sacct lines folded per job (lines as Slurm 22.05 printed them). */
#include <string.h>

#include "slurm_acct.h"
#include "testhelp.h"

static void test_elapsed(void)
{
    CHECK_INT(slurm_parse_elapsed("1-02:03:04"), 93784);
    CHECK_INT(slurm_parse_elapsed("00:00:05"), 5);
    CHECK_INT(slurm_parse_elapsed("0:05"), 5);           /* squeue %M: M:SS */
    CHECK_INT(slurm_parse_elapsed("12:34"), 754);
    CHECK_INT(slurm_parse_elapsed("1:02:03"), 3723);
    CHECK_INT(slurm_parse_elapsed("30"), 1800);          /* sbatch: a bare number is minutes */
    CHECK_INT(slurm_parse_elapsed("2-12"), 216000);      /* D-H */
    CHECK_INT(slurm_parse_elapsed("2-12:30"), 217800);   /* D-H:M */
    CHECK_INT(slurm_parse_elapsed("0:00"), 0);
    CHECK_INT(slurm_parse_elapsed(""), -1);
    CHECK_INT(slurm_parse_elapsed(NULL), -1);
    CHECK_INT(slurm_parse_elapsed("INVALID"), -1);
    CHECK_INT(slurm_parse_elapsed("UNLIMITED"), -1);
    CHECK_INT(slurm_parse_elapsed("1:2:3:4"), -1);
    CHECK_INT(slurm_parse_elapsed("1-"), -1);
    CHECK_INT(slurm_parse_elapsed("-1:00"), -1);
    CHECK_INT(slurm_parse_elapsed("1:0x"), -1);
}

static void test_size(void)
{
    CHECK_INT(slurm_parse_size("123456K"), 123456LL * 1024);
    CHECK_INT(slurm_parse_size("99041280"), 99041280);   /* --noconvert: bytes */
    CHECK_INT(slurm_parse_size("94.45M"), 99038003);     /* 94.45 * 1024^2, rounded */
    CHECK_INT(slurm_parse_size("2G"), 2LL << 30);
    CHECK_INT(slurm_parse_size("1t"), 1LL << 40);
    CHECK_INT(slurm_parse_size("0"), 0);
    CHECK_INT(slurm_parse_size(""), -1);
    CHECK_INT(slurm_parse_size(NULL), -1);
    CHECK_INT(slurm_parse_size("12KB"), -1);
    CHECK_INT(slurm_parse_size("12X"), -1);
    CHECK_INT(slurm_parse_size("K"), -1);
}

static void test_squeue_line(void)
{
    struct slurm_squeue_line q;
    CHECK_INT(slurm_squeue_parse("12|RUNNING|debug|vm|1-02:03:04|None", &q), 0);
    CHECK_INT(q.id, 12);
    CHECK_STR(q.state, "RUNNING");
    CHECK_STR(q.partition, "debug");
    CHECK_STR(q.nodes, "vm");
    CHECK_INT(q.elapsed_s, 93784);
    CHECK_STR(q.reason, "");
    CHECK_INT(slurm_squeue_parse("5|PENDING|debug||0:00|BadConstraints", &q), 0);
    CHECK_STR(q.nodes, "");
    CHECK_INT(q.elapsed_s, 0);
    CHECK_STR(q.reason, "BadConstraints");
    /* a reason may hold anything, '|' too: it is the last field */
    CHECK_INT(slurm_squeue_parse("7|FAILED|gpu,cpu|n[01-02]|0:02|a|b", &q), 0);
    CHECK_STR(q.partition, "gpu,cpu");
    CHECK_STR(q.nodes, "n[01-02]");
    CHECK_STR(q.reason, "a|b");
    /* the old three fields still read */
    CHECK_INT(slurm_squeue_parse("8|COMPLETED", &q), 0);
    CHECK_STR(q.state, "COMPLETED");
    CHECK_INT(q.elapsed_s, -1);
    CHECK_INT(slurm_squeue_parse("78_2|PENDING|debug||0:00|None", &q), -1);
    CHECK_INT(slurm_squeue_parse("x|RUNNING", &q), -1);
    CHECK_INT(slurm_squeue_parse("9||debug", &q), -1);
    CHECK_INT(slurm_squeue_parse("", &q), -1);
}

static void test_sacct_lines(void)
{
    struct slurm_acct a[3];
    slurm_acct_init(&a[0], 2);
    slurm_acct_init(&a[1], 5);
    slurm_acct_init(&a[2], 9);
    /* right after the end: the allocation's line lags its batch step's */
    CHECK_INT(slurm_acct_line("2|PENDING|0:0|00:00:01||vm|", a, 3), 1);
    CHECK_INT(slurm_acct_line("2.batch|FAILED|3:0|00:00:02||vm|", a, 3), 1);
    CHECK(!slurm_acct_settled(&a[0]));
    CHECK_INT(slurm_acct_line("2|FAILED|3:0|00:00:02||vm|debug", a, 3), 1);
    CHECK_INT(slurm_acct_line("2.batch|FAILED|3:0|00:00:02|99041280|vm|", a, 3), 1);
    CHECK_INT(slurm_acct_line("2.extern|COMPLETED|0:0|00:00:02|1024K|vm|", a, 3), 1);
    CHECK(slurm_acct_settled(&a[0]));
    CHECK_STR(a[0].state, "FAILED");
    CHECK_INT(a[0].exit_code, 3);
    CHECK_INT(a[0].exit_signal, 0);
    CHECK_INT(a[0].elapsed_s, 2);
    CHECK_INT(a[0].max_rss, 99041280);   /* the highest of the steps' */
    CHECK_STR(a[0].nodes, "vm");
    CHECK_STR(a[0].partition, "debug");
    /* cancelled before it ran: no step, no node; settled all the same */
    CHECK_INT(slurm_acct_line("5|CANCELLED by 0|0:0|00:00:00||None assigned|debug", a, 3), 1);
    CHECK(slurm_acct_settled(&a[1]));
    CHECK_STR(a[1].state, "CANCELLED");
    CHECK_STR(a[1].nodes, "");
    CHECK_INT(a[1].max_rss, -1);
    /* killed by a signal */
    CHECK_INT(slurm_acct_line("9|FAILED|0:11|1-00:00:00||vm|debug", a, 3), 1);
    CHECK_INT(a[2].exit_signal, 11);
    CHECK_INT(a[2].elapsed_s, 86400);
    CHECK(!slurm_acct_settled(&a[2]));   /* its batch step is not in yet */
    CHECK_INT(a[2].max_rss, -1);
    /* another job's line, and lines that are not sacct's */
    CHECK_INT(slurm_acct_line("4|COMPLETED|0:0|00:00:01||vm|debug", a, 3), 0);
    CHECK_INT(slurm_acct_line("Slurm accounting storage is disabled", a, 3), -1);
    CHECK_INT(slurm_acct_line("2x|FAILED|3:0|00:00:02||vm|debug", a, 3), -1);
    CHECK_INT(slurm_acct_line("2|FAILED|3:0", a, 3), -1);
}

static void test_states(void)
{
    CHECK(slurm_state_ended("COMPLETED"));
    CHECK(slurm_state_ended("OUT_OF_MEMORY"));
    CHECK(slurm_state_ended("NODE_FAIL"));
    CHECK(!slurm_state_ended("RUNNING"));
    CHECK(!slurm_state_ended("COMPLETING"));
    CHECK(!slurm_state_ended("PENDING"));
    CHECK(!slurm_state_ended(""));
}

int main(void)
{
    TEST(test_elapsed);
    TEST(test_size);
    TEST(test_squeue_line);
    TEST(test_sacct_lines);
    TEST(test_states);
    return test_report();
}
