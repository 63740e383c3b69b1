/*
 * reg_internal.h - what the registry's own files share and nobody else includes
 * (the unit test excepted: it reaches the sqlite3 handle to check the pragmas).
 *
 * Error convention inside the registry: a helper that fails records a message in
 * reg->errmsg and returns the status, so callers only pass the status up.
 */
#ifndef MAINLINE_REG_INTERNAL_H
#define MAINLINE_REG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "error.h"
#include "registry.h"

#define REG_ERRMSG_MAX 1024
#define REG_BUSY_TIMEOUT_MS 5000
/* PRAGMA application_id of a mainline registry: "MLN1" read as a big-endian int. */
#define REG_APPLICATION_ID 0x4d4c4e31

struct registry {
    sqlite3 *db;
    char *path;
    char errmsg[REG_ERRMSG_MAX];   /* the last failure, "" before any */
};

/* ---- schema (reg_schema.c) ---- */

/* reg_migrations[i], a NULL-terminated list of SQL texts, takes user_version i to i + 1. */
extern const char *const *const reg_migrations[];
extern const int reg_n_migrations;

/* ---- errors and statements (registry.c) ---- */

/* Record a message and return st. */
enum reg_status reg_fail(struct registry *reg, enum reg_status st, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
/* Record "<what>: <sqlite message>" and return the status the SQLite error maps to. */
enum reg_status reg_sql_fail(struct registry *reg, const char *what);

enum reg_status reg_exec(struct registry *reg, const char *sql, const char *what);
enum reg_status reg_prepare(struct registry *reg, const char *sql, sqlite3_stmt **out);
/* Step a statement that returns no rows, then reset it for the next use. */
enum reg_status reg_step_done(struct registry *reg, sqlite3_stmt *st, const char *what);

/* BEGIN IMMEDIATE: take the write lock now, so a busy database fails here, not halfway. */
enum reg_status reg_begin(struct registry *reg);
/* COMMIT, or roll back when the commit itself fails. */
enum reg_status reg_commit(struct registry *reg);
/* Roll back if a transaction is open; keeps the message of the failure that led here. */
void reg_rollback(struct registry *reg);

/* The enum for a `state` column text, or -1. */
int reg_state_parse(const char *name);

/* Column text copied with xstrdup, or NULL for SQL NULL. */
char *reg_column_dup(sqlite3_stmt *st, int col);

/*
 * Binding by parameter name. The first failure is kept in `status` (with its
 * message in the registry) and later calls do nothing, so a caller binds every
 * value and checks once.
 */
struct reg_bind {
    struct registry *reg;
    sqlite3_stmt *st;
    enum reg_status status;
};

void reg_bind_start(struct reg_bind *b, struct registry *reg, sqlite3_stmt *st);
void reg_bind_text(struct reg_bind *b, const char *param, const char *value);  /* NULL: NULL */
void reg_bind_int64(struct reg_bind *b, const char *param, int64_t value);
void reg_bind_double(struct reg_bind *b, const char *param, double value);
void reg_bind_null(struct reg_bind *b, const char *param);
/* A row id, with 0 meaning "none" (NULL). */
void reg_bind_rowid(struct reg_bind *b, const char *param, int64_t rowid);

/* ---- reading rows (registry.c) ---- */

/* Called per row of a walk; nonzero stops the walk early (not an error). */
typedef int (*reg_row_fn)(sqlite3_stmt *st, void *ctx);

/* Step st (prepared and bound by the caller, who finalizes it) to its end, calling
 * fn on each row. An SQLite error is reported as "<what>: <message>". */
enum reg_status reg_for_each_row(struct registry *reg, sqlite3_stmt *st, const char *what,
                                 reg_row_fn fn, void *ctx);

/* Prepare sql, bind :sweep, walk its rows with fn, finalize: a query of one sweep. */
enum reg_status reg_walk_sweep(struct registry *reg, const char *sql, int64_t sweep,
                               const char *what, reg_row_fn fn, void *ctx);

/*
 * The row of the newest version of sweep `name`: sql selects from sweeps with a
 * :name parameter, newest first. REG_OK leaves *out on that row (the caller reads
 * its columns and finalizes it); otherwise *out is NULL and the status is
 * REG_ERR_NOT_FOUND ("no sweep named ...") or the SQL failure.
 */
enum reg_status reg_sweep_row(struct registry *reg, const char *sql, const char *name,
                              sqlite3_stmt **out);

#endif
