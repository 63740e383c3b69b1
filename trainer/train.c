/*
 * train.c - the training loop of a struct trainer (see train.h): optimizer steps
 * with gradient accumulation, validation over the whole validation set,
 * checkpoints and retention, resume, and the protocol events that report them.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "train.h"
#include "worker.h"

int trainer_stopping(const struct trainer *t)
{
    return t->stop && *t->stop;
}

int trainer_time_limit_near(const struct trainer *t)
{
    return t->time_limit && *t->time_limit;
}

static void emit(struct trainer *t, json_t *ev)
{
    if (t->mx)
        metrics_emit(t->mx, ev);
    else
        json_decref(ev);
}

static void say(const char *fmt, ...) ATTR_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

char *openblas_get_corename(void);

/* The BLAS kernels in use, for the log: a slow core is the first suspect when a
 * run is slow (docs/protocol.md, OPENBLAS_CORETYPE). */
static const char *blas_core(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
}

/* ---- order ---- */

void trainer_begin_epoch(struct trainer *t)
{
    uint64_t rng = t->pr.epoch_rng;
    train_data_shuffle(t->order, t->train.n, &rng);
    t->next_epoch_rng = rng;
}

/* ---- one optimizer step ---- */

static void finish_step(struct trainer *t, double sum, long count, long tokens)
{
    t->pr.step++;
    t->pr.tokens += tokens;
    t->pr.win_loss_sum += sum;
    t->pr.win_loss_count += count;
    t->pr.win_tokens += tokens;
    t->rate_tokens += tokens;
    if (t->lora)
        t->pr.dropout_rng = t->lo.rng;
    if (t->pr.step % t->steps_per_epoch == 0) {
        t->pr.epoch++;
        t->pr.epoch_rng = t->next_epoch_rng;
        trainer_begin_epoch(t);
    }
}

enum train_status trainer_step(struct trainer *t, double *loss, struct strbuf *err)
{
    const struct train_config *c = t->cfg;
    size_t first, n;
    train_data_batch_bounds(t->train.n, c->batch_size, t->pr.step % t->steps_per_epoch, &first, &n);
    const size_t *idx = t->order + first;
    long total = 0, tokens = 0;
    for (size_t i = 0; i < n; i++)
        total += t->train.ex[idx[i]].len - t->train.ex[idx[i]].prompt_len;
    double sum = 0;
    grad_zero(t->segs, t->n_segs);
    enum train_status st = step_gradients(t, idx, n, total, &sum, &tokens, err);
    if (st != TRAIN_OK)
        return st;
    *loss = sum / (double)total;
    double norm = grad_norm(t->segs, t->n_segs);
    t->last_grad_norm = norm;
    if (!isfinite(*loss) || !isfinite(norm)) {
        sb_addf(err, "step %ld: loss %g, gradient norm %g", t->pr.step + 1, *loss, norm);
        t->diverged_at = t->pr.step + 1;
        return TRAIN_DIVERGED;
    }
    grad_clip(t->segs, t->n_segs, norm, c->grad_clip);
    adamw_step(&t->opt, t->segs, t->n_segs, lr_at(&t->sched, t->pr.step + 1));
    finish_step(t, sum, total, tokens);
    return TRAIN_OK;
}

/* ---- validation ---- */

enum train_status trainer_valid_nll(struct trainer *t, struct lora *lo, struct loss_sum *acc,
                                    struct strbuf *err)
{
    size_t mb = (size_t)t->cfg->micro_batch_size, n = t->valid.n;
    int V = t->model.cfg.vocab_size, training = lo ? lo->training : 0;
    struct batch *b = &t->batch;
    enum train_status st = TRAIN_OK;
    if (lo)
        lo->training = 0;
    for (size_t i = 0; i < n && st == TRAIN_OK; i += mb) {
        if (trainer_stopping(t)) {
            st = TRAIN_CANCELLED;
            break;
        }
        batch_fill(b, &t->valid, t->valid_order + i, (int)(n - i < mb ? n - i : mb), t->pad_id);
        if (model_forward_masked(&t->model, lo, b->tokens, b->cur_B, b->cur_T, b->mask,
                                 &t->acts) < 0 ||
            sft_loss_forward_packed(acc, t->acts.logits, b->targets, b->mask,
                                    b->cur_B * b->cur_T, V) < 0) {
            sb_adds(err, "validation forward failed");
            st = TRAIN_FAILED;
        }
    }
    if (lo)
        lo->training = training;
    return st;
}

/* ---- events ---- */

static void emit_start(struct trainer *t)
{
    size_t total = t->model.n_params;
    double pct = trainable_percent(t->n_trainable, total);
    json_t *ev = metrics_event("start");
    json_object_set_new(ev, "total_steps", json_integer(t->total_steps));
    json_object_set_new(ev, "resumed_from", json_integer(t->resumed_from));
    json_object_set_new(ev, "steps_per_epoch", json_integer(t->steps_per_epoch));
    json_object_set_new(ev, "examples", json_integer((json_int_t)t->train.n));
    json_object_set_new(ev, "tokens", json_integer(t->train.input_tokens));
    json_object_set_new(ev, "loss_tokens", json_integer(t->train.loss_tokens));
    json_object_set_new(ev, "truncated", json_integer((json_int_t)t->train.truncated));
    json_object_set_new(ev, "dropped", json_integer((json_int_t)t->train.dropped));
    json_object_set_new(ev, "valid_examples", json_integer((json_int_t)t->valid.n));
    json_object_set_new(ev, "valid_tokens", json_integer(t->valid.loss_tokens));
    json_object_set_new(ev, "trainable_params", json_integer((json_int_t)t->n_trainable));
    json_object_set_new(ev, "total_params", json_integer((json_int_t)total));
    json_object_set_new(ev, "trainable_pct", json_real(pct));
    json_object_set_new(ev, "threads", json_integer(t->threads));
    json_object_set_new(ev, "blas_core", json_string(blas_core()));
    emit(t, ev);
    const char *forced = getenv("OPENBLAS_CORETYPE");
    say("blas: OpenBLAS core %s, %d thread%s (OPENBLAS_CORETYPE %s)\n", blas_core(), t->threads,
        t->threads == 1 ? "" : "s", forced && *forced ? forced : "not set");
    say("trainable parameters: %.3f%% (%zu / %zu)%s\n", pct, t->n_trainable, total,
        t->lora ? " in LoRA adapters" : "");
    say("train: %zu examples, %ld tokens (%zu truncated, %zu dropped); valid: %zu examples, "
        "%ld tokens\n", t->train.n, t->train.input_tokens, t->train.truncated,
        t->train.dropped, t->valid.n, t->valid.loss_tokens);
    say("steps: %ld (%ld per epoch), batch %ld (micro %ld)%s\n", t->total_steps,
        t->steps_per_epoch, t->cfg->batch_size, t->cfg->micro_batch_size,
        t->resumed_from ? ", resuming" : "");
    if (t->resumed_from)
        say("resumed from checkpoints/step-%ld\n", t->resumed_from);
}

static void emit_report(struct trainer *t, double lr)
{
    double now = clock_now_s(), dt = t->rate_seconds;
    double loss = t->pr.win_loss_count ? t->pr.win_loss_sum / (double)t->pr.win_loss_count : 0;
    double rate = dt > 0 ? (double)t->rate_tokens / dt : 0, rss = peak_rss_mb();
    json_t *ev = metrics_event("train");
    json_object_set_new(ev, "step", json_integer(t->pr.step));
    json_object_set_new(ev, "loss", metrics_real(loss));
    json_object_set_new(ev, "lr", json_real(lr));
    json_object_set_new(ev, "tokens", json_integer(t->pr.tokens));
    json_object_set_new(ev, "tok_per_s", json_real(rate));
    json_object_set_new(ev, "elapsed", json_real(now - t->t_start));
    json_object_set_new(ev, "peak_rss_mb", json_real(rss));
    json_object_set_new(ev, "grad_norm", metrics_real(t->last_grad_norm));
    json_object_set_new(ev, "epoch", json_integer(t->pr.epoch));
    emit(t, ev);
    say("step %ld/%ld  loss %.4f  lr %.3g  grad_norm %.3g  tok/s %.0f  elapsed %.1fs  rss %.0fMB\n",
        t->pr.step, t->total_steps, loss, lr, t->last_grad_norm, rate, now - t->t_start, rss);
    t->pr.win_loss_sum = 0;
    t->pr.win_loss_count = 0;
    t->pr.win_tokens = 0;
    t->rate_seconds = 0;
    t->rate_tokens = 0;
}

static void emit_step_event(struct trainer *t, const char *kind, long step)
{
    json_t *ev = metrics_event(kind);
    json_object_set_new(ev, "step", json_integer(step));
    emit(t, ev);
}

/* ---- validation + checkpoint ---- */

static enum train_status save_checkpoint(struct trainer *t, double nll, long count,
                                         struct strbuf *err)
{
    struct checkpoint_content c = { t->cfg, &t->model, t->mask, t->lora, t->segs, t->n_segs,
                                    &t->opt, nll, count };
    long bytes = 0;
    if (checkpoint_save(t->run_dir, &c, &t->pr, &bytes, err) < 0)
        return TRAIN_FAILED;
    t->saved_step = t->pr.step;
    json_t *ev = metrics_event("checkpoint");
    json_object_set_new(ev, "step", json_integer(t->pr.step));
    char path[64];
    snprintf(path, sizeof(path), "checkpoints/step-%ld", t->pr.step);
    json_object_set_new(ev, "path", json_string(path));
    json_object_set_new(ev, "bytes", json_integer(bytes));
    emit(t, ev);
    say("checkpoint %s (%ld bytes)\n", path, bytes);
    struct strbuf why = STRBUF_INIT;
    if (checkpoint_retain(t->run_dir, t->cfg->keep, t->pr.step, &why) < 0) {
        json_t *w = json_pack("{s:s,s:s}", "event", "warning", "message", why.buf);
        emit(t, w);
        say("warning: %s\n", why.buf);
    }
    sb_free(&why);
    return TRAIN_OK;
}

static enum train_status eval_and_save(struct trainer *t, struct strbuf *err)
{
    struct loss_sum acc = { 0, 0 };
    double nll = NAN;
    if (t->valid.n > 0) {
        enum train_status st = trainer_valid_nll(t, t->lora, &acc, err);
        if (st != TRAIN_OK)
            return st;
        nll = loss_mean(&acc);
        json_t *ev = metrics_event("val");
        json_object_set_new(ev, "step", json_integer(t->pr.step));
        json_object_set_new(ev, "nll", metrics_real(nll));
        json_object_set_new(ev, "tokens", json_integer(acc.count));
        emit(t, ev);
        say("val step %ld  nll %.6f  (%ld tokens)\n", t->pr.step, nll, acc.count);
        if (!isfinite(nll)) {
            sb_addf(err, "step %ld: validation NLL %g", t->pr.step, nll);
            t->diverged_at = t->pr.step;
            return TRAIN_DIVERGED;
        }
        if (isnan(t->pr.best_nll) || nll < t->pr.best_nll) {
            t->pr.best_nll = nll;
            t->pr.best_step = t->pr.step;
        }
    }
    return save_checkpoint(t, nll, acc.count, err);
}

static int is_eval_step(const struct trainer *t, long step)
{
    for (size_t i = 0; i < t->n_eval_steps; i++)
        if (t->eval_steps[i] == step)
            return 1;
    return 0;
}

/* ---- the run ---- */

enum train_status trainer_resume(struct trainer *t, struct strbuf *err)
{
    for (long s = checkpoint_newest(t->run_dir, 0); s > 0; s = checkpoint_newest(t->run_dir, s)) {
        struct strbuf why = STRBUF_INIT;
        struct train_progress pr;
        enum checkpoint_status cs = checkpoint_load(t->run_dir, s, t->cfg->params_sha256, t->segs,
                                                    t->n_segs, &t->opt, &pr, &why);
        if (cs == CHECKPOINT_OK && (pr.step > t->total_steps ||
                              pr.epoch != pr.step / t->steps_per_epoch)) {
            sb_addf(&why, "step %ld, epoch %ld do not fit this run's %ld steps of %ld per epoch",
                    pr.step, pr.epoch, t->total_steps, t->steps_per_epoch);
            cs = CHECKPOINT_MISMATCH;
        }
        if (cs == CHECKPOINT_OK) {
            t->pr = pr;
            t->lo.rng = pr.dropout_rng;
            t->resumed_from = s;
            t->saved_step = s;
            trainer_begin_epoch(t);
        }
        if (cs != CHECKPOINT_UNREADABLE) {
            if (cs == CHECKPOINT_MISMATCH)
                sb_addf(err, "cannot resume: %s", why.buf);
            sb_free(&why);
            return cs == CHECKPOINT_OK ? TRAIN_OK : TRAIN_BAD_CONFIG;
        }
        say("warning: skipping checkpoint step-%ld: %s\n", s, why.buf);
        sb_free(&why);
    }
    say("no checkpoint to resume from: starting at step 0\n");
    return TRAIN_OK;
}

static void emit_done(struct trainer *t)
{
    json_t *ev = metrics_event("done");
    json_object_set_new(ev, "steps", json_integer(t->pr.step));
    json_object_set_new(ev, "best_val_nll", metrics_real(t->pr.best_nll));
    json_object_set_new(ev, "best_step", t->pr.best_step ? json_integer(t->pr.best_step)
                                                          : json_null());
    json_object_set_new(ev, "tokens", json_integer(t->pr.tokens));
    json_object_set_new(ev, "elapsed", json_real(clock_now_s() - t->t_start));
    emit(t, ev);
    say("done: %ld steps, best val nll %.6f at step %ld\n", t->pr.step, t->pr.best_nll,
        t->pr.best_step);
}

/* The time limit is near: keep the step reached, as a checkpoint without a
 * validation (val_nll NaN: never the best), unless it is on disk already (an
 * eval_at step just saved, or the step resumed from); step 0 needs none. */
static enum train_status stop_for_time_limit(struct trainer *t, struct strbuf *err)
{
    if (t->pr.step > 0 && t->saved_step != t->pr.step &&
        save_checkpoint(t, NAN, 0, err) != TRAIN_OK)
        return TRAIN_FAILED;
    say("stopped for the time limit at step %ld/%ld\n", t->pr.step, t->total_steps);
    return TRAIN_TIME_LIMIT;
}

enum train_status trainer_run(struct trainer *t, struct strbuf *err)
{
    enum train_status st = TRAIN_OK;
    emit_start(t);
    while (st == TRAIN_OK && t->pr.step < t->total_steps) {
        if (trainer_stopping(t)) {
            st = TRAIN_CANCELLED;
            break;
        }
        if (trainer_time_limit_near(t)) {
            st = stop_for_time_limit(t, err);
            break;
        }
        double loss = 0, lr = lr_at(&t->sched, t->pr.step + 1), t0 = clock_now_s();
        st = trainer_step(t, &loss, err);
        t->rate_seconds += clock_now_s() - t0;
        if (st != TRAIN_OK)
            break;
        if (t->pr.step % t->cfg->report_every == 0 || t->pr.step == t->total_steps)
            emit_report(t, lr);
        if (is_eval_step(t, t->pr.step))
            st = eval_and_save(t, err);
    }
    if (st == TRAIN_DIVERGED)
        emit_step_event(t, "diverged", t->diverged_at);
    else if (st == TRAIN_CANCELLED)
        emit_step_event(t, "cancelled", t->pr.step);
    else if (st == TRAIN_TIME_LIMIT)
        emit(t, json_pack("{s:s,s:s,s:I}", "event", "stopped", "reason", "time_limit", "step",
                          (json_int_t)t->pr.step));
    else if (st == TRAIN_OK)
        emit_done(t);
    return st;
}
