/*
 * cmd_tokenize.c - `mainline tokenize MODEL_DIR`: text on stdin to token ids (one
 * JSON array on one line), or with --decode a JSON array of ids to text, with the
 * tokenizer mainline's trainer and evaluator would use for that model.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "model_io.h"
#include "tokenizer.h"

static const char usage[] =
    "usage: mainline tokenize MODEL [--add-special] [--decode [--skip-special]] [--jsonl]\n";

/* The tokenizer of MODEL: its tokenizer.json when it has one (no weights read),
 * else the one tokenizer_for_model() gives the model. */
static int load_tokenizer(const char *path, struct tokenizer *tok, struct strbuf *err)
{
    char *json = path_join(path, "tokenizer.json");
    FILE *f = fopen(json, "rb");
    free(json);
    if (f) {
        fclose(f);
        return tokenizer_load_hf(path, tok, err);
    }
    struct model m;
    memset(&m, 0, sizeof(m));
    if (model_load(path, &m, err) < 0)
        return -1;
    int rc = tokenizer_for_model(path, &m.cfg, tok, err);
    model_free(&m);
    return rc;
}

static int read_stdin(struct strbuf *in)
{
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        sb_add(in, buf, n);
    return ferror(stdin) ? -1 : 0;
}

/* Append the ids of text as a JSON array and a newline. */
static void encode_one(const struct tokenizer *tok, const char *text, size_t len,
                       int add_special, struct strbuf *out)
{
    int *ids;
    size_t n;
    if (add_special)
        tokenizer_encode_special(tok, text, len, &ids, &n);
    else
        tokenizer_encode(tok, text, len, 0, 0, &ids, &n);
    sb_addc(out, '[');
    for (size_t i = 0; i < n; i++)
        sb_addf(out, i ? ",%d" : "%d", ids[i]);
    sb_adds(out, "]\n");
    free(ids);
}

static int flush_out(struct strbuf *out)
{
    fwrite(out->buf ? out->buf : "", 1, out->len, stdout);
    sb_free(out);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FATAL;
}

static int encode(const struct tokenizer *tok, const struct strbuf *in, int add_special)
{
    struct strbuf out = STRBUF_INIT;
    encode_one(tok, in->buf ? in->buf : "", in->len, add_special, &out);
    return flush_out(&out);
}

/* --jsonl: a JSON string per line in, an array per line out. */
static int encode_lines(const struct tokenizer *tok, const struct strbuf *in, int add_special)
{
    struct strbuf out = STRBUF_INIT;
    size_t line = 0;
    for (const char *p = in->buf, *end = in->buf + in->len; p && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_error_t jerr;
        json_t *s = json_loadb(p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!json_is_string(s)) {
            fprintf(stderr, "error: standard input:%zu: not a JSON string\n", line + 1);
            json_decref(s);
            sb_free(&out);
            return EXIT_FAILURES;
        }
        encode_one(tok, json_string_value(s), json_string_length(s), add_special, &out);
        json_decref(s);
        p += len + 1;
    }
    return flush_out(&out);
}

/* The text of a JSON array of ids appended to out; where says which input. */
static int decode_one(const struct tokenizer *tok, const char *text, size_t len,
                      int skip_special, const char *where, struct strbuf *out)
{
    json_error_t jerr;
    json_t *arr = json_loadb(text, len, 0, &jerr), *v;
    size_t i;
    if (!json_is_array(arr)) {
        fprintf(stderr, "error: %s: %s\n", where,
                arr ? "not a JSON array of token ids" : jerr.text);
        json_decref(arr);
        return EXIT_FAILURES;
    }
    int *ids = malloc((json_array_size(arr) + 1) * sizeof(int));
    json_array_foreach(arr, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= tok->vocab_size) {
            fprintf(stderr, "error: %s: element %zu is not a token id of this "
                    "tokenizer (0..%d)\n", where, i, tok->vocab_size - 1);
            free(ids);
            json_decref(arr);
            return EXIT_FAILURES;
        }
        ids[i] = (int)json_integer_value(v);
    }
    int rc = tokenizer_decode(tok, ids, json_array_size(arr), skip_special, out);
    if (rc < 0)
        fprintf(stderr, "error: %s: an id outside the vocabulary\n", where);
    free(ids);
    json_decref(arr);
    return rc < 0 ? EXIT_FAILURES : EXIT_OK;
}

static int decode(const struct tokenizer *tok, const struct strbuf *in, int skip_special)
{
    struct strbuf out = STRBUF_INIT;
    int rc = decode_one(tok, in->buf ? in->buf : "", in->len, skip_special, "standard input",
                        &out);
    if (rc != EXIT_OK) {
        sb_free(&out);
        return rc;
    }
    return flush_out(&out);
}

/* --decode --jsonl: an array per line in, the text as a JSON string per line out. */
static int decode_lines(const struct tokenizer *tok, const struct strbuf *in, int skip_special)
{
    struct strbuf out = STRBUF_INIT, text = STRBUF_INIT;
    size_t line = 0;
    int rc = EXIT_OK;
    for (const char *p = in->buf, *end = in->buf + in->len; p && p < end && rc == EXIT_OK;
         line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char where[64];
        snprintf(where, sizeof(where), "standard input:%zu", line + 1);
        sb_reset(&text);
        rc = decode_one(tok, p, len, skip_special, where, &text);
        if (rc == EXIT_OK) {
            json_t *s = json_stringn_nocheck(text.buf ? text.buf : "", text.len);
            char *enc = json_dumps(s, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
            sb_adds(&out, enc);
            sb_addc(&out, '\n');
            free(enc);
            json_decref(s);
        }
        p += len + 1;
    }
    sb_free(&text);
    if (rc != EXIT_OK) {
        sb_free(&out);
        return rc;
    }
    return flush_out(&out);
}

int cmd_tokenize(int argc, char **argv, struct cli *cli)
{
    static const struct option opts[] = {
        { "add-special", no_argument, NULL, 'a' },
        { "decode", no_argument, NULL, 'd' },
        { "skip-special", no_argument, NULL, 's' },
        { "jsonl", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    int add_special = 0, do_decode = 0, skip_special = 0, lines = 0, c;
    (void)cli;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a')
            add_special = 1;
        else if (c == 'd')
            do_decode = 1;
        else if (c == 's')
            skip_special = 1;
        else if (c == 'j')
            lines = 1;
        else
            return cli_usage(usage);
    }
    if (optind != argc - 1 || (add_special && do_decode) || (skip_special && !do_decode))
        return cli_usage(usage);
    struct tokenizer tok;
    struct strbuf err = STRBUF_INIT, in = STRBUF_INIT;
    if (load_tokenizer(argv[optind], &tok, &err) < 0) {
        fprintf(stderr, "error: %s\n", sb_str(&err));
        sb_free(&err);
        return EXIT_FAILURES;
    }
    int rc;
    if (read_stdin(&in) < 0) {
        perror("error: standard input");
        rc = EXIT_FATAL;
    } else {
        rc = do_decode ? (lines ? decode_lines : decode)(&tok, &in, skip_special)
                       : (lines ? encode_lines : encode)(&tok, &in, add_special);
    }
    tokenizer_free(&tok);
    sb_free(&in);
    sb_free(&err);
    return rc;
}
