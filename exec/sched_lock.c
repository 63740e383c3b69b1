/*
 * sched_lock.c - the sweep's lock: one live `mainline run` per sweep version. The
 * registry keeps the holder (pid, process start time, host); a holder that died
 * is taken over, a live one is named in the refusal.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "sched_internal.h"

static int holder_alive(const struct reg_lock_holder *h)
{
    if (strcmp(h->host, proc_hostname()) != 0)
        return 1;   /* another machine: cannot look, so assume it is alive */
    return proc_alive((pid_t)h->pid, h->proc_start);
}

enum sched_status sched_lock_sweep(struct registry *reg, int64_t sweep, const char *name,
                                   struct strbuf *err)
{
    struct reg_lock_holder me = { .pid = getpid(), .proc_start = proc_start_time(getpid()) };
    snprintf(me.host, sizeof(me.host), "%s", proc_hostname());
    struct reg_lock_holder holder;
    enum reg_status st = reg_lock_take(reg, sweep, &me, holder_alive, &holder);
    if (st == REG_ERR_CONFLICT) {
        sb_addf(err, "sweep '%s' is already being run by pid %lld on %s; 'mainline status %s' "
                "shows its progress", name, (long long)holder.pid, holder.host, name);
        return SCHED_LOCKED;
    }
    if (st != REG_OK) {
        sb_addf(err, "cannot take the sweep lock: %s", reg_errmsg(reg));
        return SCHED_ERROR;
    }
    return SCHED_OK;
}

void sched_lock_release(struct registry *reg, int64_t sweep)
{
    if (sweep)
        reg_lock_drop(reg, sweep, getpid());
}

enum sched_status sched_lock_take(struct sched *s, struct strbuf *err)
{
    return sched_lock_sweep(s->reg, s->sw.rowid, s->sw.name, err);
}

void sched_lock_drop(struct sched *s)
{
    sched_lock_release(s->reg, s->sw.rowid);
}
