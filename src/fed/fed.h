/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Outbound HTTP: federation calls to homeservers and plain URL calls (SMS
 * gateways). Everything glia fetches from the network goes through here, so
 * this is where the SSRF defences live:
 *   - server names are parsed against the S-S grammar (server_name.c);
 *   - every address libcurl is about to connect to, after DNS and after each
 *     redirect, passes the address guard (addr_guard.c), unless
 *     [federation] allow_private_addresses is set;
 *   - connect and total timeouts, a response size cap, https only for
 *     federation, no redirects except for /.well-known/matrix/server.
 * Server discovery (well-known, SRV, 8448) and the OpenID userinfo call are
 * in homeserver.c and srv.c; the libcurl plumbing is in http_client.c.
 *
 * A struct fed_client is shared by all HTTP pool threads: every call uses
 * its own CURL easy handle; the well-known cache has its own mutex.
 * curl_global_init() must have been called before fed_client_new().
 */
#ifndef GLIA_FED_FED_H
#define GLIA_FED_FED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct config;
struct sockaddr;

/** Connect timeout of every outbound request, in milliseconds. */
#define FED_CONNECT_TIMEOUT_MS      5000L
/** Total time allowed for one request (connect + TLS + transfer), in ms. */
#define FED_TOTAL_TIMEOUT_MS        10000L
/** Largest response body accepted; the transfer is aborted past it. */
#define FED_RESPONSE_MAX            (1024 * 1024)
/** Largest /.well-known/matrix/server body accepted. */
#define FED_WELLKNOWN_MAX           (64 * 1024)
/** Redirects followed for /.well-known/matrix/server (none elsewhere). */
#define FED_WELLKNOWN_MAX_REDIRECTS 5L
/** Port used when discovery yields none. */
#define FED_DEFAULT_PORT            8448
/** Well-known cache: entries kept, and lifetimes in seconds. */
#define FED_WELLKNOWN_CACHE_MAX     1024
#define FED_WELLKNOWN_TTL_DEFAULT   (24 * 3600)
#define FED_WELLKNOWN_TTL_MAX       (48 * 3600)
#define FED_WELLKNOWN_TTL_MIN       (5 * 60)
#define FED_WELLKNOWN_TTL_FAILURE   3600
/** Longest server name (S-S grammar: dns-name is at most 255 chars). */
#define FED_NAME_MAX                255
/** Connect endpoints (SRV targets) tried per request. */
#define FED_TARGET_MAX              4

/** Outcome of every fed_* call that talks to the network. */
enum fed_error {
    FED_OK = 0,
    FED_BAD_NAME,          /**< server name, user id or URL is malformed */
    FED_FORBIDDEN_ADDRESS, /**< the address guard refused the target */
    FED_UNREACHABLE,       /**< DNS failure, connection refused, no route */
    FED_TIMEOUT,           /**< connect or total timeout */
    FED_TLS,               /**< handshake or certificate verification */
    FED_TOO_LARGE,         /**< response larger than the cap */
    FED_BAD_RESPONSE,      /**< not HTTP, not JSON, wrong shape/status */
    FED_REJECTED,          /**< homeserver answered 401/403/404 */
    FED_FOREIGN_USER,      /**< OpenID `sub` belongs to another server */
    FED_INTERNAL,          /**< libcurl could not be set up */
    FED_KEY_UNKNOWN,       /**< the server does not publish that key id */
    FED_KEY_EXPIRED,       /**< its keys are past valid_until_ts */
    FED_BAD_SIGNATURE,     /**< a request signature does not verify */
};

/** @return a short constant name for e ("FED_TIMEOUT"); never NULL. */
const char *fed_error_str(enum fed_error e);

/* ---- server names (server_name.c) ------------------------------------ */

/** A parsed server name: hostname [":" port]. */
struct fed_server_name {
    /** Lower-cased host; an IPv6 literal keeps its brackets ("[::1]"). */
    char host[FED_NAME_MAX + 1];
    uint16_t port; /**< 0 when has_port is false */
    bool has_port;
    bool is_ip_literal; /**< IPv4 dotted quad or bracketed IPv6 */
};

/**
 * Parse a server name by the S-S appendix grammar: an IPv4 dotted quad, a
 * bracketed IPv6 literal or a DNS name (labels of letters, digits and '-'),
 * optionally followed by ":port" (1-65535, no leading zero). Stricter than
 * the grammar where the grammar admits names that do not work or that hide
 * an address: empty labels, labels over 63 chars or starting/ending with
 * '-', a trailing dot, and numeric names that inet_aton() would read as an
 * address ("127.1", "0x7f000001") are refused.
 * @param s the name as received (NUL-terminated)
 * @param[out] out the parsed name (host lower-cased)
 * @return true if s is a valid server name
 */
bool fed_server_name_parse(const char *s, struct fed_server_name *out);

/**
 * Write the canonical form "host[:port]" (lower-cased host).
 * @return true, or false if out (outlen bytes) is too small
 */
bool fed_server_name_format(const struct fed_server_name *n,
                            char *out,
                            size_t outlen);

/**
 * Check the shape of a Matrix user id "@localpart:server_name": the
 * localpart is 1+ printable ASCII characters other than ':' (the historical
 * grammar), the whole id is at most 255 bytes, and the server name parses.
 * @param[out] localpart_len length of the localpart (may be NULL)
 * @param[out] domain the parsed server part (may be NULL)
 * @return true if user_id is well formed
 */
bool fed_user_id_parse(const char *user_id,
                       size_t *localpart_len,
                       struct fed_server_name *domain);

/* ---- the address guard (addr_guard.c) -------------------------------- */

/**
 * May glia connect to this address? Refuses loopback, unspecified, private
 * (RFC 1918, ULA), CGNAT, link- and site-local, multicast, broadcast,
 * reserved, documentation and benchmarking ranges, IPv6 outside 2000::/3,
 * Teredo and the other IETF special 2001::/23 blocks; IPv4-mapped,
 * IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are
 * judged by the IPv4 address they embed. Families other than AF_INET and
 * AF_INET6 are refused.
 * @param sa a complete sockaddr_in or sockaddr_in6 (borrowed)
 * @param allow_private true allows every address (tests, closed networks)
 * @return true if allowed
 */
bool fed_addr_allowed(const struct sockaddr *sa, bool allow_private);

/**
 * Resolve host (getaddrinfo, any family) and check every address with
 * fed_addr_allowed(). Only a pre-flight check: the client enforces the guard
 * on each connect anyway, which is what defeats DNS rebinding.
 * @return true if host resolves and every address is allowed
 */
bool fed_host_allowed(const char *host, bool allow_private);

/* ---- the client (http_client.c) -------------------------------------- */

struct fed_client;

/**
 * Make a client from [federation] verify_tls, allow_private_addresses and
 * ca_file. The values are copied; cfg may be freed afterwards.
 * @return the client; caller frees with fed_client_free()
 */
struct fed_client *fed_client_new(const struct config *cfg);

/**
 * A client for URLs the operator configured (SMS gateways): the same
 * timeouts, size cap and TLS settings, but private addresses are allowed,
 * since the destination is not chosen by a request.
 */
struct fed_client *fed_client_new_operator(const struct config *cfg);

/** Free a client; NULL-safe. No call may be running on it. */
void fed_client_free(struct fed_client *c);

/**
 * Call a homeserver's federation API: resolve server_name by server
 * discovery, send one request (no redirects, https only), parse the
 * response as JSON.
 * @param method "GET", "POST", "PUT"...
 * @param server_name the homeserver's server name
 * @param path_and_query starts with '/'; it may hold secrets (it is never
 *        logged nor put into *why)
 * @param body JSON body to send (borrowed), or NULL for none
 * @param[out] status the HTTP status, or 0 if no response was received
 * @param[out] out_json the parsed body (caller json_decref()s), or NULL when
 *        the body is not JSON; may be NULL if the caller does not want it
 * @param[out] why on failure, a reason for logs (caller frees with free());
 *        may be NULL
 * @return FED_OK when a response with a JSON body arrived (whatever its
 *         status: check *status); FED_BAD_RESPONSE (with *status set) when
 *         the body is not JSON; otherwise the transport error
 */
enum fed_error fed_request(struct fed_client *c,
                           const char *method,
                           const char *server_name,
                           const char *path_and_query,
                           const json_t *body,
                           long *status,
                           json_t **out_json,
                           char **why);

/**
 * Call a plain http(s) URL (SMS gateways and the like): same address guard,
 * timeouts and size cap as federation, no redirects, no discovery.
 * @param headers NULL-terminated "Name: value" list, or NULL
 * @param body request body (body_len bytes), or NULL for none
 * @param[out] status the HTTP status, or 0 if no response was received
 * @param[out] resp_body the response body, NUL-terminated (caller frees
 *        with free()); may be NULL
 * @param[out] resp_len its length; may be NULL
 * @param[out] why as for fed_request(); never contains the URL's query
 * @return FED_OK when a response arrived (whatever its status)
 */
enum fed_error fed_http_url(struct fed_client *c,
                            const char *method,
                            const char *url,
                            const char *const *headers,
                            const char *body,
                            size_t body_len,
                            long *status,
                            char **resp_body,
                            size_t *resp_len,
                            char **why);

/* ---- server discovery and OpenID (homeserver.c) ---------------------- */

/** Where to connect to reach one connect endpoint. */
struct fed_endpoint {
    char host[FED_NAME_MAX + 1]; /**< DNS name or IP literal ([v6]) */
    uint16_t port;
};

/** The outcome of server discovery. */
struct fed_target {
    /** Host in the URL: the TLS certificate and SNI name ([v6] bracketed). */
    char tls_name[FED_NAME_MAX + 1];
    /** Value of the Host header. */
    char host_header[FED_NAME_MAX + 8];
    /** Endpoints to try in order (SRV targets), at least one. */
    struct fed_endpoint ep[FED_TARGET_MAX];
    size_t n_ep;
    /** True if a /.well-known delegation was used. */
    bool delegated;
};

/**
 * Resolve a server name per the S-S spec's server discovery: IP literal;
 * hostname with port; /.well-known/matrix/server (cached in the client)
 * then, for the delegated or the original name, SRV _matrix-fed._tcp, the
 * deprecated _matrix._tcp, then port 8448. Addresses are not looked up
 * here: libcurl resolves endpoint hosts on connect, under the guard. An IP
 * literal refused by the guard fails here, before any connection.
 * @param[out] out the target
 * @param[out] why on failure, as for fed_request()
 * @return FED_OK, FED_BAD_NAME, FED_FORBIDDEN_ADDRESS or FED_UNREACHABLE
 */
enum fed_error fed_resolve(struct fed_client *c,
                           const char *server_name,
                           struct fed_target *out,
                           char **why);

/**
 * Ask a homeserver who owns an OpenID access token:
 * GET /_matrix/federation/v1/openid/userinfo?access_token=... on the
 * resolved server_name. The answer's `sub` must be a well-formed user id
 * on server_name itself (host compared case-insensitively, port included).
 * The token is never logged.
 * @param server_name the homeserver the client named (matrix_server_name)
 * @param access_token the OpenID token (borrowed)
 * @param[out] user_id on FED_OK, "@localpart:server_name" with the server
 *        part in canonical form (caller frees with free())
 * @param[out] why on failure, a reason for logs (caller frees); may be NULL
 * @return FED_OK; FED_BAD_NAME (server_name malformed); FED_REJECTED (the
 *         homeserver answered 401, 403 or 404: unknown token; or the token
 *         is empty or longer than 4096 bytes, and nothing was sent);
 *         FED_FOREIGN_USER; FED_BAD_RESPONSE; or a transport error
 */
enum fed_error fed_openid_userinfo(struct fed_client *c,
                                   const char *server_name,
                                   const char *access_token,
                                   char **user_id,
                                   char **why);

/* ---- homeserver signing keys (server_keys.c) -------------------------- */

/** Server key cache: entries kept. */
#define FED_KEYS_CACHE_MAX  1024
/** Longest time a fetched key set is trusted, whatever valid_until_ts says
 * (the S-S spec's 7-day cap). */
#define FED_KEYS_TTL_MAX_MS (7LL * 24 * 3600 * 1000)
/** A server is asked again for its keys at most this often when a request
 * names a key it did not publish (or its keys expired), so forged requests
 * cannot make glia hammer a homeserver. */
#define FED_KEYS_REFETCH_MS (60LL * 1000)
/** Longest key id accepted ("ed25519:" + version). */
#define FED_KEY_ID_MAX      128

/**
 * A homeserver's current public signing key: fetched from
 * GET /_matrix/key/v2/server on server_name (by server discovery, behind
 * the address guard) and cached until its valid_until_ts (capped by
 * FED_KEYS_TTL_MAX_MS). The response must name server_name and be signed by
 * the key that is returned. old_verify_keys are not used.
 * @param now_ms the wall clock, in ms (valid_until_ts is wall-clock)
 * @param[out] pk the ed25519 public key
 * @param[out] why on failure, a reason for logs (caller frees); may be NULL
 * @return FED_OK; FED_BAD_NAME; FED_KEY_UNKNOWN; FED_KEY_EXPIRED;
 *         FED_BAD_RESPONSE (not a valid, self-signed key response); or a
 *         transport error
 */
enum fed_error fed_server_key(struct fed_client *c,
                              const char *server_name,
                              const char *key_id,
                              int64_t now_ms,
                              unsigned char pk[32],
                              char **why);

/* ---- X-Matrix request signatures (xmatrix.c) ------------------------- */

/** The parameters of an `Authorization: X-Matrix ...` header. */
struct fed_xmatrix {
    char origin[FED_NAME_MAX + 1];
    char destination[FED_NAME_MAX + 1]; /* "" when absent */
    char key[FED_KEY_ID_MAX + 1];
    char sig[128]; /* base64 of a 64-byte signature */
};

/**
 * Parse an Authorization header value with the X-Matrix scheme (pure,
 * unit-tested): the scheme (case-insensitive), then comma-separated
 * name=value pairs; names are case-insensitive, values are tokens (colons
 * allowed) or quoted strings with backslash escapes; whitespace around
 * commas and '=' is allowed; unknown names are ignored; a repeated known
 * name is refused. origin, key and sig are required; origin must be a
 * valid server name and key an "ed25519:..." id.
 * @return true if header is a well-formed X-Matrix header
 */
bool fed_xmatrix_parse(const char *header, struct fed_xmatrix *out);

/**
 * Verify a request a homeserver signed for an identity server (Synapse's
 * unbind): the object {method, uri, origin, destination_is, content} with
 * the X-Matrix signature, against the origin's key (fed_server_key()).
 * A `destination` parameter, when present, must equal destination_is.
 * @param authorization the Authorization header value
 * @param uri the request target exactly as sent (path and query)
 * @param destination_is our own server name, as clients know it
 * @param content the parsed request body (borrowed)
 * @param[out] origin the verified origin, as the header names it
 * @param[out] why on failure, a reason for logs (caller frees); may be NULL
 * @return FED_OK; FED_BAD_NAME (not an X-Matrix header, bad origin);
 *         FED_BAD_SIGNATURE (wrong destination, or the signature does not
 *         verify); or an error of fed_server_key()
 */
enum fed_error fed_xmatrix_verify(struct fed_client *c,
                                  const char *authorization,
                                  const char *method,
                                  const char *uri,
                                  const char *destination_is,
                                  const json_t *content,
                                  int64_t now_ms,
                                  struct fed_xmatrix *origin,
                                  char **why);

#endif
