/*
 * ckpt_fate.h - what became of a finished run's checkpoints: each one its trainer
 * recorded is either still on disk, and then recorded kept with its sha256, or gone
 * (deleted by the trainer's `keep:` policy) and recorded so. The sha256 is the one the
 * job's supervisor computed on the job's node (checkpoints.sha256, ckpt_digests.h);
 * the orchestrator reads a checkpoint itself only when there is none.
 */
#ifndef MAINLINE_CKPT_FATE_H
#define MAINLINE_CKPT_FATE_H

#include "ckpt_digest.h"
#include "reg_exec.h"
#include "strbuf.h"

/*
 * Record the fate of every unsettled checkpoint of `run` (the current lineage), whose
 * relative paths are below run_dir, in one transaction: kept, with the sha256 of what is
 * on disk (replacing any sha256 the trainer wrote; its size only when the trainer gave
 * none), or deleted. The sha256 is run_dir/checkpoints.sha256's when that lists the
 * checkpoint with the size it has now (a stat), else hashed here. A checkpoint that
 * cannot be read is left unsettled and said in err. Returns the registry's status
 * (REG_OK also when err says something).
 */
enum reg_status ckpt_fate_record(struct registry *reg, int64_t run, const char *run_dir,
                                 struct strbuf *err);

#endif
