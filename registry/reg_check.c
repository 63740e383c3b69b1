/*
 * reg_check.c - the damage check when the registry opens: PRAGMA quick_check
 * whenever the registry's files changed since the last clean check, a stamp of
 * that check beside the registry, and the message that refuses a damaged
 * registry and says how to save what can still be read.
 *
 * What is checked when. Damage comes from outside SQLite: a disk or a file system
 * that loses or flips pages, a copy taken halfway through a write, a tool that
 * writes into the file. SQLite's own writes are transactional and crash-safe, so
 * what mainline itself commits is trusted. Hence:
 *
 *   - reg_open() describes the main file and its -wal (device, inode, size, mtime
 *     and ctime in nanoseconds) before SQLite touches them, and compares that with
 *     the stamp `<registry>.checked`. The same: no check. Different, or no stamp:
 *     PRAGMA quick_check, and a refusal (REG_ERR_DAMAGED) when it reports a
 *     problem; when it is clean and the open succeeds, the description becomes the
 *     new stamp. A new (missing or empty) registry has nothing to check.
 *   - reg_free() of a handle that committed a transaction, and whose open was
 *     clean, stamps the files again after closing (the WAL is checkpointed by
 *     then), so the next command does not check what this one wrote.
 *
 * What it does not catch: damage made while a mainline process that writes has
 * the registry open (it is stamped as this process's own writes at close); a
 * change that leaves inode, size, mtime and ctime all the same (within the file
 * system's timestamp granularity, a few milliseconds); damage that only
 * PRAGMA integrity_check finds (the contents of indexes), which a query that
 * reads there may meet as SQLITE_CORRUPT, or not at all. SQLITE_CORRUPT met at
 * any time is REG_ERR_DAMAGED too, with the same way out, and drops the stamp. A
 * stamp that cannot be written (a read-only directory) only means the check runs
 * at every open.
 *
 * Cost (2-core VM, page cache warm): quick_check reads every page and every row;
 * `mainline status` on an 88 MB registry of 2.4 million metrics rows takes
 * 0.9-1.3 s with it and 0.02-0.03 s when the stamp matches (two stat() calls
 * and one small read).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "reg_internal.h"
#include "strbuf.h"

#define STAMP_SUFFIX ".checked"
#define STAMP_HEADER "mainline registry: PRAGMA quick_check ok for these files\n"

/*
 * quick_check stops after N problems (100 unless given). SQLite 3.40.1 (Debian
 * 12) reports false problems for WITHOUT ROWID tables, two a metrics row (see
 * is_false_null_report), so with the default the check would stop inside
 * metrics and never look at the tables after it. No limit, in effect; the loop
 * below stops at the first real problem.
 */
#define QUICK_CHECK_SQL "PRAGMA quick_check(2147483647)"

/* ---- the files and the stamp ---- */

static char *path_with_suffix(const char *path, const char *suffix)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s%s", path, suffix);
    return sb_detach(&sb);
}

/* One line of a description: what stat() says of path, or that it is absent. */
static void describe_file(struct strbuf *out, const char *label, const char *path,
                          int *has_content)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        sb_addf(out, "%s absent\n", label);
        return;
    }
    sb_addf(out, "%s dev %ju ino %ju size %jd mtime %jd.%09ld ctime %jd.%09ld\n", label,
            (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino, (intmax_t)sb.st_size,
            (intmax_t)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (intmax_t)sb.st_ctim.tv_sec,
            sb.st_ctim.tv_nsec);
    if (sb.st_size > 0)
        *has_content = 1;
}

/* The files as they are now, in the stamp's words. Caller frees. *has_content:
 * whether the main file or its WAL holds a byte (else there is nothing to check). */
static char *describe_files(const char *path, int *has_content)
{
    struct strbuf out = STRBUF_INIT;
    char *wal = path_with_suffix(path, "-wal");
    *has_content = 0;
    sb_adds(&out, STAMP_HEADER);
    describe_file(&out, "main", path, has_content);
    describe_file(&out, "wal", wal, has_content);
    free(wal);
    return sb_detach(&out);
}

static int stamp_matches(const char *stamp_path, const char *files)
{
    char *data = NULL;
    size_t len = 0;
    struct strbuf err = STRBUF_INIT;
    int same = read_file(stamp_path, &data, &len, &err) == 0 && len == strlen(files) &&
               memcmp(data, files, len) == 0;
    free(data);
    sb_free(&err);
    return same;
}

/* A stamp that cannot be written only costs a check at the next open. */
static void write_stamp(const char *stamp_path, const char *files)
{
    struct strbuf err = STRBUF_INIT;
    write_file_atomic(stamp_path, files, strlen(files), &err);
    sb_free(&err);
}

/* ---- PRAGMA quick_check ---- */

/*
 * SQLite 3.40.1 (Debian 12) says "NULL value in metrics.step" and "NULL value in
 * metrics.name" for every row of metrics, a WITHOUT ROWID table whose primary key
 * lists its columns in another order than the table does, when nothing is wrong
 * (a fresh table of one row does it too; integrity_check says the first of the
 * two). The columns are NOT NULL and the rows read back whole. Such a line about
 * a WITHOUT ROWID table is not counted as damage; the schema stays as it is.
 */
static int is_false_null_report(const char *line, size_t len, const struct strbuf *wr_tables)
{
    static const char prefix[] = "NULL value in ";
    size_t plen = sizeof(prefix) - 1;
    if (len <= plen || strncmp(line, prefix, plen) != 0)
        return 0;
    const char *table = line + plen;
    const char *dot = memchr(table, '.', len - plen);
    if (!dot)
        return 0;
    size_t tlen = (size_t)(dot - table);
    /* wr_tables holds "\nname1\nname2\n". */
    for (const char *p = sb_str(wr_tables); (p = strchr(p, '\n')) && p[1]; p++) {
        if (strncmp(p + 1, table, tlen) == 0 && p[1 + tlen] == '\n')
            return 1;
    }
    return 0;
}

/* The names of the WITHOUT ROWID tables, as "\nname\n...". pragma_table_list came
 * with SQLite 3.37; an older one gets no filter. */
static enum reg_status without_rowid_tables(struct registry *reg, struct strbuf *out)
{
    sb_adds(out, "\n");
    if (sqlite3_libversion_number() < 3037000)
        return REG_OK;
    struct reg_stmt s;
    reg_stmt_start_once(&s, reg, "SELECT name FROM pragma_table_list WHERE wr = 1");
    while (reg_stmt_row(&s, "listing the tables"))
        sb_addf(out, "%s\n", (const char *)sqlite3_column_text(s.st, 0));
    return reg_stmt_end(&s);
}

/* The first line of text that reports a problem: not "ok", not the "*** in
 * database main ***" heading, not a false NULL report. Copied into *problem. */
static int first_problem(const char *text, const struct strbuf *wr_tables,
                         struct strbuf *problem)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        int heading = len > 3 && strncmp(line, "***", 3) == 0;
        int ok = len == 2 && strncmp(line, "ok", 2) == 0;
        if (len && !heading && !ok && !is_false_null_report(line, len, wr_tables)) {
            sb_add(problem, line, len);
            return 1;
        }
        line += len + (end ? 1 : 0);
    }
    return 0;
}

static enum reg_status quick_check(struct registry *reg)
{
    struct strbuf wr_tables = STRBUF_INIT, problem = STRBUF_INIT;
    enum reg_status st = without_rowid_tables(reg, &wr_tables);
    int found = 0;
    struct reg_stmt s;
    if (st == REG_OK)
        reg_stmt_start_once(&s, reg, QUICK_CHECK_SQL);
    while (st == REG_OK && !found && reg_stmt_row(&s, "checking the registry")) {
        const char *text = (const char *)sqlite3_column_text(s.st, 0);
        found = text && first_problem(text, &wr_tables, &problem);
    }
    if (st == REG_OK)
        st = reg_stmt_end(&s);
    if (found)
        st = reg_fail_damaged(reg, "PRAGMA quick_check: %s", problem.buf);
    sb_free(&wr_tables);
    sb_free(&problem);
    return st;
}

/* ---- at open and at close ---- */

void reg_describe_files(struct registry *reg)
{
    int has_content = 0;
    free(reg->files_at_open);
    reg->files_at_open = describe_files(reg->path, &has_content);
    reg->new_file = !has_content;
}

enum reg_status reg_check_damage(struct registry *reg)
{
    if (reg->new_file) {
        reg->verified = 1;   /* nothing there yet: what this process writes is its own */
        return REG_OK;
    }
    char *stamp = path_with_suffix(reg->path, STAMP_SUFFIX);
    int same = stamp_matches(stamp, reg->files_at_open);
    free(stamp);
    if (same) {
        reg->verified = 1;
        return REG_OK;
    }
    enum reg_status st = quick_check(reg);
    if (st == REG_OK) {
        reg->verified = 1;
        reg->stamp_after_open = 1;
    }
    return st;
}

void reg_stamp_after_open(struct registry *reg)
{
    if (!reg->stamp_after_open)
        return;
    char *stamp = path_with_suffix(reg->path, STAMP_SUFFIX);
    /* As described before the check: a change made since is checked next time. */
    write_stamp(stamp, reg->files_at_open);
    free(stamp);
}

void reg_stamp_after_close(const struct registry *reg)
{
    if (!reg->verified || !reg->committed)
        return;
    int has_content = 0;
    char *files = describe_files(reg->path, &has_content);
    char *stamp = path_with_suffix(reg->path, STAMP_SUFFIX);
    write_stamp(stamp, files);
    free(stamp);
    free(files);
}

/* ---- the refusal ---- */

/* s as one word for sh: as it is when it is plain, else in single quotes. */
static void add_shell_word(struct strbuf *sb, const char *s)
{
    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        "_-./+,:@%") == strlen(s)) {
        sb_adds(sb, s);
        return;
    }
    sb_add_shell_quoted(sb, s);
}

/* "<path without .db>-recovered.db", beside the registry. Caller frees. */
static char *recovered_path(const char *path)
{
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".db") == 0)
        len -= 3;
    struct strbuf sb = STRBUF_INIT;
    sb_add(&sb, path, len);
    sb_adds(&sb, "-recovered.db");
    return sb_detach(&sb);
}

/*
 * The way out, tried on Debian 12: its sqlite3 (3.40.1) is built without the
 * sqlite_dbpage table that .recover reads, and .recover fails on every database
 * with "SQL logic error"; .dump works there but ends a dump that met damage with
 * ROLLBACK, and leaves out user_version and application_id, without which
 * mainline takes the copy for somebody else's database.
 */
static void add_recovery_steps(struct strbuf *sb, const char *path, int version)
{
    char *out = recovered_path(path);
    struct strbuf p = STRBUF_INIT, o = STRBUF_INIT;
    add_shell_word(&p, path);
    add_shell_word(&o, out);
    sb_addf(sb, "Save what can still be read into a new registry, then use it "
                "(mainline --registry %s ...) or, with no mainline running, move it over %s:\n"
                "  sqlite3 %s .recover | sqlite3 %s", o.buf, p.buf, p.buf, o.buf);
    if (version >= 0)
        sb_addf(sb, "\nAn sqlite3 without .recover (Debian 12's fails with \"SQL logic error\") "
                    "can copy the rows that still read:\n"
                    "  sqlite3 %s .dump | sed '$s/^ROLLBACK; -- due to errors$/COMMIT;/' | "
                    "sqlite3 %s\n"
                    "  sqlite3 %s 'PRAGMA user_version = %d; PRAGMA application_id = %d'",
                p.buf, o.buf, o.buf, version, REG_APPLICATION_ID);
    sb_free(&p);
    sb_free(&o);
    free(out);
}

enum reg_status reg_fail_damaged(struct registry *reg, const char *fmt, ...)
{
    struct strbuf msg = STRBUF_INIT;
    va_list ap;
    sb_addf(&msg, "registry '%s' is damaged (", reg->path);
    va_start(ap, fmt);
    sb_vaddf(&msg, fmt, ap);
    va_end(ap);
    sb_addf(&msg, ")%s.\n", reg->opened ? "" : "; nothing was changed");
    add_recovery_steps(&msg, reg->path, reg->file_version);
    reg_fail(reg, REG_ERR_DAMAGED, "%s", msg.buf);
    sb_free(&msg);

    /* Whatever a stamp said, the next open checks again. */
    char *stamp = path_with_suffix(reg->path, STAMP_SUFFIX);
    unlink(stamp);
    free(stamp);
    reg->verified = 0;
    return REG_ERR_DAMAGED;
}
