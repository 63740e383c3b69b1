/*
 * strbuf.h - a growable, always NUL-terminated byte string.
 *
 * A zeroed struct strbuf (STRBUF_INIT) is a valid empty buffer. sb_detach() hands
 * the storage to the caller (who frees it with free()) and leaves the buffer empty.
 */
#ifndef MAINLINE_STRBUF_H
#define MAINLINE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "error.h"

struct strbuf {
    char *buf;    /* NUL-terminated; NULL only while alloc == 0 */
    size_t len;
    size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* The same with a va_list (left consumed, as by vsnprintf). */
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);
/* s as one word for sh, in single quotes (' becomes '\''). */
void sb_add_shell_quoted(struct strbuf *sb, const char *s);
void sb_reset(struct strbuf *sb);
/* The contents as a C string; "" for an empty buffer (never NULL). */
const char *sb_str(const struct strbuf *sb);
/* Caller owns the returned string; the buffer is left empty. Never NULL. */
char *sb_detach(struct strbuf *sb);
void sb_free(struct strbuf *sb);

#endif
