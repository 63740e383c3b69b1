/* loss.c - the SFT objective over a batch's logits (see loss.h). */
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

double loss_mean(const struct loss_sum *acc)
{
    return acc->count ? acc->sum / (double)acc->count : 0.0;
}
