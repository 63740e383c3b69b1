/* basetok.c - a base model's tokenizer and context length (see basetok.h). */
#include "basetok.h"
#include "model_io.h"

int base_tokenizer(const char *model_path, struct tokenizer *tok, long *max_seq_len,
                   struct strbuf *err)
{
    struct model m;
    if (model_load(model_path, &m, err) < 0)
        return -1;
    int rc = tokenizer_for_model(model_path, &m.cfg, tok, err);
    *max_seq_len = m.cfg.max_seq_len;
    model_free(&m);
    return rc;
}
