/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Capped growable buffer; see buf.h. */
#include "util/buf.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

/* Make room for n more bytes plus the terminating NUL. */
static int
reserve(struct buf *b, size_t n)
{
    size_t want;
    size_t alloc;

    if (n > b->cap || b->len > b->cap - n)
        return -1;
    want = b->len + n + 1;
    if (want <= b->alloc)
        return 0;
    alloc = b->alloc == 0 ? 256 : b->alloc;
    while (alloc < want)
        alloc *= 2;
    if (alloc > b->cap + 1)
        alloc = b->cap + 1;
    b->data = xrealloc(b->data, alloc);
    b->alloc = alloc;
    return 0;
}

int
buf_append(struct buf *b, const void *data, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *
buf_steal(struct buf *b, size_t *len)
{
    char *p = b->data;

    if (len != NULL)
        *len = b->len;
    if (p == NULL)
        p = xstrdup("");
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

void
buf_free(struct buf *b)
{
    XFREE(b->data);
    b->len = 0;
    b->alloc = 0;
}
