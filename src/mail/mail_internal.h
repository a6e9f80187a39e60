/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Declarations shared by the files of src/mail/ and by nothing else: the
 * header-field encoder (mime_header.c) used by the normaliser (mime.c), the
 * SMTP relay (relay.c) used by the libesmtp sender (smtp.c); the outbox
 * writer is util/outbox.c.
 */
#ifndef GLIA_MAIL_MAIL_INTERNAL_H
#define GLIA_MAIL_MAIL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "util/buf.h"

/* ---- header fields (mime_header.c) ------------------------------------- */

/** Longest reason string the helpers below write. */
#define MH_ERR_SIZE 256

/** @return true if the n octets at s are valid UTF-8 (no overlongs,
 * surrogates or code points past U+10FFFF). */
bool mh_utf8_valid(const char *s, size_t n);

/** @return true if the n octets at s are all below 0x80. */
bool mh_is_ascii(const char *s, size_t n);

/** @return true if a and b are equal ignoring ASCII case. */
bool mh_name_is(const char *a, const char *b);

/** @return true if the n octets at s are one plausible ASCII addr-spec:
 * local@domain, no whitespace, quotes, brackets or control characters, at
 * most 254 octets. */
bool mh_addr_valid(const char *s, size_t n);

/**
 * Write one header field to out: "Name: value" RFC 2047-encoded as its
 * class requires and folded at whitespace (78 octets a line where
 * possible, 998 always), CRLF-terminated.
 * @param name field name (validated by the caller)
 * @param value unfolded value, leading and trailing whitespace removed
 * @param[out] err on failure, the reason (MH_ERR_SIZE octets)
 * @return 0, or -1 if the value cannot be encoded or folded
 */
int
mh_write_field(struct buf *out, const char *name, const char *value, char *err);

/** A parsed Content-Type. */
struct mh_ctype {
    char type[64];    /**< lower-cased; "text" when absent */
    char subtype[64]; /**< lower-cased; "plain" when absent */
    char *boundary;   /**< the boundary parameter (caller frees), or NULL */
    bool has_charset; /**< a charset parameter is present */
};

/**
 * Parse a Content-Type value (NULL: the RFC 2045 default text/plain).
 * @return 0, or -1 if it is malformed (ct->boundary is then NULL)
 */
int mh_parse_ctype(const char *value, struct mh_ctype *ct);

/* ---- SMTP relay (relay.c) ---------------------------------------------- */

/** How the relay reaches the SMTP server. */
enum relay_tls { RELAY_PLAIN, RELAY_STARTTLS, RELAY_IMPLICIT };

/** What a relay needs to know; borrowed for the relay's lifetime. */
struct relay_params {
    const char *host;      /**< SMTP server host name or IP literal */
    const char *port;      /**< its port, decimal */
    enum relay_tls tls;    /**< transport security */
    SSL_CTX *ssl_ctx;      /**< for RELAY_STARTTLS and RELAY_IMPLICIT */
    bool verify;           /**< verify certificate chain and host name */
    const char *ehlo_name; /**< name for the relay's own EHLO (STARTTLS) */
    int timeout_ms;        /**< bound on every step */
    bool require_auth;     /**< MAIL FROM only after a successful AUTH */
};

struct relay;

/**
 * Listen on a fresh loopback port and start the relay thread. The thread
 * accepts the one connection libesmtp makes to that port, connects to the
 * real server and relays, enforcing p's policy.
 * @param[out] hostport "127.0.0.1:PORT" for smtp_set_server()
 * @param[out] err on failure, the reason (MH_ERR_SIZE octets)
 * @return the relay (finish with relay_finish()), or NULL
 */
struct relay *relay_start(const struct relay_params *p,
                          char *hostport,
                          size_t hostport_len,
                          char *err);

/**
 * Stop the relay (if still running) and wait for its thread. Prompt: it
 * wakes the thread, which closes both connections.
 */
void relay_finish(struct relay *r);

/** @return the relay's failure (transport, TLS, timeout, policy), or NULL
 * if it saw none; valid until relay_free(). Only after relay_finish(). */
const char *relay_error(const struct relay *r);

/** @return the last complete reply line the server sent (sanitised), or
 * "". Only after relay_finish(). */
const char *relay_last_reply(const struct relay *r);

/** @return true if the server accepted an AUTH. Only after
 * relay_finish(). */
bool relay_authenticated(const struct relay *r);

/** Free a finished relay; NULL-safe. */
void relay_free(struct relay *r);


#endif
