/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A growable byte buffer with a hard cap fixed at init (curl's "max size at
 * init" rule): everything read from the network goes through one of these, so
 * no input can make us allocate more than the cap.
 */
#ifndef GLIA_UTIL_BUF_H
#define GLIA_UTIL_BUF_H

#include <stddef.h>

struct buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t alloc;
    size_t cap; /* len never exceeds this */
};

/** Initialise an empty buffer that refuses to grow past cap bytes. */
void buf_init(struct buf *b, size_t cap);
/** Append n bytes. @return 0, or -1 (buffer unchanged) if the cap is hit. */
int buf_append(struct buf *b, const void *data, size_t n);
/** Append a NUL-terminated string. @return as buf_append(). */
int buf_puts(struct buf *b, const char *s);
/** Append formatted text. @return as buf_append(). */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/** Hand the data to the caller (who free()s it); the buffer becomes empty. */
char *buf_steal(struct buf *b, size_t *len);
/** Release the memory. */
void buf_free(struct buf *b);

#endif
