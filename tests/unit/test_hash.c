/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests for the sha256 lookup hash (src/crypto/hash.c) against the spec's
 * vectors, and for random tokens and their comparison (src/crypto/token.c).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "tap.h"

static void
test_lookup_hash(void)
{
    /* Spec "sha256" lookup example, pepper "matrixrocks". */
    static const struct {
        const char *address;
        const char *medium;
        const char *hash;
    } v[] = {
        {"alice@example.com", "email",
         "4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc"},
        {"bob@example.com", "email",
         "LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8"},
        {"18005552067", "msisdn",
         "nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I"},
    };
    char out[LOOKUP_HASH_LEN + 1];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        lookup_hash_sha256(v[i].address, v[i].medium, "matrixrocks", out);
        is_str(out, v[i].hash, "lookup hash of %s %s", v[i].address,
               v[i].medium);
    }
    lookup_hash_sha256("", "", "", out);
    ok(strlen(out) == LOOKUP_HASH_LEN &&
           strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789-_") == LOOKUP_HASH_LEN,
       "43 URL-safe characters");
}

/* @return true if every character of s is in set. */
static bool
all_in(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

static void
test_token_random(void)
{
    char a[65];
    char b[65];
    char digits[10001];
    int count[10] = {0};
    bool even = true;

    token_random(a, 64, TOKEN_ALNUM);
    ok(strlen(a) == 64 && all_in(a, TOKEN_ALNUM), "64 alphanumerics");
    token_random(b, 64, TOKEN_ALNUM);
    ok(strcmp(a, b) != 0, "two tokens differ");
    token_random(a, 6, TOKEN_DIGITS);
    ok(strlen(a) == 6 && all_in(a, TOKEN_DIGITS), "6 digits");
    memset(a, 'z', sizeof(a));
    token_random(a, 0, TOKEN_ALNUM);
    ok(a[0] == '\0', "length 0 gives the empty string");
    token_random(a, 16, "x");
    ok(strcmp(a, "xxxxxxxxxxxxxxxx") == 0, "one-character charset");

    /*
     * Loose uniformity check: with 10000 digits each count is 1000 +- 30,
     * so [800, 1200] fails with probability far below 1e-9.
     */
    token_random(digits, 10000, TOKEN_DIGITS);
    for (int i = 0; i < 10000; i++)
        count[digits[i] - '0']++;
    for (int d = 0; d < 10; d++) {
        if (count[d] < 800 || count[d] > 1200)
            even = false;
    }
    ok(even, "digits roughly uniform");
}

static void
test_token_equal(void)
{
    ok(token_equal("abcDEF123", "abcDEF123"), "equal tokens");
    ok(!token_equal("abcDEF123", "abcDEF124"), "last character differs");
    ok(!token_equal("abcDEF123", "bbcDEF123"), "first character differs");
    ok(!token_equal("abc", "abcd"), "prefix is not equal");
    ok(!token_equal("abcd", "abc"), "longer is not equal");
    ok(token_equal("", ""), "empty strings equal");
    ok(!token_equal(NULL, "a") && !token_equal("a", NULL) &&
           !token_equal(NULL, NULL),
       "NULL never equal");
}

int
main(void)
{
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    plan_no_plan();
    test_lookup_hash();
    test_token_random();
    test_token_equal();
    return done_testing();
}
