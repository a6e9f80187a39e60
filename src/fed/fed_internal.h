/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Shared between the files of src/fed/ and the fed tests; not for the rest
 * of glia (use fed.h). Holds the client struct, the single-request engine
 * homeserver.c builds on, the SRV and well-known parsers (pure functions,
 * unit-tested) and test hooks that let tests/http reach fake homeservers on
 * loopback ports.
 */
#ifndef GLIA_FED_FED_INTERNAL_H
#define GLIA_FED_FED_INTERNAL_H

#include "fed/fed.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sockaddr;

/** One SRV record. */
struct fed_srv {
    uint16_t priority;
    uint16_t weight;
    uint16_t port;
    char target[FED_NAME_MAX + 1]; /* lower-cased; "" is RFC 2782's "." */
};

/** Largest number of SRV records kept from one answer. */
#define FED_SRV_MAX 16

/**
 * Test hooks. Zero/NULL fields mean the real behaviour. Set them with
 * fed_client_set_test_hooks() before the client is shared between threads.
 */
struct fed_test_hooks {
    /** Port of https://<name>/.well-known/matrix/server (0: 443). */
    uint16_t wellknown_port;
    /** Port used where discovery falls back to 8448 (0: 8448). */
    uint16_t default_port;
    /** SRV lookup replacing DNS; same contract as fed_srv_lookup(). */
    int (*srv_lookup)(const char *qname, struct fed_srv *out, size_t max);
    /** Address guard replacing fed_addr_allowed(). */
    bool (*addr_allowed)(const struct sockaddr *sa, bool allow_private);
    /** Clock (seconds) for the well-known cache (NULL: time()). */
    time_t (*now)(void);
};

struct fed_wk_entry {
    char *name;     /* the server name's host */
    char *deleg;    /* canonical m.server, or NULL: no usable well-known */
    time_t expires; /* by the client's clock */
};

/** One key of a server key cache entry. */
struct fed_key {
    char id[FED_KEY_ID_MAX + 1];
    unsigned char pk[32];
};

/** A server's keys as last fetched (or the failure, when n_keys is 0). */
struct fed_keys_entry {
    char *name; /* canonical server name */
    struct fed_key *keys;
    size_t n_keys;
    int64_t valid_until; /* ms: min(valid_until_ts, fetched + TTL cap) */
    int64_t fetched;     /* ms */
};

struct fed_client {
    bool verify_tls;
    bool allow_private;
    char *ca_file; /* NULL: the system trust store */
    struct fed_test_hooks hooks;
    pthread_mutex_t wk_lock; /* guards the well-known cache below */
    struct fed_wk_entry *wk;
    size_t wk_len;
    pthread_mutex_t keys_lock; /* guards the server key cache below */
    struct fed_keys_entry *keys;
    size_t keys_len;
};

/** Replace the client's test hooks (copied). */
void fed_client_set_test_hooks(struct fed_client *c,
                               const struct fed_test_hooks *h);

/* ---- the request engine (http_client.c) ------------------------------ */

/** One HTTP request as http_client.c performs it. */
struct fed_http_req {
    const char *method;
    const char *url;
    /** libcurl CONNECT_TO entry "host:port:chost:cport", or NULL. */
    const char *connect_to;
    /** Value of the Host header, or NULL for libcurl's default. */
    const char *host_header;
    const char *const *headers; /* NULL-terminated, or NULL */
    const char *body;           /* NULL: none */
    size_t body_len;
    const char *protocols; /* libcurl protocol list: "https" */
    long max_redirects;    /* 0: redirects are not followed */
    size_t max_size;
    /** Total time allowed, in ms (0: FED_TOTAL_TIMEOUT_MS). */
    long timeout_ms;
};

/** What came back. Free with fed_http_resp_free(). */
struct fed_http_resp {
    long status; /* 0: no response */
    char *body;  /* NUL-terminated, never NULL after FED_OK */
    size_t len;
    char cache_control[256]; /* of the final response; "" if absent */
    char expires[128];
};

/**
 * Perform one request with the guard, timeouts, cap and TLS settings of c.
 * @param[out] resp zeroed first; filled on FED_OK
 * @param[out] why on failure (caller frees); may be NULL
 * @return FED_OK once a complete response arrived, whatever its status
 */
enum fed_error fed_http_perform(struct fed_client *c,
                                const struct fed_http_req *rq,
                                struct fed_http_resp *resp,
                                char **why);
/** Release resp->body. */
void fed_http_resp_free(struct fed_http_resp *resp);

/** The guard in force for c (the test hook, or fed_addr_allowed()). */
bool fed_client_addr_allowed(const struct fed_client *c,
                             const struct sockaddr *sa);

/* ---- server keys (server_keys.c) ------------------------------------ */

/** Free the server key cache (fed_client_free()). */
void fed_keys_cache_free(struct fed_client *c);

/**
 * Check a /_matrix/key/v2/server response (pure, unit-tested): an object
 * naming server_name (compared canonically), with valid_until_ts and
 * verify_keys of 32-byte ed25519 keys, self-signed by every ed25519 key it
 * lists (as Synapse requires).
 * @param[out] keys the keys (caller frees), *n their number (at least 1)
 * @param[out] valid_until_ts as published
 * @param[out] why on failure, a static reason
 * @return true if the response is usable
 */
bool fed_keys_parse(json_t *resp,
                    const char *server_name,
                    struct fed_key **keys,
                    size_t *n,
                    int64_t *valid_until_ts,
                    const char **why);

/* ---- SRV (srv.c) ----------------------------------------------------- */

/**
 * Parse a DNS response message and keep its IN SRV answers.
 * @return the number kept (at most max), or -1 if msg is malformed
 */
int fed_srv_parse(const unsigned char *msg,
                  size_t len,
                  struct fed_srv *out,
                  size_t max);

/**
 * Look up SRV records for qname ("_matrix-fed._tcp.example.org") with
 * libresolv, with short timeouts.
 * @return the number of records (0: none or lookup failed), at most max
 */
int fed_srv_lookup(const char *qname, struct fed_srv *out, size_t max);

/**
 * Order records for trying, per RFC 2782: by priority, then within equal
 * priority a weighted random order.
 * @param rnd uniform random number in [0, bound) (tests pass their own)
 */
void
fed_srv_order(struct fed_srv *r, size_t n, uint32_t (*rnd)(uint32_t bound));

/* ---- well-known (homeserver.c) --------------------------------------- */

/**
 * Parse a /.well-known/matrix/server body: a JSON object whose "m.server"
 * is a valid server name.
 * @return true and *out set, or false if the body is unusable
 */
bool
fed_wellknown_parse(const char *body, size_t len, struct fed_server_name *out);

/**
 * The cache lifetime a well-known response asks for: Cache-Control
 * no-store (0), max-age, else Expires relative to now (an unparseable
 * Expires means expired: RFC 9111).
 * @param cache_control header value or "" / NULL
 * @param expires header value or "" / NULL
 * @return seconds (>= 0), or -1 if the headers say nothing
 */
long
fed_wellknown_ttl(const char *cache_control, const char *expires, time_t now);

#endif
