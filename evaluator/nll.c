/* nll.c - a dataset's completion NLL through the training forward (see nll.h). */
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "nll.h"

enum train_data_status eval_nll(const struct model *m, const struct tokenizer *tok,
                                const struct render_contract *rc, const char *path,
                                long max_seq_len, struct loss_sum *acc, struct strbuf *err)
{
    long max_len = max_seq_len > 0 && max_seq_len < m->cfg.max_seq_len ? max_seq_len
                                                                        : m->cfg.max_seq_len;
    struct train_data_spec spec = { rc, tok, (int)max_len, 0 };
    struct dataset ds;
    enum train_data_status st = train_data_load(path, &spec, &ds, err);
    if (st != TRAIN_DATA_OK || ds.n == 0) {
        train_data_free(&ds);
        return st;
    }
    int B = EVAL_NLL_BATCH, T = ds.max_len - 1 > 0 ? ds.max_len - 1 : 1;
    int pad = tok->pad_id >= 0 ? tok->pad_id : tok->eos_id >= 0 ? tok->eos_id : 0;
    struct model_acts a;
    struct batch b;
    model_acts_alloc(&a, &m->cfg, NULL, B, T);
    batch_alloc(&b, B, T);
    size_t idx[EVAL_NLL_BATCH];
    for (size_t first = 0; first < ds.n && st == TRAIN_DATA_OK; first += (size_t)B) {
        int k = 0;
        for (size_t i = first; i < ds.n && k < B; i++)
            idx[k++] = i;
        batch_fill(&b, &ds, idx, k, pad);
        /* the model's own struct is not changed: forward only reads it */
        if (model_forward_masked(m, NULL, b.tokens, b.cur_B, b.cur_T, b.mask, &a) < 0 ||
            sft_loss_forward_packed(acc, a.logits, b.targets, b.mask, b.cur_B * b.cur_T,
                                    a.V) < 0) {
            sb_addf(err, "%s: a token outside the model's vocabulary", path);
            st = TRAIN_DATA_BAD_ROW;
        }
    }
    batch_free(&b);
    model_acts_free(&a);
    train_data_free(&ds);
    return st;
}
