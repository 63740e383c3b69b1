/*
 * reg_stmt.c - the one way the registry runs a statement: start, bind by name,
 * step, end (struct reg_stmt in reg_internal.h). The first failure sticks, with
 * its message in the registry, so callers check once.
 *
 * Each SQL text is compiled once per registry handle and kept until reg_free():
 * a lookup by the text's hash among a few dozen kept statements replaces a
 * compilation that costs tens of thousands of instructions, more than running
 * most of them (bench/bench_overhead.c measures it).
 *
 * Nothing here prints or exits, and nothing here knows a table: the SQL is the
 * callers' (reg_read.c, reg_write.c, reg_exec.c, reg_results.c).
 */
#include <stdlib.h>
#include <string.h>

#include "reg_internal.h"

struct reg_cached {
    uint64_t hash;    /* of sql */
    char *sql;
    sqlite3_stmt *st;
    int in_use;       /* started and not yet ended */
};

/* ---- start and end ---- */

/* FNV-1a: the texts are short and few, and a hash match is confirmed by strcmp. */
static uint64_t sql_hash(const char *sql)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    return h;
}

static enum reg_status prepare(struct reg_stmt *s, struct registry *reg, const char *sql,
                               unsigned flags)
{
    s->reg = reg;
    s->status = REG_OK;
    s->slot = -1;
    if (sqlite3_prepare_v3(reg->db, sql, -1, flags, &s->st, NULL) != SQLITE_OK) {
        s->st = NULL;
        s->status = reg_sql_fail(reg, "preparing a statement");
    }
    return s->status;
}

enum reg_status reg_stmt_start_once(struct reg_stmt *s, struct registry *reg, const char *sql)
{
    return prepare(s, reg, sql, 0);
}

enum reg_status reg_stmt_start(struct reg_stmt *s, struct registry *reg, const char *sql)
{
    uint64_t h = sql_hash(sql);
    for (size_t i = 0; i < reg->n_stmts; i++) {
        struct reg_cached *c = &reg->stmts[i];
        if (c->hash != h || strcmp(c->sql, sql) != 0)
            continue;
        if (c->in_use)
            return prepare(s, reg, sql, 0);   /* nested: the kept one is busy */
        c->in_use = 1;
        s->reg = reg;
        s->st = c->st;
        s->status = REG_OK;
        s->slot = (long)i;
        return REG_OK;
    }
    if (prepare(s, reg, sql, SQLITE_PREPARE_PERSISTENT) != REG_OK)
        return s->status;
    reg->stmts = xgrow(reg->stmts, reg->n_stmts + 1, &reg->alloc_stmts, sizeof(*reg->stmts));
    reg->stmts[reg->n_stmts] = (struct reg_cached){ h, xstrdup(sql), s->st, 1 };
    s->slot = (long)reg->n_stmts++;
    return REG_OK;
}

enum reg_status reg_stmt_end(struct reg_stmt *s)
{
    if (s->slot < 0) {
        sqlite3_finalize(s->st);   /* NULL is a harmless no-op */
    } else {
        /* Reset ends the statement's read of the database; unbound values are NULL. */
        sqlite3_reset(s->st);
        sqlite3_clear_bindings(s->st);
        s->reg->stmts[s->slot].in_use = 0;
    }
    s->st = NULL;
    s->slot = -1;
    return s->status;
}

void reg_stmt_cache_free(struct registry *reg)
{
    for (size_t i = 0; i < reg->n_stmts; i++) {
        sqlite3_finalize(reg->stmts[i].st);
        free(reg->stmts[i].sql);
    }
    free(reg->stmts);
    reg->stmts = NULL;
    reg->n_stmts = reg->alloc_stmts = 0;
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
