/*
 * picks.c - stage picks: when every run a pick looks at is done, apply the
 * frozen rule (min(val_nll), max(metric)), record the choice with its inputs in
 * `selections`, and turn the waiting runs that needed it into planned ones.
 *
 * A pick is made per group: the runs of the source stage that agree with the
 * waiting run on every `per` parameter (e.g. the same condition). Ties go to the
 * run planned first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon_json.h"
#include "sched_internal.h"

enum pick_state { PICK_READY, PICK_WAIT, PICK_BLOCKED };

struct pick_result {
    enum pick_state state;
    char reason[512];
    json_t *value;            /* borrowed from the chosen run's params */
    size_t chosen;
    json_t *inputs;           /* [{run, value, metric, step}] (owned) */
    char scope[512];
};

static int same_group(const json_t *a, const json_t *b, const struct sweep_pick *pick)
{
    for (size_t i = 0; i < pick->n_per; i++)
        if (!json_equal(json_object_get(a, pick->per[i]), json_object_get(b, pick->per[i])))
            return 0;
    return 1;
}

static void scope_text(const struct sweep_stage *src, const json_t *params, char *buf,
                       size_t len)
{
    int n = snprintf(buf, len, "%s.%s", src->name, src->pick->param);
    for (size_t i = 0; i < src->pick->n_per && n > 0 && (size_t)n < len; i++) {
        char *v = param_value_text(json_object_get(params, src->pick->per[i]));
        n += snprintf(buf + n, len - (size_t)n, "%s%s=%s", i ? "," : " per ",
                      src->pick->per[i], v);
        free(v);
    }
}

/* Can `param`, pending from stage `from`, be picked for a run with `params`? */
static void evaluate(const struct sched *s, const json_t *params, const char *param,
                     const char *from, struct pick_result *pr, json_t **cand_params)
{
    memset(pr, 0, sizeof(*pr));
    const struct sweep_stage *src = sweep_find_stage(&s->spec, from);
    const struct sweep_pick *pick = src ? src->pick : NULL;
    if (!pick) {
        pr->state = PICK_BLOCKED;
        snprintf(pr->reason, sizeof(pr->reason), "stage '%s' picks nothing", from);
        return;
    }
    scope_text(src, params, pr->scope, sizeof(pr->scope));
    int maximize = !strncmp(pick->by, "max(", 4);
    char metric[64];
    snprintf(metric, sizeof(metric), "%.*s", (int)strlen(pick->by) - 5, pick->by + 4);
    double best = 0;
    int have = 0, total = 0, done = 0;
    pr->inputs = json_array();
    for (size_t i = 0; i < s->n_runs; i++) {
        const struct reg_exec_run *r = &s->runs[i];
        if (strcmp(r->stage, from) != 0 || !same_group(cand_params[i], params, pick))
            continue;
        total++;
        if (r->state == RUN_FAILED && pr->state != PICK_BLOCKED) {
            pr->state = PICK_BLOCKED;
            snprintf(pr->reason, sizeof(pr->reason), "run %s of stage %s failed (%s); "
                     "'mainline run --retry-failed' tries it again", r->run_id, from,
                     r->fail_reason ? r->fail_reason : "no reason recorded");
        }
        if (r->state != RUN_DONE)
            continue;
        done++;
        double v;
        int64_t step;
        int found;
        reg_run_best_metric(s->reg, r->rowid, metric, maximize, &v, &step, &found);
        if (!found) {
            pr->state = PICK_BLOCKED;
            snprintf(pr->reason, sizeof(pr->reason), "run %s of stage %s logged no %s",
                     r->run_id, from, metric);
            continue;
        }
        json_t *value = json_object_get(cand_params[i], param);
        json_array_append_new(pr->inputs, json_pack("{s:s,s:O,s:f,s:I}", "run", r->run_id,
                                                    param, value ? value : json_null(),
                                                    metric, v, "step", (json_int_t)step));
        if (!have || (maximize ? v > best : v < best)) {
            best = v;
            have = 1;
            pr->value = value;
            pr->chosen = i;
        }
    }
    if (pr->state == PICK_BLOCKED)
        return;
    if (total == 0 || done < total || !pr->value) {
        pr->state = PICK_WAIT;
        snprintf(pr->reason, sizeof(pr->reason), "stage %s has %d of %d runs done",
                 from, done, total);
        return;
    }
    pr->state = PICK_READY;
}

static json_t **parse_all_params(const struct sched *s)
{
    json_t **p = xcalloc(s->n_runs + 1, sizeof(*p));
    for (size_t i = 0; i < s->n_runs; i++)
        p[i] = json_loads(s->runs[i].params_json, 0, NULL);
    return p;
}

static void free_all_params(const struct sched *s, json_t **p)
{
    for (size_t i = 0; i < s->n_runs; i++)
        json_decref(p[i]);
    free(p);
}

static int record_pick(struct sched *s, const char *param, const char *from,
                       struct pick_result *pr)
{
    int exists = reg_selection_exists(s->reg, s->sw.rowid, "pick", pr->scope);
    if (exists != 0)
        return exists < 0 ? -1 : 0;
    const struct sweep_stage *src = sweep_find_stage(&s->spec, from);
    json_t *choice = json_pack("{s:O,s:s}", param, pr->value,
                               "run", s->runs[pr->chosen].run_id);
    char *inputs = json_canon(pr->inputs), *ch = json_canon(choice);
    enum reg_status st = reg_record_selection(s->reg, s->sw.rowid, "pick", pr->scope,
                                              src->pick->by, s->sw.contract_sha256, inputs, ch);
    char *v = param_value_text(pr->value);
    sched_note(s, "pick   %s = %s (%s by %s)", pr->scope, v, s->runs[pr->chosen].run_id,
               src->pick->by);
    free(v);
    free(inputs);
    free(ch);
    json_decref(choice);
    if (st != REG_OK) {
        sched_error(s, "cannot record a pick: %s", reg_errmsg(s->reg));
        return -1;
    }
    return 0;
}

static int reg_release_run(struct sched *s, struct reg_exec_run *r, const char *params)
{
    if (reg_run_free(s->reg, r->rowid, params) != REG_OK) {
        sched_error(s, "cannot release %s: %s", r->run_id, reg_errmsg(s->reg));
        return -1;
    }
    r->state = RUN_PLANNED;
    free(r->params_json);
    r->params_json = xstrdup(params);
    free(r->pending_json);
    r->pending_json = NULL;
    return 0;
}

/* Try to release waiting run i: 1 released, 0 still waiting, -1 registry error. */
static int try_release(struct sched *s, size_t i, json_t **all)
{
    struct reg_exec_run *r = &s->runs[i];
    json_t *pending = json_loads(r->pending_json ? r->pending_json : "{}", 0, NULL);
    json_t *params = json_deep_copy(all[i]);
    const char *param;
    json_t *from;
    int ready = 1;
    json_object_foreach(pending, param, from) {
        struct pick_result pr;
        evaluate(s, all[i], param, json_string_value(from), &pr, all);
        if (pr.state == PICK_READY && record_pick(s, param, json_string_value(from), &pr) < 0)
            ready = -1;
        if (pr.state == PICK_READY)
            json_object_set(params, param, pr.value);
        else if (ready > 0)
            ready = 0;
        json_decref(pr.inputs);
    }
    if (ready > 0) {
        char *text = json_canon(params);
        if (reg_release_run(s, r, text) < 0)
            ready = -1;
        free(text);
    }
    json_decref(params);
    json_decref(pending);
    return ready;
}

int picks_resolve(struct sched *s)
{
    json_t **all = NULL;
    int released = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        if (s->runs[i].state != RUN_WAITING)
            continue;
        if (!all)
            all = parse_all_params(s);
        int rc = try_release(s, i, all);
        if (rc < 0) {
            released = -1;
            break;
        }
        released += rc;
    }
    if (all)
        free_all_params(s, all);
    return released;
}

const char *picks_blocker(const struct sched *s, size_t i, char *buf, size_t len)
{
    json_t **all = parse_all_params(s);
    json_t *pending = json_loads(s->runs[i].pending_json ? s->runs[i].pending_json : "{}", 0,
                                 NULL);
    const char *param;
    json_t *from;
    snprintf(buf, len, "nothing");
    json_object_foreach(pending, param, from) {
        struct pick_result pr;
        evaluate(s, all[i], param, json_string_value(from), &pr, all);
        json_decref(pr.inputs);
        if (pr.state != PICK_READY) {
            snprintf(buf, len, "%s from %s: %s", param, json_string_value(from),
                     pr.reason);
            break;
        }
    }
    json_decref(pending);
    free_all_params(s, all);
    return buf;
}
