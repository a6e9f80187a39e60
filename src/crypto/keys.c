/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The server's long-term ed25519 signing key: parsing, loading, generating
 * and writing key files. The file holds one line
 * `ed25519 <version> <unpadded base64 seed>`, the format Sydent and Synapse
 * use, so an operator migrating from Sydent keeps the key that homeservers
 * and clients already trust. The seed and the secret key live only in
 * sodium_malloc'd memory or in stack buffers that are wiped after use; error
 * messages never quote the input, so they cannot leak the seed into logs.
 */
#include "crypto/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/mem.h"

/* A key file is one short line; anything bigger is the wrong file. */
#define KEY_FILE_MAX 4096
/* Longest base64 field worth decoding: a few bytes more than a seed's. */
#define SEED_B64_MAX 64

_Static_assert(sizeof("ed25519:") - 1 + SIGNING_KEY_VERSION_MAX <
                   sizeof(((struct signing_key *)NULL)->key_id),
               "key_id must hold the longest version");
_Static_assert(sizeof(((struct signing_key *)NULL)->pk) ==
                   crypto_sign_PUBLICKEYBYTES,
               "pk size");

/* One whitespace-separated field of a key line. */
struct field {
    const char *s;
    size_t len;
};

/* Spaces and tabs separate fields; \r tolerates CRLF files. */
static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Version check over a counted string, shared by parse and generate. */
static bool
version_valid(const char *v, size_t len)
{
    if (len == 0 || len > SIGNING_KEY_VERSION_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        bool good = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '_';

        if (!good)
            return false;
    }
    return true;
}

bool
signing_key_version_valid(const char *version)
{
    if (version == NULL)
        return false;
    return version_valid(version, strlen(version));
}

/*
 * Build a key from a seed. Returns NULL only if secure memory cannot be
 * had (mmap failure), which callers report rather than abort on at startup.
 */
static struct signing_key *
key_from_seed(const char *version,
              size_t vlen,
              const unsigned char seed[SIGNING_KEY_SEED_LEN])
{
    struct signing_key *k = xcalloc(1, sizeof(*k));

    k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (k->sk == NULL) {
        free(k);
        return NULL;
    }
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    /* Nothing writes the secret again; make stray writes fault. */
    sodium_mprotect_readonly(k->sk);
    /* vlen <= SIGNING_KEY_VERSION_MAX, checked by every caller. */
    memcpy(k->key_id, "ed25519:", 8);
    memcpy(k->key_id + 8, version, vlen);
    k->key_id[8 + vlen] = '\0';
    b64_encode_into(k->pk_b64, k->pk, sizeof(k->pk), false);
    return k;
}

/*
 * Find the first line that is neither blank nor a comment.
 * @return its first non-blank character, or NULL if there is none
 */
static const char *
first_key_line(const char *text)
{
    const char *p = text;

    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            return NULL;
        if (*p != '\n' && *p != '#')
            return p;
        p = strchr(p, '\n');
        if (p == NULL)
            return NULL;
        p++;
    }
}

int
signing_key_parse(const char *text, struct signing_key **out, const char **why)
{
    struct field f[3];
    size_t nf = 0;
    const char *p;
    const char *end;
    unsigned char seed[SEED_B64_MAX];
    long n;
    const char *reason = NULL;

    *out = NULL;
    p = first_key_line(text);
    if (p == NULL) {
        reason = "no key line (expected \"ed25519 <version> <seed>\")";
        goto fail;
    }
    end = p + strcspn(p, "\n");
    while (p < end) {
        const char *start;

        while (p < end && is_blank(*p))
            p++;
        if (p == end)
            break;
        start = p;
        while (p < end && !is_blank(*p))
            p++;
        if (nf == 3) {
            reason = "too many fields (expected \"ed25519 <version> <seed>\")";
            goto fail;
        }
        f[nf].s = start;
        f[nf].len = (size_t)(p - start);
        nf++;
    }
    if (nf != 3) {
        reason = "too few fields (expected \"ed25519 <version> <seed>\")";
        goto fail;
    }
    if (f[0].len != 7 || memcmp(f[0].s, "ed25519", 7) != 0) {
        reason = "unsupported key algorithm (only ed25519 is supported)";
        goto fail;
    }
    if (!version_valid(f[1].s, f[1].len)) {
        reason = "bad key version (1-55 characters of [A-Za-z0-9_])";
        goto fail;
    }
    if (f[2].len > SEED_B64_MAX) {
        reason = "seed is not 32 bytes";
        goto fail;
    }
    n = b64_decode(f[2].s, f[2].len, seed, sizeof(seed));
    if (n < 0) {
        reason = "seed is not valid base64";
        goto fail;
    }
    if (n != SIGNING_KEY_SEED_LEN) {
        reason = "seed is not 32 bytes";
        goto fail;
    }
    *out = key_from_seed(f[1].s, f[1].len, seed);
    if (*out == NULL) {
        reason = "cannot allocate secure memory for the key";
        goto fail;
    }
    sodium_memzero(seed, sizeof(seed));
    return 0;

fail:
    sodium_memzero(seed, sizeof(seed));
    if (why != NULL)
        *why = reason;
    return -1;
}

int
signing_key_load_file(const char *path, struct signing_key **out, char **why)
{
    struct stat st;
    char *buf = NULL;
    size_t total = 0;
    const char *reason = NULL;
    int fd;
    int rc = -1;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        reason = strerror(errno);
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        reason = strerror(errno);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        reason = "not a regular file";
        goto done;
    }
    if (st.st_size > KEY_FILE_MAX) {
        reason = "too large for a key file (more than 4096 bytes)";
        goto done;
    }
    buf = sodium_malloc(KEY_FILE_MAX + 2);
    if (buf == NULL) {
        reason = "cannot allocate secure memory";
        goto done;
    }
    /* Read up to one byte past the cap: the file may grow after fstat(). */
    while (total < KEY_FILE_MAX + 1) {
        ssize_t r = read(fd, buf + total, KEY_FILE_MAX + 1 - total);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            reason = strerror(errno);
            goto done;
        }
        if (r == 0)
            break;
        total += (size_t)r;
    }
    if (total > KEY_FILE_MAX) {
        reason = "too large for a key file (more than 4096 bytes)";
        goto done;
    }
    buf[total] = '\0';
    rc = signing_key_parse(buf, out, &reason);

done:
    if (buf != NULL)
        sodium_free(buf); /* wipes the seed text */
    if (fd >= 0)
        close(fd);
    if (rc != 0 && why != NULL)
        *why = xasprintf("%s: %s", path, reason);
    return rc;
}

struct signing_key *
signing_key_generate(const char *version)
{
    unsigned char seed[SIGNING_KEY_SEED_LEN];
    struct signing_key *k;

    if (!signing_key_version_valid(version))
        return NULL;
    randombytes_buf(seed, sizeof(seed));
    k = key_from_seed(version, strlen(version), seed);
    sodium_memzero(seed, sizeof(seed));
    if (k == NULL)
        abort(); /* out of (secure) memory, as xmalloc would */
    return k;
}

/* write(2) all of it, retrying short writes and EINTR. */
static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
signing_key_write_file(const char *path, const struct signing_key *k)
{
    unsigned char seed[SIGNING_KEY_SEED_LEN];
    char seed_b64[48];
    char line[128];
    int len;
    int fd;
    int saved;

    crypto_sign_ed25519_sk_to_seed(seed, k->sk);
    b64_encode_into(seed_b64, seed, sizeof(seed), false);
    sodium_memzero(seed, sizeof(seed));
    /* key_id is "ed25519:<version>" by construction. */
    len = snprintf(line, sizeof(line), "ed25519 %s %s\n", k->key_id + 8,
                   seed_b64);
    sodium_memzero(seed_b64, sizeof(seed_b64));
    if (len < 0 || (size_t)len >= sizeof(line)) {
        sodium_memzero(line, sizeof(line));
        errno = EINVAL;
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
              S_IRUSR | S_IWUSR);
    if (fd < 0) {
        sodium_memzero(line, sizeof(line));
        return -1;
    }
    if (write_all(fd, line, (size_t)len) != 0 || fsync(fd) != 0)
        goto fail;
    sodium_memzero(line, sizeof(line));
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return 0;

fail:
    /* Remove the partial file so that a retry is not refused by O_EXCL. */
    saved = errno;
    sodium_memzero(line, sizeof(line));
    if (fd >= 0)
        close(fd);
    unlink(path);
    errno = saved;
    return -1;
}

void
signing_key_free(struct signing_key *k)
{
    if (k == NULL)
        return;
    sodium_free(k->sk);
    free(k);
}
