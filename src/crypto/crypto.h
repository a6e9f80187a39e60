/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * glia's cryptography: unpadded base64, the server's long-term ed25519
 * signing key (in the file format Sydent and Synapse use), Matrix signed
 * JSON, the sha256 lookup hash, and random tokens. Everything is built on
 * libsodium, which must have been initialised with sodium_init() first.
 * libsodium owns the crypto_, sodium_ and randombytes_ prefixes, so our names
 * use b64_, signing_key_, signjson_, lookup_hash_ and token_.
 */
#ifndef GLIA_CRYPTO_CRYPTO_H
#define GLIA_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* ---- base64 (b64.c) ---------------------------------------------------- */

/**
 * Length of the unpadded base64 encoding of @p n bytes, without the NUL.
 *
 * @param n number of input bytes
 * @return ceil(4n/3) with padding removed
 */
size_t b64_encoded_len(size_t n);

/**
 * Encode bytes as unpadded base64 (Matrix's "unpadded base64").
 *
 * @param in      bytes to encode; borrowed
 * @param len     number of bytes
 * @param urlsafe use the URL-safe alphabet (`-`, `_`) instead of `+`, `/`
 * @return a NUL-terminated string the caller frees with free(); never NULL
 */
char *b64_encode(const void *in, size_t len, bool urlsafe);

/**
 * Encode bytes as unpadded base64 into a caller-supplied buffer, for callers
 * that must not leave the result on the ordinary heap (key seeds) or that
 * know the size statically.
 *
 * @param[out] out room for b64_encoded_len(len) + 1 bytes; NUL-terminated
 * @param in       bytes to encode; borrowed
 * @param len      number of bytes
 * @param urlsafe  use the URL-safe alphabet
 */
void b64_encode_into(char *out, const void *in, size_t len, bool urlsafe);

/**
 * Decode base64 in either the standard or the URL-safe alphabet, padded or
 * unpadded, as the spec asks decoders to accept. Rejected: characters from
 * outside both alphabets (including whitespace), a mix of the two alphabets
 * in one input (no encoder produces that), padding that is not exactly what
 * completes the last quantum to 4 characters, and a length that leaves one
 * character over (len % 4 == 1). Non-zero unused bits in the last character
 * are ignored, as Python's decoder does: the spec's own test seed has them.
 *
 * @param in      encoded text; need not be NUL-terminated; borrowed
 * @param in_len  its length
 * @param[out] out receives the bytes; contents unspecified on failure
 * @param out_cap size of @p out
 * @return the number of bytes decoded, or -1 on bad input or if the result
 *         would not fit in @p out_cap bytes
 */
long
b64_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap);

/* ---- long-term signing key (keys.c) ------------------------------------ */

/** Length of an ed25519 seed, the secret stored in the key file. */
#define SIGNING_KEY_SEED_LEN    32
/** Longest key version that still fits key_id ("ed25519:" + version). */
#define SIGNING_KEY_VERSION_MAX 55

/** The server's ed25519 signing key. Free with signing_key_free(). */
struct signing_key {
    char key_id[64]; /* "ed25519:<version>", version matches [A-Za-z0-9_]+ */
    unsigned char pk[32];
    unsigned char
        *sk; /* 64-byte libsodium secret key in sodium_malloc'd memory */
    char pk_b64[48]; /* unpadded standard base64 of pk */
};

/**
 * Check a key version: 1..SIGNING_KEY_VERSION_MAX characters of
 * [A-Za-z0-9_], as the server-server key schema requires.
 *
 * @param version the version part of a key id; borrowed
 * @return true if valid
 */
bool signing_key_version_valid(const char *version);

/**
 * Parse a key from the text of a key file: one line
 * `ed25519 <version> <base64 32-byte seed>` (Sydent's and Synapse's format,
 * so their key files work unchanged). Fields are separated by spaces or
 * tabs; padded base64 and trailing whitespace are accepted. Blank lines and
 * lines starting with `#` are skipped, and if several keys follow, the first
 * is used (Synapse also signs with the first).
 *
 * @param text      the file's contents, NUL-terminated; borrowed. It holds
 *                  the seed, so the caller should wipe it afterwards.
 * @param[out] out  on success, the key; caller frees with signing_key_free()
 * @param[out] why  on failure, a static reason that never contains key
 *                  material; may be NULL
 * @return 0 on success, -1 on failure
 */
int
signing_key_parse(const char *text, struct signing_key **out, const char **why);

/**
 * Read and parse a key file (see signing_key_parse()). Files larger than
 * 4 KiB or that are not regular files are refused. The file's contents are
 * held only in sodium_malloc'd memory and wiped.
 *
 * @param path      the file; borrowed
 * @param[out] out  on success, the key; caller frees with signing_key_free()
 * @param[out] why  on failure, "<path>: <reason>"; caller frees with free().
 *                  Never contains key material. May be NULL.
 * @return 0 on success, -1 on failure
 */
int
signing_key_load_file(const char *path, struct signing_key **out, char **why);

/**
 * Generate a new key from a fresh random seed (randombytes_buf()).
 *
 * @param version the key version; borrowed
 * @return the key, caller frees with signing_key_free(); NULL if @p version
 *         is not valid (see signing_key_version_valid()). Aborts if secure
 *         memory cannot be allocated.
 */
struct signing_key *signing_key_generate(const char *version);

/**
 * Write a key file in the format signing_key_parse() reads, followed by a
 * newline. The file is created with O_CREAT|O_EXCL and mode 0600 (minus the
 * umask), so an existing file, possibly holding the key everyone trusts, is
 * never overwritten. The data is fsync()ed; on a write error the partial
 * file is removed.
 *
 * @param path the file to create; borrowed
 * @param k    the key; borrowed
 * @return 0 on success, -1 with errno set on failure (EEXIST if the file
 *         exists)
 */
int signing_key_write_file(const char *path, const struct signing_key *k);

/**
 * Free a key and wipe its secret (sodium_free()).
 *
 * @param k the key, or NULL (no-op)
 */
void signing_key_free(struct signing_key *k);

/* ---- Matrix signed JSON (sign_json.c) ---------------------------------- */

/**
 * Sign a JSON object as in the spec appendix "Signing JSON": the canonical
 * JSON of the object without `signatures` and `unsigned` is signed with
 * ed25519, and the unpadded standard base64 signature is stored at
 * obj.signatures[entity][key_id], keeping other signatures already there.
 * `unsigned` is left untouched.
 *
 * @param obj    the object to sign; modified in place; borrowed
 * @param entity the signing entity, e.g. the server name; borrowed
 * @param key_id e.g. "ed25519:0"; borrowed
 * @param sk     64-byte libsodium ed25519 secret key; borrowed
 * @return 0 on success; -1, leaving @p obj unchanged, if @p obj is not an
 *         object, cannot be canonicalised, has a `signatures` or
 *         `signatures[entity]` member that is not an object, or @p entity or
 *         @p key_id is not valid UTF-8
 */
int signjson_sign(json_t *obj,
                  const char *entity,
                  const char *key_id,
                  const unsigned char sk[64]);

/** Outcome of signjson_verify(). */
enum signjson_result {
    SIGNJSON_OK = 0,
    SIGNJSON_NOT_OBJECT,    /* the value is not a JSON object */
    SIGNJSON_NO_SIGNATURE,  /* no string at signatures[entity][key_id] */
    SIGNJSON_BAD_ENCODING,  /* not base64 of exactly 64 bytes */
    SIGNJSON_NOT_CANONICAL, /* the object has no canonical form */
    SIGNJSON_BAD_SIGNATURE, /* ed25519 verification failed */
};

/**
 * Verify the signature at obj.signatures[entity][key_id] over the canonical
 * JSON of @p obj without `signatures` and `unsigned`.
 *
 * @param obj    the signed object; borrowed
 * @param entity the expected signer; borrowed
 * @param key_id the key id to check, e.g. "ed25519:0"; borrowed
 * @param pk     the 32-byte ed25519 public key for @p key_id; borrowed
 * @return SIGNJSON_OK if the signature verifies, otherwise the reason
 */
enum signjson_result signjson_verify(const json_t *obj,
                                     const char *entity,
                                     const char *key_id,
                                     const unsigned char pk[32]);

/**
 * Describe a verification outcome, for logs and error messages.
 *
 * @param r the outcome
 * @return a static string; never NULL
 */
const char *signjson_result_str(enum signjson_result r);

/* ---- lookup hash (hash.c) ---------------------------------------------- */

/** Length of a sha256 lookup hash, without the NUL. */
#define LOOKUP_HASH_LEN 43

/**
 * The `sha256` lookup algorithm: URL-safe unpadded base64 of
 * SHA-256("<address> <medium> <pepper>"). Callers pass the address already
 * in canonical form and the medium in lowercase.
 *
 * @param address the 3PID address; borrowed
 * @param medium  "email" or "msisdn"; borrowed
 * @param pepper  the server's lookup pepper; borrowed
 * @param[out] out the 43-character hash and a NUL
 */
void lookup_hash_sha256(const char *address,
                        const char *medium,
                        const char *pepper,
                        char out[LOOKUP_HASH_LEN + 1]);

/* ---- random tokens (token.c) ------------------------------------------- */

/** Letters and digits: tokens for access tokens, session ids, secrets. */
#define TOKEN_ALNUM                                                            \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
/** Digits only: codes that users type, e.g. from an SMS. */
#define TOKEN_DIGITS "0123456789"

/**
 * Fill @p out with @p len characters drawn uniformly (no modulo bias) from
 * @p charset using libsodium's CSPRNG, then a NUL.
 *
 * @param[out] out  room for len + 1 bytes
 * @param len       number of characters
 * @param charset   the characters to draw from, non-empty; borrowed
 */
void token_random(char *out, size_t len, const char *charset);

/**
 * Compare two secret strings. The time taken depends only on the lengths,
 * not on where they differ (sodium_memcmp()); the length itself is not
 * treated as secret.
 *
 * @param a a NUL-terminated string; borrowed
 * @param b a NUL-terminated string; borrowed
 * @return true if equal; false if they differ or either is NULL
 */
bool token_equal(const char *a, const char *b);

#endif
