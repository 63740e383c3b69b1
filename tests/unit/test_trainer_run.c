/*
 * test_trainer_run.c - the trainer on sweeps/models/tiny-base and the arithmetic
 * data: a fresh LoRA adapter validates bitwise like the base model; gradient
 * accumulation over micro-batches gives the gradient of the whole batch; partial
 * a data-parallel step on 2 and 3 threads gives the same gradient; partial
 * fine-tuning trains exactly the tensors asked for (counted by hand) and leaves
 * the rest bitwise alone; two runs agree bitwise; and a checkpoint saved mid-run,
 * restored into a fresh trainer, continues to bitwise the same weights; a time
 * limit near (SIGUSR1's flag) checkpoints the step reached and stops, and the run
 * resumed from there ends bitwise where an uninterrupted one does (the last three
 * on one thread and again split over two).
 * Run from the repository's top directory (as `make check` does).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "parallel.h"
#include "testhelp.h"
#include "train.h"

#define INPUTS "\"base_model\": {\"path\": \"sweeps/models/tiny-base/model.safetensors\"}, " \
               "\"datasets\": {\"train\": {\"path\": \"sweeps/data/arith-train.jsonl\"}, " \
               "\"valid\": {\"path\": \"sweeps/data/arith-valid.jsonl\"}}"

struct fixture {
    struct train_config cfg;
    struct trainer t;
};

/* A trainer for `{INPUTS, "params": {params}}`, run_dir may be NULL. 0 when set up. */
static int setup(struct fixture *fx, const char *params, const char *run_dir)
{
    struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
    sb_addf(&text, "{" INPUTS ", \"params\": {%s}}", params);
    json_t *root = json_loads(text.buf, 0, NULL);
    int rc = root && train_config_parse(root, ".", &fx->cfg, &err) == CONFIG_OK ? 0 : -1;
    if (rc == 0 && trainer_setup(&fx->t, &fx->cfg, run_dir ? run_dir : "/nonexistent",
                                 &err) != TRAIN_OK)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "  setup failed: %s\n", err.buf);
    json_decref(root);
    sb_free(&text);
    sb_free(&err);
    return rc;
}

static void teardown(struct fixture *fx)
{
    trainer_free(&fx->t);
    train_config_free(&fx->cfg);
}

static enum train_status steps(struct trainer *t, int n)
{
    struct strbuf err = STRBUF_INIT;
    enum train_status st = TRAIN_OK;
    double loss;
    for (int i = 0; i < n && st == TRAIN_OK; i++)
        st = trainer_step(t, &loss, &err);
    if (st != TRAIN_OK)
        fprintf(stderr, "  step failed: %s\n", err.buf);
    sb_free(&err);
    return st;
}

static void test_fresh_lora_is_the_base_model(void)
{
    struct fixture fx;
    if (setup(&fx, "\"rank\": 4, \"dropout\": 0.2, \"targets\": [\"all-linear\"], "
                   "\"valid_rows\": 12, \"train_rows\": 8, \"micro_batch_size\": 5", NULL) < 0) {
        CHECK(0);
        return;
    }
    struct strbuf err = STRBUF_INIT;
    struct loss_sum with = { 0, 0 }, base = { 0, 0 };
    fx.t.lo.training = 1;   /* validation turns dropout off by itself */
    CHECK_INT(trainer_valid_nll(&fx.t, fx.t.lora, &with, &err), TRAIN_OK);
    CHECK_INT(fx.t.lo.training, 1);
    CHECK_INT(trainer_valid_nll(&fx.t, NULL, &base, &err), TRAIN_OK);
    CHECK(with.count > 0 && with.count == base.count);
    CHECK(memcmp(&with.sum, &base.sum, sizeof(double)) == 0);   /* bitwise */
    CHECK_INT(with.count, fx.t.valid.loss_tokens);
    fprintf(stderr, "  step 0 NLL %.9f with the adapter, %.9f without\n", loss_mean(&with),
            loss_mean(&base));
    /* ... and the adapter trains: after a few steps the NLL moves */
    fx.t.lo.training = 0;
    CHECK_INT(steps(&fx.t, 2), TRAIN_OK);
    struct loss_sum after = { 0, 0 };
    CHECK_INT(trainer_valid_nll(&fx.t, fx.t.lora, &after, &err), TRAIN_OK);
    CHECK(after.sum != with.sum);
    sb_free(&err);
    teardown(&fx);
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(a[i]));
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]) / scale);
    return worst;
}

static void test_accumulation_is_the_whole_batch(void)
{
    static const char common[] = "\"rank\": 4, \"targets\": [\"all-linear\"], \"train_rows\": "
                                 "16, \"valid_rows\": 4, \"batch_size\": 8, \"grad_clip\": 0, "
                                 "\"seed\": 5, ";
    char one[512], three[512];
    snprintf(one, sizeof(one), "%s\"micro_batch_size\": 8", common);
    snprintf(three, sizeof(three), "%s\"micro_batch_size\": 3", common);
    struct fixture a, b;
    if (setup(&a, one, NULL) < 0 || setup(&b, three, NULL) < 0) {
        CHECK(0);
        return;
    }
    struct strbuf err = STRBUF_INIT;
    double la, lb;
    CHECK_INT(trainer_step(&a.t, &la, &err), TRAIN_OK);
    CHECK_INT(trainer_step(&b.t, &lb, &err), TRAIN_OK);
    CHECK_NEAR(la, lb, 1e-6);
    double dg = max_rel_diff(a.t.lo.grads, b.t.lo.grads, a.t.lo.n_params);
    double dw = max_rel_diff(a.t.lo.params, b.t.lo.params, a.t.lo.n_params);
    fprintf(stderr, "  loss %.9f vs %.9f; gradients differ by %.2g, weights by %.2g "
            "(relative to the largest)\n", la, lb, dg, dw);
    CHECK(dg < 1e-5);
    CHECK(dw < 1e-6);
    CHECK(a.t.pr.tokens == b.t.pr.tokens && a.t.pr.tokens > 0);
    sb_free(&err);
    teardown(&a);
    teardown(&b);
}

/* A data-parallel step (worker.h) on 2 and 3 threads, the shares uneven and cut
 * into micro-batches, gives the gradient of the whole batch on one thread: LoRA,
 * norms and the last block's matrices training together. */
static void test_data_parallel_is_the_whole_batch(void)
{
    static const char params[] = "\"rank\": 4, \"targets\": [\"all-linear\"], \"train\": "
                                 "[\"norm\", {\"blocks\": {\"last\": 1}}], \"train_rows\": 16, "
                                 "\"valid_rows\": 4, \"batch_size\": 7, \"micro_batch_size\": 2, "
                                 "\"grad_clip\": 0, \"seed\": 3";
    struct fixture one;
    par_set_threads(1);
    if (setup(&one, params, NULL) < 0) {
        CHECK(0);
        return;
    }
    struct strbuf err = STRBUF_INIT;
    double l1;
    CHECK_INT(trainer_step(&one.t, &l1, &err), TRAIN_OK);
    for (int threads = 2; threads <= 3; threads++) {
        struct fixture dp;
        par_set_threads(threads);
        if (setup(&dp, params, NULL) < 0) {
            CHECK(0);
            break;
        }
        double ln;
        CHECK_INT(trainer_step(&dp.t, &ln, &err), TRAIN_OK);
        CHECK_INT(dp.t.n_workers, threads);
        CHECK_NEAR(l1, ln, 1e-6);
        CHECK(one.t.pr.tokens == dp.t.pr.tokens && dp.t.pr.tokens > 0);
        CHECK_INT(dp.t.n_segs, one.t.n_segs);
        double worst = 0;
        for (size_t s = 0; s < one.t.n_segs && s < dp.t.n_segs; s++)
            worst = fmax(worst, max_rel_diff(one.t.segs[s].g, dp.t.segs[s].g, one.t.segs[s].n));
        fprintf(stderr, "  %d threads: loss %.9f vs %.9f on one; gradients differ by %.2g "
                "(relative to each tensor's largest)\n", threads, ln, l1, worst);
        CHECK(worst < 1e-5);
        teardown(&dp);
    }
    par_set_threads(1);
    sb_free(&err);
    teardown(&one);
}

/*
 * tiny-base: C 32, H 64, L 2, NH 4, NKV 2 (KV 16), V 260, tied.
 * [norm, {blocks: {last: 1}}]: norms 2 * 32 + 2 * 32 + 32 = 160 (5 tensors), and
 * layer 1's wq 1024 + wk 512 + wv 512 + wo 1024 + gate, up, down 3 * 2048 = 9216
 * (7 tensors; its two norms are already counted): 9376 in 12 tensors.
 */
static void test_partial_trains_only_its_tensors(void)
{
    struct fixture fx;
    if (setup(&fx, "\"train\": [\"norm\", {\"blocks\": {\"last\": 1}}], \"lr\": 0.01, "
                   "\"train_rows\": 8, \"valid_rows\": 4, \"batch_size\": 4", NULL) < 0) {
        CHECK(0);
        return;
    }
    CHECK(fx.t.lora == NULL);
    CHECK_INT(fx.t.n_trainable, 9376);
    CHECK_INT(trainable_count(fx.t.mask, &fx.t.model.cfg), 9376);
    struct model before;
    model_alloc(&before, &fx.t.model.cfg);
    memcpy(before.slab, fx.t.model.slab, fx.t.model.n_params * sizeof(float));
    CHECK_INT(steps(&fx.t, 2), TRAIN_OK);
    size_t changed = 0, frozen_changed = 0;
    for (int k = 0; k < TK_COUNT; k++) {
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? 2 : 1;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref w = model_tensor(&fx.t.model, (enum tensor_kind)k, l);
            struct tensor_ref w0 = model_tensor(&before, (enum tensor_kind)k, l);
            int same = memcmp(w.data, w0.data, w.rows * w.cols * sizeof(float)) == 0;
            if (trainable_on(fx.t.mask, (enum tensor_kind)k, l))
                changed += !same;
            else
                frozen_changed += !same;
        }
    }
    CHECK_INT(frozen_changed, 0);   /* layer 0's matrices, the embedding */
    CHECK_INT(changed, 12);
    model_free(&before);
    teardown(&fx);
}

static void test_two_runs_agree_bitwise(void)
{
    static const char params[] = "\"rank\": 4, \"dropout\": 0.1, \"targets\": [\"q_proj\", "
                                 "\"v_proj\", \"down_proj\"], \"train_rows\": 12, \"valid_rows\": "
                                 "4, \"batch_size\": 4, \"micro_batch_size\": 2, \"lr\": 0.01, "
                                 "\"seed\": 11";
    struct fixture a, b;
    if (setup(&a, params, NULL) < 0 || setup(&b, params, NULL) < 0) {
        CHECK(0);
        return;
    }
    CHECK_INT(steps(&a.t, 5), TRAIN_OK);   /* crosses an epoch boundary (3 steps each) */
    CHECK_INT(steps(&b.t, 5), TRAIN_OK);
    CHECK_INT(a.t.pr.epoch, 1);
    CHECK(memcmp(a.t.lo.params, b.t.lo.params, a.t.lo.n_params * sizeof(float)) == 0);
    CHECK(memcmp(a.t.opt.m, b.t.opt.m, a.t.opt.n * sizeof(float)) == 0);
    CHECK(a.t.lo.rng == b.t.lo.rng);
    teardown(&a);
    teardown(&b);
}

static void remove_tree(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_checkpoint_resumes_bitwise(void)
{
    static const char params[] = "\"rank\": 4, \"dropout\": 0.1, \"targets\": [\"all-linear\"], "
                                 "\"train_rows\": 10, \"valid_rows\": 4, \"batch_size\": 4, "
                                 "\"lr\": 0.01, \"seed\": 3, \"train\": [\"norm\"], "
                                 "\"adapter\": \"lora\", \"weight_decay\": 0.1, \"epochs\": 3";
    char dir[] = "/tmp/test_trainer_run.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct fixture a, b;
    if (setup(&a, params, dir) < 0 || setup(&b, params, dir) < 0) {
        CHECK(0);
        return;
    }
    CHECK(a.t.lora && a.t.mask);   /* LoRA and the norms train together */
    CHECK_INT(steps(&a.t, 4), TRAIN_OK);   /* into the second epoch (3 steps each) */
    struct checkpoint_content c = { &a.cfg, &a.t.model, a.t.mask, a.t.lora, a.t.segs, a.t.n_segs,
                              &a.t.opt, 1.5, 10 };
    struct strbuf err = STRBUF_INIT;
    long bytes = 0;
    CHECK_INT(checkpoint_save(dir, &c, &a.t.pr, &bytes, &err), 0);
    CHECK(bytes > 0);
    CHECK_INT(checkpoint_newest(dir, 0), 4);
    CHECK_INT(steps(&a.t, 3), TRAIN_OK);

    CHECK_INT(trainer_resume(&b.t, &err), TRAIN_OK);
    CHECK_INT(b.t.resumed_from, 4);
    CHECK_INT(b.t.pr.step, 4);
    CHECK_INT(steps(&b.t, 3), TRAIN_OK);
    CHECK(memcmp(a.t.opt.v, b.t.opt.v, a.t.opt.n * sizeof(float)) == 0);
    for (size_t s = 0; s < a.t.n_segs; s++)
        CHECK(memcmp(a.t.segs[s].p, b.t.segs[s].p, a.t.segs[s].n * sizeof(float)) == 0);
    if (err.len)
        fprintf(stderr, "  %s\n", err.buf);
    sb_free(&err);
    teardown(&a);
    teardown(&b);
    remove_tree(dir);
}

/* trainer_run() with its progress lines (stdout) sent to /dev/null. */
static enum train_status run_quietly(struct trainer *t, struct strbuf *err)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    enum train_status st = trainer_run(t, err);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
    return st;
}

static int same_weights(const struct trainer *a, const struct trainer *b)
{
    int same = a->n_segs == b->n_segs;
    for (size_t s = 0; same && s < a->n_segs; s++)
        same = memcmp(a->segs[s].p, b->segs[s].p, a->segs[s].n * sizeof(float)) == 0;
    return same;
}

/* trainer_run() with the time-limit flag set: at step 0 it stops with nothing to
 * save; after 4 steps it saves step-4 and stops; resumed from step-4 with the flag
 * still set it stops again without a new checkpoint; with it clear it runs to the
 * end, with the weights of a run never stopped. Validation ignores the flag. */
static void test_time_limit_stops_and_resumes_bitwise(void)
{
    static const char params[] = "\"rank\": 4, \"dropout\": 0.1, \"targets\": [\"all-linear\"], "
                                 "\"train_rows\": 12, \"valid_rows\": 4, \"batch_size\": 4, "
                                 "\"lr\": 0.01, \"seed\": 9, \"epochs\": 3, "
                                 "\"eval_at\": [{\"every\": 3}]";
    char full_dir[] = "/tmp/test_trainer_run.XXXXXX", dir[] = "/tmp/test_trainer_run.XXXXXX";
    CHECK(mkdtemp(full_dir) != NULL && mkdtemp(dir) != NULL);
    struct fixture full, a, b;
    if (setup(&full, params, full_dir) < 0 || setup(&a, params, dir) < 0 ||
        setup(&b, params, dir) < 0) {
        CHECK(0);
        return;
    }
    struct strbuf err = STRBUF_INIT;
    volatile sig_atomic_t near = 1;
    CHECK_INT(run_quietly(&full.t, &err), TRAIN_OK);
    CHECK_INT(full.t.pr.step, 9);

    a.t.time_limit = &near;
    CHECK_INT(run_quietly(&a.t, &err), TRAIN_TIME_LIMIT);
    CHECK_INT(a.t.pr.step, 0);
    CHECK_INT(checkpoint_newest(dir, 0), 0);
    struct loss_sum acc = { 0, 0 };
    CHECK_INT(trainer_valid_nll(&a.t, a.t.lora, &acc, &err), TRAIN_OK);
    CHECK_INT(acc.count, a.t.valid.loss_tokens);
    CHECK_INT(steps(&a.t, 4), TRAIN_OK);   /* into the second epoch, past step 3's save */
    CHECK_INT(run_quietly(&a.t, &err), TRAIN_TIME_LIMIT);
    CHECK_INT(a.t.pr.step, 4);
    CHECK_INT(checkpoint_newest(dir, 0), 4);

    b.t.time_limit = &near;
    CHECK_INT(trainer_resume(&b.t, &err), TRAIN_OK);
    CHECK_INT(b.t.resumed_from, 4);
    CHECK_INT(run_quietly(&b.t, &err), TRAIN_TIME_LIMIT);
    CHECK_INT(b.t.pr.step, 4);
    near = 0;
    CHECK_INT(run_quietly(&b.t, &err), TRAIN_OK);
    CHECK_INT(b.t.pr.step, 9);
    CHECK(same_weights(&full.t, &b.t));
    CHECK(memcmp(full.t.opt.v, b.t.opt.v, full.t.opt.n * sizeof(float)) == 0);
    CHECK_INT(checkpoint_newest(dir, 0), 9);
    fprintf(stderr, "  stopped at step %ld, resumed to step %ld: weights %s\n", a.t.pr.step,
            b.t.pr.step, same_weights(&full.t, &b.t) ? "bitwise equal" : "DIFFER");
    if (err.len)
        fprintf(stderr, "  %s\n", err.buf);
    sb_free(&err);
    teardown(&full);
    teardown(&a);
    teardown(&b);
    remove_tree(full_dir);
    remove_tree(dir);
}

int main(void)
{
    if (access("sweeps/models/tiny-base/model.safetensors", R_OK) != 0) {
        fprintf(stderr, "run from the repository's top directory\n");
        return 1;
    }
    TEST(test_fresh_lora_is_the_base_model);
    TEST(test_accumulation_is_the_whole_batch);
    TEST(test_data_parallel_is_the_whole_batch);
    TEST(test_partial_trains_only_its_tensors);
    TEST(test_two_runs_agree_bitwise);
    TEST(test_checkpoint_resumes_bitwise);
    TEST(test_time_limit_stops_and_resumes_bitwise);
    fprintf(stderr, "-- again with the work split over 2 threads\n");
    par_set_threads(2);
    TEST(test_two_runs_agree_bitwise);
    TEST(test_checkpoint_resumes_bitwise);
    TEST(test_time_limit_stops_and_resumes_bitwise);
    par_set_threads(1);
    return test_report();
}
