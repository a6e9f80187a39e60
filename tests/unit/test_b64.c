/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests for unpadded base64 (src/crypto/b64.c): the RFC 4648 vectors the
 * spec quotes, both alphabets, padded input, and the inputs the decoder must
 * refuse.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "tap.h"

/* RFC 4648 section 10, with the padding removed. */
static const struct {
    const char *plain;
    const char *unpadded;
    const char *padded;
} rfc[] = {
    {"", "", ""},
    {"f", "Zg", "Zg=="},
    {"fo", "Zm8", "Zm8="},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg", "Zm9vYg=="},
    {"fooba", "Zm9vYmE", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

/* Decode a NUL-terminated string; @return the length or -1. */
static long
dec(const char *in, unsigned char *out, size_t cap)
{
    return b64_decode(in, strlen(in), out, cap);
}

static void
test_rfc(void)
{
    unsigned char buf[16];

    for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
        size_t n = strlen(rfc[i].plain);
        char *e = b64_encode(rfc[i].plain, n, false);
        char into[16];
        long r;

        is_str(e, rfc[i].unpadded, "encode \"%s\"", rfc[i].plain);
        is_int((long long)b64_encoded_len(n), (long long)strlen(e),
               "encoded_len(%zu)", n);
        b64_encode_into(into, rfc[i].plain, n, false);
        is_str(into, e, "encode_into \"%s\"", rfc[i].plain);
        free(e);
        r = dec(rfc[i].unpadded, buf, sizeof(buf));
        ok(r == (long)n && memcmp(buf, rfc[i].plain, n) == 0,
           "decode unpadded \"%s\"", rfc[i].unpadded);
        r = dec(rfc[i].padded, buf, sizeof(buf));
        ok(r == (long)n && memcmp(buf, rfc[i].plain, n) == 0,
           "decode padded \"%s\"", rfc[i].padded);
    }
}

static void
test_alphabets(void)
{
    static const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    unsigned char buf[8];
    char *e;

    e = b64_encode(bytes, 2, false);
    is_str(e, "+/8", "standard alphabet uses + and /");
    free(e);
    e = b64_encode(bytes, 2, true);
    is_str(e, "-_8", "URL-safe alphabet uses - and _");
    free(e);
    e = b64_encode(bytes, 3, true);
    is_str(e, "-_-_", "URL-safe full quantum");
    free(e);
    ok(dec("+/8", buf, sizeof(buf)) == 2 && buf[0] == 0xfb && buf[1] == 0xff,
       "decode standard");
    ok(dec("-_8", buf, sizeof(buf)) == 2 && buf[0] == 0xfb && buf[1] == 0xff,
       "decode URL-safe");
    ok(dec("-_8=", buf, sizeof(buf)) == 2, "decode URL-safe padded");
    is_int(dec("+_-_", buf, sizeof(buf)), -1, "mixed alphabets rejected");
    is_int(dec("-/-/", buf, sizeof(buf)), -1, "mixed alphabets rejected (2)");
}

static void
test_bad(void)
{
    static const struct {
        const char *in;
        const char *why;
    } bad[] = {
        {"Z", "length % 4 == 1"},
        {"Zm9vY", "length % 4 == 1 after a quantum"},
        {"Zg=", "incomplete padding"},
        {"Zg===", "too much padding"},
        {"Zm8==", "too much padding after 3 chars"},
        {"Zm9v=", "padding after a full quantum"},
        {"Zm9v====", "a whole quantum of padding"},
        {"=", "padding only"},
        {"====", "four padding characters only"},
        {"Zg==Zg==", "padding in the middle"},
        {"Zm9v!", "invalid character"},
        {"Zm 9v", "embedded space"},
        {"Zm9v\n", "trailing newline"},
    };
    unsigned char buf[16];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(dec(bad[i].in, buf, sizeof(buf)), -1, "reject: %s", bad[i].why);
    is_int(b64_decode("Zm\0v", 4, buf, sizeof(buf)), -1, "reject NUL");
    is_int(b64_decode("Zm8xxx", 3, buf, sizeof(buf)), 2,
           "in_len is honoured (no NUL needed)");
    /* The spec's test seed ends in such bits; Python ignores them. */
    ok(dec("Zh", buf, sizeof(buf)) == 1 && buf[0] == 'f',
       "non-zero trailing bits ignored (2 chars)");
    ok(dec("Zm9", buf, sizeof(buf)) == 2 && memcmp(buf, "fo", 2) == 0,
       "non-zero trailing bits ignored (3 chars)");
}

static void
test_capacity(void)
{
    unsigned char buf[8];

    is_int(dec("Zm9vYmFy", buf, 5), -1, "6 bytes into 5: rejected");
    is_int(dec("Zm9vYmFy", buf, 6), 6, "6 bytes into 6: fits");
    is_int(dec("Zg==", buf, 0), -1, "1 byte into 0: rejected");
    is_int(dec("", NULL, 0), 0, "empty into nothing");
}

static void
test_roundtrip(void)
{
    unsigned char in[64];
    unsigned char out[64];
    int good = 0;

    randombytes_buf(in, sizeof(in));
    for (size_t n = 0; n <= sizeof(in); n++) {
        for (int url = 0; url < 2; url++) {
            char *e = b64_encode(in, n, url == 1);
            long r = b64_decode(e, strlen(e), out, n);

            if (r == (long)n && memcmp(in, out, n) == 0 &&
                strlen(e) == b64_encoded_len(n))
                good++;
            free(e);
        }
    }
    is_int(good, 2 * (sizeof(in) + 1), "round trip of 0..64 random bytes");
}

int
main(void)
{
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    plan_no_plan();
    test_rfc();
    test_alphabets();
    test_bad();
    test_capacity();
    test_roundtrip();
    return done_testing();
}
