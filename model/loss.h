/*
 * loss.h - training objectives over the logits of a batch, kept apart from the
 * model so another objective (DPO) can sit beside SFT.
 *
 * SFT: the token-weighted mean negative log-likelihood over the positions whose
 * mask is 1 (completion tokens; the prompt is masked out). The forward ADDS the
 * NLL sum (in double) and the count of positions into a struct loss_sum, so the
 * caller aggregates micro-batches, or a whole validation set, exactly:
 * mean = sum / count over everything. The backward takes the total count of the
 * optimizer step (every micro-batch) and writes dlogits already divided by it.
 *
 * Positions: N = B * T rows; targets[i] is the token that should follow input
 * position i (read only where mask[i] is non-zero; elsewhere it may be anything).
 */
#ifndef MAINLINE_LOSS_H
#define MAINLINE_LOSS_H

struct loss_sum {
    double sum;          /* sum of NLL over counted positions */
    long count;          /* positions counted */
};

/* Positions with mask[i] != 0 among N (1 marks a completion token). */
long sft_loss_count(const unsigned char *mask, int N);

/* acc += NLL sum and count of logits (N, V) against targets (N) where mask (N) is non-zero.
 * -1 (acc untouched) when a counted target is outside [0, V). */
int sft_loss_forward(struct loss_sum *acc, const float *logits, const int *targets,
                     const unsigned char *mask, int N, int V);
/* dlogits (N, V) = (softmax - onehot) / total_count on masked-in rows, 0 elsewhere.
 * WRITES dlogits (which may alias logits, destroying them). total_count > 0. */
void sft_loss_backward(float *dlogits, const float *logits, const int *targets,
                       const unsigned char *mask, int N, int V, long total_count);

/* The same over packed logits: only the rows of the positions whose mask is non-zero,
 * in position order (model_forward_masked's a->logits with the loss mask as head mask),
 * sft_loss_count(mask, N) rows of V. Results equal the unpacked calls' up to the order
 * of the double sum. */
int sft_loss_forward_packed(struct loss_sum *acc, const float *logits, const int *targets,
                            const unsigned char *mask, int N, int V);
/* dlogits (count, V) = (softmax - onehot) / total_count of the packed rows. WRITES; may
 * alias logits. */
void sft_loss_backward_packed(float *dlogits, const float *logits, const int *targets,
                              const unsigned char *mask, int N, int V, long total_count);

/* sum / count, 0 when nothing was counted. */
double loss_mean(const struct loss_sum *acc);

#endif
