/*
 * safetensors.h - a defensive reader and an atomic F32 writer for the
 * safetensors format (Hugging Face): an 8-byte little-endian header length N,
 * N bytes of JSON, then the data section the JSON's data_offsets point into.
 *
 * The reader treats the file as hostile: every number in the header is checked
 * (length against the file, offsets against the data section, byte counts against
 * dtype and shape, overflow, overlaps) before anything is read, and tensor data is
 * read with pread only when copied out, so opening a multi-gigabyte file costs the
 * header and nothing more. It is not a general tensor library: data comes out as
 * float32 (from F32, F16 or BF16); other dtypes are recognised for validation
 * only.
 *
 * Errors: every function that can fail returns 0 or -1 and appends one message
 * naming the file (and the tensor) to *err. Nothing here prints or exits.
 *
 * Ownership: sft_open() fills a struct sft_file that owns its descriptor, names
 * and metadata; sft_free() releases all of it and accepts a zeroed struct.
 * Tensor and metadata pointers returned by lookups are borrowed from the file and
 * live until sft_free(). sft_write() borrows everything it is given.
 */
#ifndef MAINLINE_SAFETENSORS_H
#define MAINLINE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define SFT_MAX_DIMS 8                        /* more dimensions are refused */
#define SFT_MAX_HEADER ((uint64_t)100 << 20)  /* 100 MiB, as the reference reader */

enum sft_dtype {
    SFT_F32, SFT_F16, SFT_BF16,               /* readable as float32 */
    SFT_F64, SFT_I64, SFT_U64, SFT_I32, SFT_U32, SFT_I16, SFT_U16,
    SFT_I8, SFT_U8, SFT_BOOL, SFT_F8_E4M3, SFT_F8_E5M2,
    SFT_DTYPE_COUNT
};

struct sft_tensor {
    char *name;                  /* owned by the file */
    enum sft_dtype dtype;
    int ndim;                    /* 0 for a scalar */
    size_t shape[SFT_MAX_DIMS];
    size_t numel;                /* product of shape (1 for a scalar) */
    size_t begin, end;           /* byte range inside the data section */
};

struct sft_meta {
    const char *key, *value;
};

struct sft_file {
    char *path;                  /* owned copy, for messages */
    int fd;                      /* -1 when closed */
    uint64_t data_start;         /* file offset of the data section: 8 + header length */
    uint64_t data_len;           /* bytes in the data section */
    struct sft_tensor *tensors;  /* sorted by name */
    size_t n_tensors;
    struct sft_meta *meta;       /* __metadata__, sorted by key; strings owned */
    size_t n_meta;
};

/* Open and validate `path`. On failure *f is left zeroed (fd -1). */
int sft_open(const char *path, struct sft_file *f, struct strbuf *err);
void sft_free(struct sft_file *f);

/* The tensor called `name`, or NULL. Binary search. */
const struct sft_tensor *sft_find(const struct sft_file *f, const char *name);
/* The __metadata__ value for key, or NULL. */
const char *sft_meta_get(const struct sft_file *f, const char *key);

/* "F32", "BF16"... */
const char *sft_dtype_name(enum sft_dtype d);
size_t sft_dtype_size(enum sft_dtype d);

/* 0 when t has exactly shape[0..ndim) and a float dtype (F32, F16, BF16), else -1
 * with a message naming the file and the tensor. Reads nothing. */
int sft_check_f32(const struct sft_file *f, const struct sft_tensor *t, const size_t *shape,
                  int ndim, struct strbuf *err);

/* Copy tensor t into out (numel floats), converting F16/BF16 to float32, after the
 * checks of sft_check_f32(). */
int sft_read_f32(const struct sft_file *f, const struct sft_tensor *t, const size_t *shape,
                 int ndim, float *out, struct strbuf *err);
/* The same, looking the tensor up by name first (missing -> error). */
int sft_read_f32_named(const struct sft_file *f, const char *name, const size_t *shape,
                       int ndim, float *out, struct strbuf *err);

/* Scalar conversions, exposed for tests. */
float sft_f16_to_f32(uint16_t h);
float sft_bf16_to_f32(uint16_t h);

/* One tensor to write: data holds the product of shape floats. */
struct sft_entry {
    const char *name;
    int ndim;
    size_t shape[SFT_MAX_DIMS];
    const float *data;
};

/*
 * Write F32 tensors to `path` atomically (a temporary beside it, fsync, rename,
 * fsync of the directory): names sorted, data laid out in name order, the header
 * padded with spaces to a multiple of 8 bytes. meta (n_meta pairs, may be NULL)
 * becomes __metadata__. Duplicate or empty names are refused. Data is streamed to
 * the file, never copied into one buffer.
 */
int sft_write(const char *path, const struct sft_entry *entries, size_t n,
              const struct sft_meta *meta, size_t n_meta, struct strbuf *err);

#endif
