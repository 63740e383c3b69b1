/*
 * test_rules.c - reports/rules.c: checkpoint rules (parsing, min/max/last, ties
 * to the earlier step, candidates without the metric), the mainline layers with
 * their diagnosis, and the declared preference.
 */
#include <string.h>

#include "rules.h"
#include "testhelp.h"

static void test_parse(void)
{
    struct ckpt_rule r;
    CHECK(ckpt_rule_parse("last", &r) == 0 && r.kind == RULE_LAST);
    CHECK(ckpt_rule_parse(NULL, &r) == 0 && r.kind == RULE_LAST);
    CHECK(ckpt_rule_parse("min(val_nll)", &r) == 0 && r.kind == RULE_MIN);
    CHECK_STR(r.metric, "val_nll");
    CHECK(!ckpt_rule_uses_eval(&r));
    CHECK(ckpt_rule_parse("max(eval_accuracy)", &r) == 0 && r.kind == RULE_MAX);
    CHECK(ckpt_rule_uses_eval(&r));
    CHECK(ckpt_rule_parse("max(accuracy)", &r) == 0 && ckpt_rule_uses_eval(&r));
    CHECK(ckpt_rule_parse("median(val_nll)", &r) < 0);
    CHECK(ckpt_rule_parse("min()", &r) < 0);
    CHECK(ckpt_rule_parse("min(val_nll", &r) < 0);
}

static void test_pick(void)
{
    /* seed 001: NLL lowest at the one-epoch boundary, then rising */
    struct ckpt_candidate c[] = { { 1000, 1, 0.3421 }, { 2000, 1, 0.3377 },
                                  { 3169, 1, 0.336164 }, { 4000, 1, 0.3457 },
                                  { 6338, 1, 0.3470 } };
    struct ckpt_rule r;
    ckpt_rule_parse("min(val_nll)", &r);
    CHECK_INT(ckpt_rule_pick(&r, c, 5), 2);
    ckpt_rule_parse("last", &r);
    CHECK_INT(ckpt_rule_pick(&r, c, 5), 4);
    ckpt_rule_parse("max(val_nll)", &r);
    CHECK_INT(ckpt_rule_pick(&r, c, 5), 4);
    /* ties go to the earlier step, whatever the order given */
    struct ckpt_candidate t[] = { { 6, 1, 1.25 }, { 2, 1, 1.5 }, { 4, 1, 1.25 } };
    ckpt_rule_parse("min(val_nll)", &r);
    CHECK_INT(ckpt_rule_pick(&r, t, 3), 2);
    struct ckpt_candidate u[] = { { 2, 1, 0.5 }, { 4, 1, 0.7 }, { 6, 1, 0.7 } };
    ckpt_rule_parse("max(eval_accuracy)", &r);
    CHECK_INT(ckpt_rule_pick(&r, u, 3), 1);
    /* a checkpoint without the metric cannot be chosen; none: -1 */
    struct ckpt_candidate v[] = { { 2, 0, 0 }, { 4, 1, 9 } };
    ckpt_rule_parse("min(val_nll)", &r);
    CHECK_INT(ckpt_rule_pick(&r, v, 2), 1);
    CHECK_INT(ckpt_rule_pick(&r, v, 1), -1);
    CHECK_INT(ckpt_rule_pick(&r, v, 0), -1);
}

static void rules_of(const char *text, struct mainline_rules *r)
{
    json_t *m = json_loads(text, 0, NULL);
    char err[128];
    CHECK(mainline_rules_parse(m, r, err, sizeof(err)) == 0);
    json_decref(m);
}

static void test_judge(void)
{
    struct mainline_rules r;
    rules_of("{\"base_survived\":{\"probe\":\"retention\",\"max_nll_increase\":0.05},"
             "\"landed\":{\"min_gain\":0.01},\"usable\":{\"max_adapter_mb\":50,"
             "\"min_eval_tok_per_s\":100},\"prefer\":[\"smaller_adapter\","
             "\"smaller_seed_range\"]}", &r);
    CHECK(r.declared && r.has_survived && r.has_landed && r.has_usable);
    CHECK_INT(r.n_prefer, 2);
    struct mainline_numbers n = { 1, 0.02, 1, 0.06, 1, 30.8, 1, 600, 0.905, 0.002, 0, 0, 0, 0 };
    struct mainline_verdict v;
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.diagnosis, DIAG_PASSES);
    CHECK_STR(v.landed.why, "gain over the base model +0.0600 >= 0.01");
    CHECK_STR(v.survived.why, "retention NLL +0.0200 (worst seed) <= 0.05");
    n.nll_increase = -0.25;                    /* the base got better: a plain minus */
    mainline_judge(&r, &n, &v);
    CHECK_STR(v.survived.why, "retention NLL -0.2500 (worst seed) <= 0.05");
    n.nll_increase = 0.02;
    n.adapter_mb = 87.5;                       /* only usable fails: a speed problem */
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.diagnosis, DIAG_SPEED);
    CHECK_STR(diagnosis_name(v.diagnosis), "speed problem");
    CHECK_STR(v.usable.why, "adapter 87.5 MB > 50; eval 600 tok/s >= 100");
    n.gain = 0.01 - 1e-15;                     /* at the bound, within rounding: lands */
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.landed.status, LAYER_PASS);
    n.gain = 0.004;                            /* and landed fails too */
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.diagnosis, DIAG_QUALITY_AND_SPEED);
    n.adapter_mb = 30;
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.diagnosis, DIAG_QUALITY);
    n.gain = 0.06;
    n.has_nll_increase = 0;                    /* not measured: fails, says so */
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.survived.status, LAYER_FAIL);
    CHECK(strstr(v.survived.why, "no retention NLL") != NULL);
    /* only usable declared: the other layers are not judged */
    rules_of("{\"usable\":{\"max_adapter_mb\":10}}", &r);
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.survived.status, LAYER_NOT_DECLARED);
    CHECK_INT(v.diagnosis, DIAG_SPEED);
    CHECK_STR(layer_status_name(v.landed.status), "not declared");
}

/* usable.quantized: the worst seed's accuracy drop against the bound; a quantised
 * model that answers worse is a quality problem, a slow or big one a speed problem. */
static void test_quantized(void)
{
    struct mainline_rules r;
    rules_of("{\"usable\":{\"min_eval_tok_per_s\":100,\"quantized\":{\"quant\":\"q4_0\","
             "\"max_accuracy_drop\":0.02}}}", &r);
    CHECK(r.has_usable && r.has_quant && r.has_min_tps && !r.has_max_mb);
    CHECK_STR(r.quant, "q4_0");
    CHECK(r.max_accuracy_drop == 0.02);
    struct mainline_numbers n = { 0 };
    n.has_eval_tps = 1;
    n.eval_tok_per_s = 600;
    n.has_quant = 1;
    n.f32_accuracy = 0.45;
    n.quant_accuracy = 0.44;
    n.quant_drop = 0.02;                       /* at the bound: passes */
    struct mainline_verdict v;
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.usable.status, LAYER_PASS);
    CHECK_INT(v.diagnosis, DIAG_PASSES);
    CHECK_STR(v.usable.why, "eval 600 tok/s >= 100; q4_0 accuracy 0.4400 vs f32 0.4500 (means), "
              "drop +0.0200 (worst seed) <= 0.02");
    n.quant_drop = 0.0201;                     /* past it: usable fails on quality */
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.usable.status, LAYER_FAIL);
    CHECK(v.usable_quant_fail && !v.usable_speed_fail);
    CHECK_STR(diagnosis_name(v.diagnosis), "quality problem");
    n.eval_tok_per_s = 50;                     /* and too slow: both */
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.diagnosis, DIAG_QUALITY_AND_SPEED);
    n.quant_drop = -0.01;                      /* quantised did better: passes, a plain minus */
    mainline_judge(&r, &n, &v);
    CHECK_STR(diagnosis_name(v.diagnosis), "speed problem");
    CHECK(strstr(v.usable.why, "drop -0.0100 (worst seed) <= 0.02") != NULL);
    n.eval_tok_per_s = 600;
    n.has_quant = 0;                           /* not measured: fails, says so */
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.usable.status, LAYER_FAIL);
    CHECK_INT(v.diagnosis, DIAG_QUALITY);
    CHECK(strstr(v.usable.why, "no q4_0 evaluation recorded") != NULL);
    /* a bound of 0 fails any drop, a bound of 1 passes every one */
    n.has_quant = 1;
    n.quant_drop = 0.005;
    rules_of("{\"usable\":{\"quantized\":{\"quant\":\"q8_0\",\"max_accuracy_drop\":0}}}",
             &r);
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.usable.status, LAYER_FAIL);
    rules_of("{\"usable\":{\"quantized\":{\"quant\":\"q8_0\",\"max_accuracy_drop\":1}}}",
             &r);
    mainline_judge(&r, &n, &v);
    CHECK_INT(v.usable.status, LAYER_PASS);
    CHECK_STR(v.usable.why, "q8_0 accuracy 0.4400 vs f32 0.4500 (means), drop +0.0050 "
              "(worst seed) <= 1");
}

static void test_prefer(void)
{
    struct mainline_rules r;
    rules_of("{\"landed\":{\"min_gain\":0},\"prefer\":[\"smaller_adapter\","
             "\"smaller_seed_range\"]}", &r);
    struct mainline_numbers a = { 0 }, b = { 0 };
    a.has_adapter_mb = b.has_adapter_mb = 1;
    a.adapter_mb = 30.8;
    b.adapter_mb = 87.5;
    CHECK(mainline_prefer_cmp(&r, &a, &b) < 0);
    CHECK(mainline_prefer_cmp(&r, &b, &a) > 0);
    b.adapter_mb = 30.8;                       /* tie: the seed range decides */
    a.range = 0.003;
    b.range = 0.002;
    CHECK(mainline_prefer_cmp(&r, &a, &b) > 0);
    b.range = 0.003;
    CHECK(mainline_prefer_cmp(&r, &a, &b) == 0);
    b.has_adapter_mb = 0;                      /* a missing number loses */
    CHECK(mainline_prefer_cmp(&r, &a, &b) < 0);
    rules_of("{\"landed\":{\"min_gain\":0},\"prefer\":\"higher_metric\"}", &r);
    a.mean = 0.90;
    b.mean = 0.91;
    CHECK(mainline_prefer_cmp(&r, &a, &b) > 0);
    json_t *bad = json_loads("{\"prefer\":[\"prettier\"]}", 0, NULL);
    char err[128];
    CHECK(mainline_rules_parse(bad, &r, err, sizeof(err)) < 0);
    json_decref(bad);
    CHECK(mainline_rules_parse(NULL, &r, err, sizeof(err)) == 0 && !r.declared);
}

int main(void)
{
    TEST(test_parse);
    TEST(test_pick);
    TEST(test_judge);
    TEST(test_quantized);
    TEST(test_prefer);
    return test_report();
}
