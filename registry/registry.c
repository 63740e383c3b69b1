/*
 * registry.c - opening, migrating and closing the registry, and the error,
 * transaction and row-reading helpers the other reg_*.c files share.
 *
 * Nothing here prints or exits (see registry.h); reading and writing rows lives in
 * reg_read.c and reg_write.c, the schema in reg_schema.c, statements in reg_stmt.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reg_internal.h"

/* ---- names ---- */

const char *reg_strerror(enum reg_status st)
{
    switch (st) {
    case REG_OK:               return "success";
    case REG_ERR_OPEN:         return "cannot open the registry";
    case REG_ERR_MISSING:      return "no registry at that path";
    case REG_ERR_SQL:          return "database error";
    case REG_ERR_NEWER_SCHEMA: return "registry written by a newer mainline";
    case REG_ERR_NOT_FOUND:    return "not found";
    case REG_ERR_CONFLICT:     return "already exists";
    case REG_ERR_INVALID:      return "invalid argument";
    case REG_ERR_AMBIGUOUS:    return "ambiguous run id";
    case REG_ERR_BUSY:         return "registry busy";
    case REG_ERR_FULL:         return "registry disk full";
    case REG_ERR_DAMAGED:      return "damaged registry";
    }
    return "unknown registry status";
}

int reg_status_transient(enum reg_status st)
{
    return st == REG_ERR_BUSY || st == REG_ERR_FULL;
}

static const char *const state_names[RUN_STATE_COUNT] = {
    [RUN_WAITING] = "waiting",
    [RUN_PLANNED] = "planned",
    [RUN_RUNNING] = "running",
    [RUN_DONE] = "done",
    [RUN_FAILED] = "failed",
    [RUN_CANCELLED] = "cancelled",
};

const char *reg_state_name(enum reg_run_state s)
{
    if ((int)s < 0 || s >= RUN_STATE_COUNT)
        return "invalid";
    return state_names[s];
}

int reg_state_parse(const char *name)
{
    for (int i = 0; i < RUN_STATE_COUNT; i++) {
        if (name && strcmp(name, state_names[i]) == 0)
            return i;
    }
    return -1;
}

/* ---- errors ---- */

enum reg_status reg_fail(struct registry *reg, enum reg_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reg->errmsg, sizeof(reg->errmsg), fmt, ap);
    va_end(ap);
    return st;
}

/* Constraint failures are the caller's doing, so they get the caller-facing statuses;
 * a damaged file gets its own, whichever statement met the damage. */
static enum reg_status status_of_sqlite(int ext_code)
{
    if ((ext_code & 0xff) == SQLITE_CORRUPT)
        return REG_ERR_DAMAGED;
    switch (ext_code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return REG_ERR_CONFLICT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return REG_ERR_NOT_FOUND;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        return REG_ERR_INVALID;
    }
    switch (ext_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return REG_ERR_BUSY;
    case SQLITE_FULL:
        return REG_ERR_FULL;
    }
    return REG_ERR_SQL;
}

enum reg_status reg_sql_fail(struct registry *reg, const char *what)
{
    enum reg_status st = status_of_sqlite(sqlite3_extended_errcode(reg->db));
    if (st == REG_ERR_DAMAGED)
        return reg_fail_damaged(reg, "%s: %s", what, sqlite3_errmsg(reg->db));
    return reg_fail(reg, st, "%s: %s", what, sqlite3_errmsg(reg->db));
}

const char *reg_errmsg(const struct registry *reg)
{
    return reg ? reg->errmsg : "no registry";
}

/* ---- SQL text and columns ---- */

enum reg_status reg_exec(struct registry *reg, const char *sql, const char *what)
{
    if (sqlite3_exec(reg->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return reg_sql_fail(reg, what);
    return REG_OK;
}

char *reg_column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? xstrdup((const char *)s) : NULL;
}

/* ---- reading rows ---- */

enum reg_status reg_walk_sweep(struct registry *reg, const char *sql, int64_t sweep,
                               const char *what, reg_row_fn fn, void *ctx)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql);
    reg_bind_int64(&s, ":sweep", sweep);
    reg_stmt_each(&s, what, fn, ctx);
    return reg_stmt_end(&s);
}

enum reg_status reg_sweep_row(struct registry *reg, const char *sql, const char *name,
                              struct reg_stmt *s)
{
    reg_stmt_start(s, reg, sql);
    reg_bind_text(s, ":name", name);
    if (reg_stmt_row(s, "reading a sweep"))
        return REG_OK;
    if (s->status == REG_OK)
        s->status = reg_fail(reg, REG_ERR_NOT_FOUND, "no sweep named '%s'", name);
    return reg_stmt_end(s);
}

/* ---- transactions ---- */

/* One statement without parameters, through the kept statements: BEGIN, COMMIT. */
static enum reg_status run_kept(struct registry *reg, const char *sql, const char *what)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql);
    reg_stmt_run(&s, what);
    return reg_stmt_end(&s);
}

enum reg_status reg_begin(struct registry *reg)
{
    return run_kept(reg, "BEGIN IMMEDIATE", "starting a transaction");
}

enum reg_status reg_commit(struct registry *reg)
{
    enum reg_status st = run_kept(reg, "COMMIT", "committing");
    if (st != REG_OK)
        reg_rollback(reg);
    else
        reg->committed = 1;
    return st;
}

void reg_rollback(struct registry *reg)
{
    if (!sqlite3_get_autocommit(reg->db))
        sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- schema version and migration ---- */

static enum reg_status pragma_int(struct registry *reg, const char *sql, int *out)
{
    struct reg_stmt s;
    if (reg_stmt_start(&s, reg, sql) != REG_OK)
        return s.status;
    if (reg_stmt_row(&s, sql))
        *out = sqlite3_column_int(s.st, 0);
    else if (s.status == REG_OK)
        s.status = reg_sql_fail(reg, sql);
    return reg_stmt_end(&s);
}

int reg_schema_version(struct registry *reg)
{
    int v = -1;
    if (!reg || pragma_int(reg, "PRAGMA user_version", &v) != REG_OK)
        return -1;
    return v;
}

/*
 * A version-0 database must be empty (a new file): migrating would otherwise write
 * mainline's tables into somebody else's database given by mistake.
 */
static enum reg_status check_ours(struct registry *reg, int version)
{
    int app_id = 0, n_objects = 0;
    enum reg_status st = pragma_int(reg, "PRAGMA application_id", &app_id);
    if (st != REG_OK)
        return st;
    if (app_id != 0 && app_id != REG_APPLICATION_ID)
        return reg_fail(reg, REG_ERR_OPEN, "not a mainline registry (application_id %d)",
                        app_id);
    if (version > 0)
        return REG_OK;
    st = pragma_int(reg, "SELECT count(*) FROM sqlite_master", &n_objects);
    if (st == REG_OK && n_objects > 0)
        return reg_fail(reg, REG_ERR_OPEN, "not a mainline registry (tables but no version)");
    return st;
}

static enum reg_status check_version(struct registry *reg, int version)
{
    if (version > REG_SCHEMA_VERSION)
        return reg_fail(reg, REG_ERR_NEWER_SCHEMA,
                        "schema version %d is newer than this mainline's (%d); upgrade mainline",
                        version, REG_SCHEMA_VERSION);
    if (version < 0)
        return reg_fail(reg, REG_ERR_OPEN, "not a mainline registry (schema version %d)",
                        version);
    return REG_OK;
}

static enum reg_status run_step(struct registry *reg, int to)
{
    char what[64];
    snprintf(what, sizeof(what), "migrating to schema version %d", to);
    for (const char *const *sql = reg_migrations[to - 1]; *sql; sql++) {
        enum reg_status st = reg_exec(reg, *sql, what);
        if (st != REG_OK)
            return st;
    }
    /* Only integers from this file are formatted into these pragmas. */
    char pragma[96];
    snprintf(pragma, sizeof(pragma), "PRAGMA application_id = %d; PRAGMA user_version = %d",
             REG_APPLICATION_ID, to);
    return reg_exec(reg, pragma, what);
}

static enum reg_status migrate_locked(struct registry *reg)
{
    int version = 0;
    enum reg_status st = pragma_int(reg, "PRAGMA user_version", &version);
    if (st != REG_OK)
        return st;
    st = check_version(reg, version);
    if (st == REG_OK)
        st = check_ours(reg, version);
    for (int v = version; st == REG_OK && v < REG_SCHEMA_VERSION; v++)
        st = run_step(reg, v + 1);
    return st;
}

/* Errors that mean "this file cannot be our database", whatever the SQL was. */
static enum reg_status open_status(struct registry *reg, enum reg_status st)
{
    if (st != REG_ERR_SQL)
        return st;
    switch (sqlite3_errcode(reg->db)) {
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_IOERR:
        return REG_ERR_OPEN;
    }
    return st;
}

/*
 * The common case, a current schema, is decided without the write lock so that
 * `mainline status` does not queue behind a running orchestrator. Otherwise the
 * version is read again under BEGIN IMMEDIATE: another process may have migrated.
 */
static enum reg_status migrate(struct registry *reg)
{
    int version = 0;
    enum reg_status st = pragma_int(reg, "PRAGMA user_version", &version);
    if (st == REG_OK)
        st = check_version(reg, version);
    if (st == REG_OK && version == REG_SCHEMA_VERSION)
        return check_ours(reg, version);
    if (st == REG_OK)
        st = reg_begin(reg);
    if (st != REG_OK)
        return open_status(reg, st);
    st = migrate_locked(reg);
    if (st == REG_OK)
        return reg_commit(reg);
    st = open_status(reg, st);   /* before the rollback resets the SQLite error code */
    reg_rollback(reg);
    return st;
}

/* ---- open and close ---- */

static enum reg_status configure(struct registry *reg)
{
    enum reg_status st = reg_exec(reg, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    if (st == REG_OK)
        st = reg_exec(reg, "PRAGMA journal_mode = WAL", "switching to WAL mode");
    /* In WAL mode NORMAL never corrupts the database; a power cut may lose the
     * last commits, which the next `mainline run` reconciles like any crash. */
    if (st == REG_OK)
        st = reg_exec(reg, "PRAGMA synchronous = NORMAL", "setting synchronous");

    return st;
}

static enum reg_status open_db(struct registry *reg, enum reg_open_mode mode)
{
    /* One connection, one thread: SQLite's per-call mutexes buy nothing here. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (mode == REG_OPEN_CREATE)
        flags |= SQLITE_OPEN_CREATE;
    reg_describe_files(reg);   /* before SQLite makes a -wal or writes anything */
    if (sqlite3_open_v2(reg->path, &reg->db, flags, NULL) != SQLITE_OK) {
        if (!reg->db)
            return reg_fail(reg, REG_ERR_OPEN, "out of memory");
        return reg_fail(reg, REG_ERR_OPEN, "%s", sqlite3_errmsg(reg->db));
    }
    sqlite3_busy_timeout(reg->db, REG_BUSY_TIMEOUT_MS);
    /* The version first: a file that is not a database fails here as one. Then the
     * damage check, before configure() and migrate() may write. */
    enum reg_status st = pragma_int(reg, "PRAGMA user_version", &reg->file_version);
    if (st == REG_OK)
        st = reg_check_damage(reg);
    if (st == REG_OK)
        st = configure(reg);
    if (st != REG_OK)
        return open_status(reg, st);
    return migrate(reg);
}

/* REG_OPEN_EXISTING looks before it opens: SQLite must not create the file. */
static enum reg_status check_exists(struct registry *reg)
{
    struct stat sb;
    if (stat(reg->path, &sb) == 0)
        return REG_OK;
    if (errno == ENOENT || errno == ENOTDIR)
        return reg_fail(reg, REG_ERR_MISSING, "no such file (run `mainline plan` first)");
    return reg_fail(reg, REG_ERR_OPEN, "%s", strerror(errno));
}

enum reg_status reg_open(const char *path, enum reg_open_mode mode, struct registry **out,
                         char *errbuf, size_t errlen)
{
    if (!out)
        return REG_ERR_INVALID;
    *out = NULL;
    if (!path || !*path || (mode != REG_OPEN_EXISTING && mode != REG_OPEN_CREATE)) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "reg_open: no path or a bad mode");
        return REG_ERR_INVALID;
    }
    struct registry *reg = xcalloc(1, sizeof(*reg));
    reg->path = xstrdup(path);
    reg->file_version = -1;
    enum reg_status st = REG_OK;
    if (mode == REG_OPEN_EXISTING)
        st = check_exists(reg);
    if (st == REG_OK)
        st = open_db(reg, mode);
    if (st != REG_OK) {
        /* The refusal of a damaged registry names the path itself. */
        if (errbuf && errlen && st == REG_ERR_DAMAGED)
            snprintf(errbuf, errlen, "%s", reg->errmsg);
        else if (errbuf && errlen)
            snprintf(errbuf, errlen, "registry '%s': %s", path, reg->errmsg);
        reg_free(reg);
        return st;
    }
    reg->opened = 1;
    reg_stamp_after_open(reg);
    *out = reg;
    return REG_OK;
}

void reg_free(struct registry *reg)
{
    if (!reg)
        return;
    reg_stmt_cache_free(reg);
    sqlite3_close_v2(reg->db);   /* a NULL handle is a harmless no-op */
    reg_stamp_after_close(reg);  /* after the close: the last one checkpoints the WAL */
    free(reg->files_at_open);
    free(reg->path);
    free(reg);
}
