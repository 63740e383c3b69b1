/*
 * reg_stmt.c - the one way the registry runs a statement: start, bind by name,
 * step, end (struct reg_stmt in reg_internal.h). The first failure sticks, with
 * its message in the registry, so callers check once.
 *
 * Nothing here prints or exits, and nothing here knows a table: the SQL is the
 * callers' (reg_read.c, reg_write.c, reg_exec.c, reg_results.c).
 */
#include <string.h>

#include "reg_internal.h"

/* ---- start and end ---- */

enum reg_status reg_stmt_start(struct reg_stmt *s, struct registry *reg, const char *sql)
{
    s->reg = reg;
    s->status = REG_OK;
    if (sqlite3_prepare_v2(reg->db, sql, -1, &s->st, NULL) != SQLITE_OK) {
        s->st = NULL;
        s->status = reg_sql_fail(reg, "preparing a statement");
    }
    return s->status;
}

enum reg_status reg_stmt_end(struct reg_stmt *s)
{
    sqlite3_finalize(s->st);   /* NULL is a harmless no-op */
    s->st = NULL;
    return s->status;
}

/* ---- binding ---- */

/* The index of a named parameter; a name the SQL lacks is a bug, reported as such. */
static int bind_index(struct reg_stmt *s, const char *param)
{
    if (s->status != REG_OK)
        return 0;
    int idx = sqlite3_bind_parameter_index(s->st, param);
    if (!idx)
        s->status = reg_fail(s->reg, REG_ERR_SQL, "internal error: no parameter %s", param);
    return idx;
}

static void bind_result(struct reg_stmt *s, const char *param, int rc)
{
    if (rc != SQLITE_OK)
        s->status = reg_fail(s->reg, REG_ERR_SQL, "binding %s: %s", param, sqlite3_errstr(rc));
}

void reg_bind_text(struct reg_stmt *s, const char *param, const char *value)
{
    int idx = bind_index(s, param);
    if (!idx)
        return;
    if (!value)
        bind_result(s, param, sqlite3_bind_null(s->st, idx));
    else
        bind_result(s, param, sqlite3_bind_text(s->st, idx, value, -1, SQLITE_STATIC));
}

void reg_bind_int64(struct reg_stmt *s, const char *param, int64_t value)
{
    int idx = bind_index(s, param);
    if (idx)
        bind_result(s, param, sqlite3_bind_int64(s->st, idx, value));
}

void reg_bind_double(struct reg_stmt *s, const char *param, double value)
{
    int idx = bind_index(s, param);
    if (idx)
        bind_result(s, param, sqlite3_bind_double(s->st, idx, value));
}

void reg_bind_null(struct reg_stmt *s, const char *param)
{
    int idx = bind_index(s, param);
    if (idx)
        bind_result(s, param, sqlite3_bind_null(s->st, idx));
}

void reg_bind_rowid(struct reg_stmt *s, const char *param, int64_t rowid)
{
    if (rowid)
        reg_bind_int64(s, param, rowid);
    else
        reg_bind_null(s, param);
}

/* ---- stepping ---- */

enum reg_status reg_stmt_run(struct reg_stmt *s, const char *what)
{
    if (s->status != REG_OK)
        return s->status;
    if (sqlite3_step(s->st) != SQLITE_DONE)
        s->status = reg_sql_fail(s->reg, what);
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    return s->status;
}

int reg_stmt_row(struct reg_stmt *s, const char *what)
{
    if (s->status != REG_OK)
        return 0;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        s->status = reg_sql_fail(s->reg, what);
    return 0;
}

enum reg_status reg_stmt_each(struct reg_stmt *s, const char *what, reg_row_fn fn, void *ctx)
{
    while (reg_stmt_row(s, what)) {
        if (fn(s->st, ctx))
            break;
    }
    return s->status;
}
