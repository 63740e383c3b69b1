/* loss.c - the SFT objective over a batch's logits (see loss.h). */
#include <string.h>

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
    double sum = 0;
    long count = 0;
    for (int i = 0; i < N; i++) {
        if (!mask[i])
            continue;
        sum += crossentropy_row(logits + (size_t)i * V, targets[i], V);
        count++;
    }
    acc->sum += sum;
    acc->count += count;
    return 0;
}

void sft_loss_backward(float *dlogits, const float *logits, const int *targets,
                       const unsigned char *mask, int N, int V, long total_count)
{
    /* undoes: sum += nll(logits[i], targets[i]) over masked-in i, then / total_count */
    float scale = (float)(1.0 / (double)total_count);
    for (int i = 0; i < N; i++) {
        float *d = dlogits + (size_t)i * V;
        if (mask[i] != 0)
            crossentropy_row_backward(d, logits + (size_t)i * V, targets[i], V, scale);
        else
            memset(d, 0, (size_t)V * sizeof(float));
    }
}

double loss_mean(const struct loss_sum *acc)
{
    return acc->count ? acc->sum / (double)acc->count : 0.0;
}
