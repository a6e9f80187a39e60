/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Allocation wrappers. Out of memory is not a condition a request path can
 * recover from in any useful way, so these abort instead of returning NULL
 * (as Redis and GNUnet do). Callers never check for NULL.
 */
#ifndef GLIA_UTIL_MEM_H
#define GLIA_UTIL_MEM_H

#include <stddef.h>

/** malloc() that aborts on failure. Caller frees with free(). */
void *xmalloc(size_t n);
/** calloc() that aborts on failure. Caller frees with free(). */
void *xcalloc(size_t nmemb, size_t size);
/** realloc() that aborts on failure. */
void *xrealloc(void *p, size_t n);
/** strdup() that aborts on failure; xstrdup(NULL) returns NULL. */
char *xstrdup(const char *s);
/** strndup() that aborts on failure. */
char *xstrndup(const char *s, size_t n);
/** asprintf()-alike that aborts on failure. Caller frees with free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** free() a struct member (or any lvalue) and set it to NULL. */
#define XFREE(p)                                                               \
    do {                                                                       \
        free(p);                                                               \
        (p) = NULL;                                                            \
    } while (0)

#endif
