/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests for the long-term signing key (src/crypto/keys.c): parsing Sydent's
 * key file format and its variations, refusing bad lines without quoting
 * them, and generate -> write -> load round trips in a temporary directory,
 * including the never-overwrite and mode 0600 guarantees.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "tap.h"
#include "util/mem.h"

#define APPENDIX_SEED "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
#define APPENDIX_PK   "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"
#define SIG_EMPTY                                                              \
    "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLw"  \
    "YGYZzuHGZKM5ZAQ"

/* Parse text that must yield the appendix key with the given key id. */
static void
parse_good(const char *text, const char *key_id, const char *name)
{
    struct signing_key *k = NULL;
    const char *why = NULL;
    int rc = signing_key_parse(text, &k, &why);

    ok(rc == 0 && k != NULL && strcmp(k->key_id, key_id) == 0 &&
           strcmp(k->pk_b64, APPENDIX_PK) == 0,
       "parse: %s", name);
    if (rc != 0)
        diag("  why: %s", why != NULL ? why : "(null)");
    signing_key_free(k);
}

/* Parse text that must fail, with a reason that does not quote it. */
static void
parse_bad(const char *text, const char *secret, const char *name)
{
    static struct signing_key sentinel;
    struct signing_key *k = &sentinel; /* must be reset to NULL */
    const char *why = NULL;
    int rc = signing_key_parse(text, &k, &why);

    ok(rc == -1 && k == NULL && why != NULL &&
           (secret[0] == '\0' || strstr(why, secret) == NULL),
       "refuse: %s (%s)", name, why != NULL ? why : "no reason");
}

static void
test_parse(void)
{
    unsigned char bytes[33] = {0};
    char *short_seed;
    char *long_seed;

    parse_good("ed25519 1 " APPENDIX_SEED, "ed25519:1", "Sydent line");
    parse_good("ed25519 1 " APPENDIX_SEED "\n", "ed25519:1",
               "trailing newline");
    parse_good("ed25519 1 " APPENDIX_SEED "=", "ed25519:1", "padded seed");
    parse_good("ed25519 1 " APPENDIX_SEED " \t\r\n\n", "ed25519:1",
               "trailing whitespace and CRLF");
    parse_good("ed25519\t a_B9  " APPENDIX_SEED, "ed25519:a_B9",
               "tabs and runs of spaces");
    parse_good("\n# glia key\n  \ned25519 0 " APPENDIX_SEED "\n", "ed25519:0",
               "leading blank and comment lines");
    parse_good("ed25519 first " APPENDIX_SEED
               "\ned25519 second AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
               "ed25519:first", "several keys: the first is used");

    short_seed = b64_encode(bytes, 31, false);
    long_seed = b64_encode(bytes, 33, false);
    parse_bad("", "", "empty text");
    parse_bad("\n\n# only a comment\n", "", "no key line");
    parse_bad("ed25519 a-b " APPENDIX_SEED, APPENDIX_SEED,
              "bad version character");
    parse_bad("ed25519 a.b " APPENDIX_SEED, APPENDIX_SEED, "dot in version");
    parse_bad("ed25519 " APPENDIX_SEED, APPENDIX_SEED, "missing version");
    parse_bad("ed25519 1 " APPENDIX_SEED " extra", APPENDIX_SEED,
              "extra field");
    parse_bad("curve25519 1 " APPENDIX_SEED, APPENDIX_SEED,
              "unknown algorithm");
    parse_bad("ED25519 1 " APPENDIX_SEED, APPENDIX_SEED,
              "algorithm is case-sensitive");
    parse_bad("ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA!",
              "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW", "bad base64");
    parse_bad("ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3X",
              "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW", "truncated base64");
    {
        char *line = xasprintf("ed25519 1 %s", short_seed);

        parse_bad(line, short_seed, "31-byte seed");
        free(line);
        line = xasprintf("ed25519 1 %s", long_seed);
        parse_bad(line, long_seed, "33-byte seed");
        free(line);
        line = xasprintf("ed25519 %0*d " APPENDIX_SEED,
                         SIGNING_KEY_VERSION_MAX + 1, 7);
        parse_bad(line, APPENDIX_SEED, "version too long");
        free(line);
        line = xasprintf("ed25519 %0*d " APPENDIX_SEED, SIGNING_KEY_VERSION_MAX,
                         7);
        {
            struct signing_key *k = NULL;

            ok(signing_key_parse(line, &k, NULL) == 0 &&
                   strlen(k->key_id) == 8 + SIGNING_KEY_VERSION_MAX,
               "longest version accepted");
            signing_key_free(k);
        }
        free(line);
    }
    free(short_seed);
    free(long_seed);

    ok(signing_key_version_valid("abc_XYZ_09") &&
           !signing_key_version_valid("") &&
           !signing_key_version_valid("a:b") &&
           !signing_key_version_valid(NULL),
       "signing_key_version_valid");
}

static void
test_sign_with_parsed(void)
{
    struct signing_key *k = NULL;
    json_t *o = json_object();
    const char *sig;

    signing_key_parse("ed25519 1 " APPENDIX_SEED "\n", &k, NULL);
    if (!ok(k != NULL, "parse appendix key")) {
        json_decref(o);
        return;
    }
    signjson_sign(o, "domain", k->key_id, k->sk);
    sig = json_string_value(json_object_get(
        json_object_get(json_object_get(o, "signatures"), "domain"),
        "ed25519:1"));
    is_str(sig, SIG_EMPTY, "parsed key signs the appendix vector");
    is_int(signjson_verify(o, "domain", k->key_id, k->pk), SIGNJSON_OK,
           "and verifies with its public key");
    json_decref(o);
    signing_key_free(k);
}

/* Read a whole small file into a NUL-terminated heap string. */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = xmalloc(8192);
    size_t n;

    if (f == NULL) {
        free(buf);
        return NULL;
    }
    n = fread(buf, 1, 8191, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void
test_files(void)
{
    const char *tmp = getenv("TMPDIR");
    char *tmpl;
    char *dir;
    char *path;
    char *big;
    char *missing;
    char *text;
    struct signing_key *g;
    struct signing_key *l = NULL;
    struct stat st;
    char *why = NULL;
    FILE *f;
    int rc;

    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    tmpl = xasprintf("%s/glia-test-keys.XXXXXX", tmp);
    dir = mkdtemp(tmpl);
    if (!ok(dir != NULL, "mkdtemp in %s", tmp)) {
        free(tmpl);
        return;
    }
    path = xasprintf("%s/signing.key", dir);
    big = xasprintf("%s/big.key", dir);
    missing = xasprintf("%s/missing.key", dir);

    g = signing_key_generate("gen_1");
    ok(g != NULL && strcmp(g->key_id, "ed25519:gen_1") == 0 &&
           strlen(g->pk_b64) == 43,
       "generate");
    ok(signing_key_generate("bad-version") == NULL &&
           signing_key_generate("") == NULL,
       "generate refuses bad versions");

    umask(022);
    is_int(signing_key_write_file(path, g), 0, "write new key file");
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
       "key file mode is 0600");
    text = slurp(path);
    ok(text != NULL && strncmp(text, "ed25519 gen_1 ", 14) == 0 &&
           strlen(text) == 14 + 43 + 1 && text[14 + 43] == '\n',
       "file is one Sydent-format line");
    if (text != NULL)
        sodium_memzero(text, strlen(text));
    free(text);

    is_int(signing_key_load_file(path, &l, &why), 0, "load written file");
    ok(l != NULL && strcmp(l->key_id, g->key_id) == 0 &&
           memcmp(l->pk, g->pk, sizeof(l->pk)) == 0 &&
           sodium_memcmp(l->sk, g->sk, 64) == 0,
       "round trip keeps the key");
    signing_key_free(l);
    l = NULL;

    errno = 0;
    ok(signing_key_write_file(path, g) == -1 && errno == EEXIST,
       "write refuses to overwrite");
    is_int(signing_key_load_file(path, &l, NULL), 0,
           "existing file still loads");
    ok(l != NULL && memcmp(l->pk, g->pk, sizeof(l->pk)) == 0,
       "existing key unchanged");
    signing_key_free(l);
    l = NULL;

    rc = signing_key_load_file(missing, &l, &why);
    ok(rc == -1 && l == NULL && why != NULL && strstr(why, missing) != NULL,
       "missing file: %s", why != NULL ? why : "(null)");
    free(why);
    why = NULL;

    rc = signing_key_load_file(dir, &l, &why);
    ok(rc == -1 && why != NULL && strstr(why, "regular") != NULL,
       "directory refused: %s", why != NULL ? why : "(null)");
    free(why);
    why = NULL;

    f = fopen(big, "w");
    if (f != NULL) {
        fprintf(f, "ed25519 1 %s\n", APPENDIX_SEED);
        for (int i = 0; i < 5000; i++)
            fputc('#', f);
        fclose(f);
    }
    rc = signing_key_load_file(big, &l, &why);
    ok(rc == -1 && why != NULL && strstr(why, "large") != NULL &&
           strstr(why, APPENDIX_SEED) == NULL,
       "oversized file refused: %s", why != NULL ? why : "(null)");
    free(why);
    why = NULL;

    f = fopen(missing, "w");
    if (f != NULL) {
        fputs("ed25519 1 " APPENDIX_SEED "!\n", f);
        fclose(f);
    }
    rc = signing_key_load_file(missing, &l, &why);
    ok(rc == -1 && why != NULL && strstr(why, missing) != NULL &&
           strstr(why, "base64") != NULL && strstr(why, "YJDBA9Xnr2sV") == NULL,
       "bad file names the file, not the seed: %s",
       why != NULL ? why : "(null)");
    free(why);

    signing_key_free(g);
    signing_key_free(NULL);
    unlink(path);
    unlink(big);
    unlink(missing);
    ok(rmdir(dir) == 0, "temporary directory removed");
    free(path);
    free(big);
    free(missing);
    free(tmpl);
}

int
main(void)
{
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    plan_no_plan();
    test_parse();
    test_sign_with_parsed();
    test_files();
    return done_testing();
}
