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

#define REG_ERRMSG_MAX 4096   /* a refusal of a damaged registry names its path six times */
#define REG_BUSY_TIMEOUT_MS 5000
/* PRAGMA application_id of a mainline registry: "MLN1" read as a big-endian int. */
#define REG_APPLICATION_ID 0x4d4c4e31

struct reg_cached;   /* a statement kept for the handle's life (reg_stmt.c) */

struct registry {
    sqlite3 *db;
    char *path;
    char errmsg[REG_ERRMSG_MAX];   /* the last failure, "" before any */
    struct reg_cached *stmts;      /* prepared once each, finalized by reg_free() */
    size_t n_stmts, alloc_stmts;

    /* The damage check (reg_check.c). */
    char *files_at_open;    /* the main file and its WAL before SQLite opened them */
    int new_file;           /* neither held a byte: nothing to check */
    int file_version;       /* user_version as opened, -1 before it is read */
    int verified;           /* quick_check passed, the stamp matched, or a new file */
    int stamp_after_open;   /* quick_check ran and passed: stamp once the open succeeds */
    int committed;          /* this handle committed a transaction */
    int opened;             /* reg_open() succeeded: a refusal can no longer say that
                               nothing was changed */
};

/* ---- schema (reg_schema.c) ---- */

/* reg_migrations[i], a NULL-terminated list of SQL texts, takes user_version i to i + 1. */
extern const char *const *const reg_migrations[];
extern const int reg_n_migrations;

/* ---- the damage check (reg_check.c) ---- */

/* Describe the registry's files into files_at_open, before SQLite opens them. */
void reg_describe_files(struct registry *reg);
/* PRAGMA quick_check unless the stamp matches files_at_open (or the file is new):
 * REG_OK, REG_ERR_DAMAGED with the refusal in errmsg, or how the check failed. */
enum reg_status reg_check_damage(struct registry *reg);
/* Write the stamp when reg_check_damage() ran the check and it passed; call once
 * the open has succeeded (a file that is not a registry gets no stamp). */
void reg_stamp_after_open(struct registry *reg);
/* After sqlite3_close: stamp the files again if this handle committed and its
 * open was clean (its own writes are trusted; see reg_check.c). */
void reg_stamp_after_close(const struct registry *reg);
/* Record the refusal of a damaged registry: "registry 'P' is damaged (<fmt>)",
 * whether anything was changed, and the commands that save what can still be
 * read; drop the stamp. Returns REG_ERR_DAMAGED. */
enum reg_status reg_fail_damaged(struct registry *reg, const char *fmt, ...)
    ATTR_PRINTF(2, 3);

/* ---- errors and transactions (registry.c) ---- */

/* Record a message and return st. */
enum reg_status reg_fail(struct registry *reg, enum reg_status st, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
/* Record "<what>: <sqlite message>" and return the status the SQLite error maps to. */
enum reg_status reg_sql_fail(struct registry *reg, const char *what);

/* Run SQL text (several statements allowed) without a result: migrations, pragmas. */
enum reg_status reg_exec(struct registry *reg, const char *sql, const char *what);

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

/* ---- statements (reg_stmt.c) ---- */

/*
 * One use of one SQL statement, in four steps:
 *
 *     struct reg_stmt s;
 *     reg_stmt_start(&s, reg, "UPDATE runs SET state = :state WHERE id = :run");
 *     reg_bind_text(&s, ":state", "done");
 *     reg_bind_int64(&s, ":run", run);
 *     reg_stmt_run(&s, "finishing a run");      (or: while (reg_stmt_row(&s, ...)))
 *     return reg_stmt_end(&s);
 *
 * The first failure (preparing, binding, stepping) is kept in `status`, with its
 * message in the registry, and every later call but reg_stmt_end() does nothing:
 * a caller makes every call and checks the status once. Parameters are named
 * (":run"); one the SQL lacks is reported as an internal error. A parameter not
 * bound is NULL. Column values read from `st` are valid until the next step or
 * reg_stmt_end(). Every start is paired with one reg_stmt_end().
 *
 * reg_stmt_start() uses the handle's own prepared statement for that SQL text:
 * compiled on its first use (SQLITE_PREPARE_PERSISTENT), reset with its bindings
 * cleared by every reg_stmt_end(), finalized by reg_free(). Compiling costs more
 * than running the one-row statements `mainline run` issues per run. A text
 * already started and not yet ended (a walk whose callback runs the same query)
 * gets a statement of its own. SQL assembled at run time in unboundedly many
 * forms (reg_query_runs' filters) goes through reg_stmt_start_once(), so the
 * cache holds a fixed set of texts (a few dozen).
 */
struct reg_stmt {
    struct registry *reg;
    sqlite3_stmt *st;        /* NULL when it could not be prepared */
    enum reg_status status;
    long slot;               /* index in reg->stmts, or -1: finalized by the end */
};

/* Start the handle's statement for sql, a single statement; returns the status. */
enum reg_status reg_stmt_start(struct reg_stmt *s, struct registry *reg, const char *sql);
/* Start a statement of its own for sql, finalized by reg_stmt_end(). */
enum reg_status reg_stmt_start_once(struct reg_stmt *s, struct registry *reg, const char *sql);
/* Reset and hand back, or finalize, the statement; accepts a start that failed.
 * Returns the status. */
enum reg_status reg_stmt_end(struct reg_stmt *s);
/* Finalize every kept statement of the handle (reg_free). */
void reg_stmt_cache_free(struct registry *reg);

void reg_bind_text(struct reg_stmt *s, const char *param, const char *value);  /* NULL: NULL */
void reg_bind_int64(struct reg_stmt *s, const char *param, int64_t value);
void reg_bind_double(struct reg_stmt *s, const char *param, double value);
void reg_bind_null(struct reg_stmt *s, const char *param);
/* A row id, with 0 meaning "none" (NULL). */
void reg_bind_rowid(struct reg_stmt *s, const char *param, int64_t rowid);

/* Step a statement that returns no rows, then reset it and clear its bindings for
 * the next row's values. An SQLite error is reported as "<what>: <message>". */
enum reg_status reg_stmt_run(struct reg_stmt *s, const char *what);
/* Step to the next row: 1 on a row; 0 at the end, or on a failure (then in status). */
int reg_stmt_row(struct reg_stmt *s, const char *what);

/* Called per row of a walk; nonzero stops the walk early (not an error). */
typedef int (*reg_row_fn)(sqlite3_stmt *st, void *ctx);

/* Step to the end, calling fn on each row; returns the status. */
enum reg_status reg_stmt_each(struct reg_stmt *s, const char *what, reg_row_fn fn, void *ctx);

/* ---- reading rows (registry.c) ---- */

/* Walk the rows of sql, a query of one sweep (:sweep), with fn. */
enum reg_status reg_walk_sweep(struct registry *reg, const char *sql, int64_t sweep,
                               const char *what, reg_row_fn fn, void *ctx);

/*
 * The row of the newest version of sweep `name`: sql selects from sweeps with a
 * :name parameter, newest first. REG_OK leaves *s on that row (the caller reads
 * its columns and calls reg_stmt_end); otherwise *s is ended and the status is
 * REG_ERR_NOT_FOUND ("no sweep named ...") or the SQL failure.
 */
enum reg_status reg_sweep_row(struct registry *reg, const char *sql, const char *name,
                              struct reg_stmt *s);

#endif
