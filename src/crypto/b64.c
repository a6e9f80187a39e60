/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unpadded base64 (RFC 4648 without the `=` padding), the encoding Matrix
 * uses for keys, signatures and lookup hashes. We write our own rather than
 * use libsodium's sodium_bin2base64 because decoding must accept both
 * alphabets, with or without padding, while staying strict about everything
 * else; see b64_decode() in crypto.h.
 */
#include "crypto/crypto.h"

#include <limits.h>
#include <stdint.h>

#include "util/mem.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Which alphabet-specific characters a decoder has seen so far. */
enum alphabet {
    ALPHA_EITHER,
    ALPHA_STD,
    ALPHA_URL,
};

size_t
b64_encoded_len(size_t n)
{
    static const size_t tail[3] = {0, 2, 3};

    return n / 3 * 4 + tail[n % 3];
}

void
b64_encode_into(char *out, const void *in, size_t len, bool urlsafe)
{
    const char *a = urlsafe ? url_alphabet : std_alphabet;
    const unsigned char *p = in;
    size_t i = 0;
    size_t o = 0;

    for (; len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        out[o++] = a[v >> 18 & 0x3F];
        out[o++] = a[v >> 12 & 0x3F];
        out[o++] = a[v >> 6 & 0x3F];
        out[o++] = a[v & 0x3F];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;

        out[o++] = a[v >> 18 & 0x3F];
        out[o++] = a[v >> 12 & 0x3F];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

        out[o++] = a[v >> 18 & 0x3F];
        out[o++] = a[v >> 12 & 0x3F];
        out[o++] = a[v >> 6 & 0x3F];
    }
    out[o] = '\0';
}

char *
b64_encode(const void *in, size_t len, bool urlsafe)
{
    char *out = xmalloc(b64_encoded_len(len) + 1);

    b64_encode_into(out, in, len, urlsafe);
    return out;
}

/*
 * Value of one base64 character, or -1 if it is in neither alphabet or in
 * the other alphabet from the one already seen. Branches instead of a table
 * so the shared characters need no alphabet bookkeeping.
 */
static int
char_value(char c, enum alphabet *seen)
{
    enum alphabet want = ALPHA_EITHER;
    int v;

    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    switch (c) {
    case '+':
        want = ALPHA_STD;
        v = 62;
        break;
    case '/':
        want = ALPHA_STD;
        v = 63;
        break;
    case '-':
        want = ALPHA_URL;
        v = 62;
        break;
    case '_':
        want = ALPHA_URL;
        v = 63;
        break;
    default:
        return -1;
    }
    if (*seen != ALPHA_EITHER && *seen != want)
        return -1;
    *seen = want;
    return v;
}

long
b64_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap)
{
    enum alphabet seen = ALPHA_EITHER;
    size_t n = in_len;
    size_t pad = 0;
    size_t out_len;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    while (n > 0 && in[n - 1] == '=') {
        n--;
        pad++;
    }
    /* Padding, if any, must complete the final quantum exactly. */
    if (pad > 0 && (in_len % 4 != 0 || pad != 4 - n % 4 || pad > 2))
        return -1;
    if (n % 4 == 1)
        return -1;
    out_len = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (out_len > out_cap || out_len > LONG_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = char_value(in[i], &seen);

        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xFF);
        }
    }
    /*
     * The unused low bits of the last character are ignored, not required
     * to be zero: the spec's own test seed (YJDB...XA1) has them set, and
     * Python's decoder, which Synapse and Sydent use, ignores them too.
     */
    return (long)out_len;
}
