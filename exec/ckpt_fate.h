/*
 * ckpt_fate.h - what became of a finished run's checkpoints: each one its trainer
 * recorded is either still on disk, and then hashed once and recorded kept with its
 * sha256, or gone (deleted by the trainer's `keep:` policy) and recorded so.
 */
#ifndef MAINLINE_CKPT_FATE_H
#define MAINLINE_CKPT_FATE_H

#include "digest.h"
#include "reg_exec.h"
#include "strbuf.h"

/* sha256 and bytes of a checkpoint on disk: of a file, its contents; of a directory,
 * the sha256 of the text `sha256sum` prints for every regular file below it (sorted
 * by path relative to the directory, "HEX  PATH\n" each) and the files' total bytes.
 * rows is -1. Returns 0, 1 when `path` does not exist, or -1 with a message in err. */
int ckpt_digest(const char *path, struct file_digest *out, struct strbuf *err);

/*
 * Record the fate of every unsettled checkpoint of `run` (the current lineage), whose
 * relative paths are below run_dir, in one transaction: kept, with the sha256 of what is
 * on disk, hashed here once (replacing any sha256 the trainer wrote; its size only when
 * the trainer gave none), or deleted. A checkpoint that cannot be read is left unsettled and said in err. Returns
 * the registry's status (REG_OK also when err says something).
 */
enum reg_status ckpt_fate_record(struct registry *reg, int64_t run, const char *run_dir,
                                 struct strbuf *err);

#endif
