/* loss.c - the SFT objective over a batch's logits (see loss.h). */
#include <stdlib.h>

#include "error.h"
#include "loss.h"
#include "ops.h"

long sft_loss_count(const unsigned char *mask, int N)
{
    long n = 0;
    for (int i = 0; i < N; i++)
        n += mask[i] != 0;
    return n;
}

int sft_loss_forward(struct loss_sum *acc, const float *logits, const int *targets,
                     const unsigned char *mask, int N, int V)
{
    for (int i = 0; i < N; i++)
        if (mask[i] != 0 && (targets[i] < 0 || targets[i] >= V))
            return -1;
    acc->sum += crossentropy_sum(logits, targets, mask, N, V);
    acc->count += sft_loss_count(mask, N);
    return 0;
}

void sft_loss_backward(float *dlogits, const float *logits, const int *targets,
                       const unsigned char *mask, int N, int V, long total_count)
{
    /* undoes: sum += nll(logits[i], targets[i]) over masked-in i, then / total_count */
    crossentropy_backward_scaled(dlogits, logits, targets, mask, N, V,
                                 (float)(1.0 / (double)total_count));
}

/* The targets of the masked-in positions, in order (*n of them). Owned by the caller. */
static int *packed_targets(const int *targets, const unsigned char *mask, int N, int *n)
{
    int *t = xmalloc((size_t)(N > 0 ? N : 1) * sizeof(int));
    *n = 0;
    for (int i = 0; i < N; i++)
        if (mask[i] != 0)
            t[(*n)++] = targets[i];
    return t;
}

int sft_loss_forward_packed(struct loss_sum *acc, const float *logits, const int *targets,
                            const unsigned char *mask, int N, int V)
{
    int n, rc = 0;
    int *t = packed_targets(targets, mask, N, &n);
    for (int i = 0; i < n && rc == 0; i++)
        if (t[i] < 0 || t[i] >= V)
            rc = -1;
    if (rc == 0) {
        acc->sum += n ? crossentropy_sum(logits, t, NULL, n, V) : 0.0;
        acc->count += n;
    }
    free(t);
    return rc;
}

void sft_loss_backward_packed(float *dlogits, const float *logits, const int *targets,
                              const unsigned char *mask, int N, int V, long total_count)
{
    int n;
    int *t = packed_targets(targets, mask, N, &n);
    crossentropy_backward_scaled(dlogits, logits, t, NULL, n, V,
                                 (float)(1.0 / (double)total_count));
    free(t);
}

double loss_mean(const struct loss_sum *acc)
{
    return acc->count ? acc->sum / (double)acc->count : 0.0;
}
