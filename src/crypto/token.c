/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Random tokens (access tokens, session ids, email and SMS codes) and their
 * comparison. Characters are drawn with randombytes_uniform(), which rejects
 * samples instead of reducing modulo the charset size, so every character is
 * equally likely whatever the charset's length. Comparison runs in time that
 * does not depend on where two equal-length tokens differ, so a client cannot
 * guess a token byte by byte from response times.
 */
#include "crypto/crypto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void
token_random(char *out, size_t len, const char *charset)
{
    size_t n = strlen(charset);

    /* An empty charset is a programming error, not a runtime condition. */
    if (n == 0 || n > UINT32_MAX)
        abort();
    for (size_t i = 0; i < len; i++)
        out[i] = charset[randombytes_uniform((uint32_t)n)];
    out[len] = '\0';
}

bool
token_equal(const char *a, const char *b)
{
    size_t la;

    if (a == NULL || b == NULL)
        return false;
    la = strlen(a);
    if (la != strlen(b))
        return false;
    return sodium_memcmp(a, b, la) == 0;
}
