/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Percent-encoding for query values and form bodies: everything but RFC
 * 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX. Our own
 * copy, not libcurl's, so callers holding secrets can wipe the result and
 * know no other copy was made.
 */
#ifndef GLIA_UTIL_URL_H
#define GLIA_UTIL_URL_H

/** @return the encoded copy of s (caller frees with free()) */
char *url_encode(const char *s);

#endif
