/*
 * source_url.h - what a dataset or base-model location means, before anything is
 * fetched: local path or URL, hf:// resolved to an https URL, the member of an
 * archive. Pure string work (no I/O), so every rule here is unit-tested.
 *
 * Forms (docs/sources.md):
 *   data/train.jsonl, /abs/train.jsonl        a local path
 *   file:///abs/train.jsonl                    a local path written as a URL
 *   https://host/x.jsonl, http://...           fetched with libcurl
 *   hf://datasets/ORG/NAME[@REV]/FILE          {endpoint}/datasets/ORG/NAME/resolve/REV/FILE
 *   hf://ORG/MODEL[@REV]/FILE                  {endpoint}/ORG/MODEL/resolve/REV/FILE
 *   hf://ORG/MODEL[@REV]                       the model's directory: its files are
 *                                              {endpoint}/ORG/MODEL/resolve/REV/NAME
 * In a URL (never in a plain path) "#MEMBER" names a file inside an archive.
 *
 * Errors: functions returning int return 0, or -1 with a message appended to *err.
 * Ownership: every char * a function returns or stores in a struct is malloc'd and
 * owned by the caller (surl_free() frees a struct surl).
 */
#ifndef MAINLINE_SOURCE_URL_H
#define MAINLINE_SOURCE_URL_H

#include "strbuf.h"

#define SURL_HF_DEFAULT_ENDPOINT "https://huggingface.co"

enum surl_kind {
    SURL_LOCAL,   /* a plain path or file:// */
    SURL_HTTP,    /* http:// or https:// (hf://.../FILE resolves to this) */
    SURL_HF_MODEL_DIR,   /* hf://ORG/MODEL[@REV]: a model's directory on the hub */
};

struct surl {
    enum surl_kind kind;
    char *fetch;   /* SURL_LOCAL: the file path; SURL_HTTP: the URL to request;
                    * SURL_HF_MODEL_DIR: the directory's URL, ending in '/' */
    char *name;    /* the file's name (last path component), e.g. "train.jsonl";
                    * SURL_HF_MODEL_DIR: the model's name ("Qwen3-0.6B") */
};

/* 1 if s starts with a scheme ("letters://"), whether or not mainline supports it. */
int surl_has_scheme(const char *s);

/*
 * Split "URL#MEMBER" into the URL and the member (NULL when there is no '#').
 * Only for URLs: a '#' in a plain path is part of the file name.
 */
void surl_split_member(const char *s, char **url, char **member);

/*
 * Parse a URL (file, http, https, hf) and resolve hf:// against `hf_endpoint`
 * (NULL: SURL_HF_DEFAULT_ENDPOINT). On error *out is zeroed.
 */
int surl_parse(const char *url, const char *hf_endpoint, struct surl *out, struct strbuf *err);
void surl_free(struct surl *u);   /* accepts a zeroed struct */

/* 1 if url parses as hf://ORG/MODEL[@REV], a model's whole directory. */
int surl_is_hf_model_dir(const char *url);

/* The URL of `file` (a relative path, percent-encoded here) in a SURL_HF_MODEL_DIR. */
char *surl_dir_file(const struct surl *dir, const char *file);

/* 1 if the name ends in an archive suffix mainline unpacks (.tar.gz, .tgz,
 * .tar.zst, .tar.xz, .tar, .zip). */
int surl_is_archive(const char *name);

/*
 * Check a path inside an archive: relative, no "..", no empty component. Returns 0,
 * or -1 with the reason (without the path) in *err.
 */
int surl_check_relative(const char *path, struct strbuf *err);

#endif
