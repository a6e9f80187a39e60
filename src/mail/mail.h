/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Outgoing mail. Templates (template.c) render whole RFC 5322 messages, as
 * sydent's do; this module makes such a message safe to send and sends it:
 *
 *   - mail_normalise() (mime.c, mime_header.c) parses the headers and the
 *     MIME tree and rewrites what strict servers reject: CRLF everywhere, no
 *     line over 998 octets, 8-bit or over-long text parts re-encoded
 *     quoted-printable, non-ASCII header values as RFC 2047 encoded-words.
 *     It adds Date, Message-ID and MIME-Version when missing and refuses
 *     messages that cannot be made safe (no From or To, header injection,
 *     NUL, bare CR).
 *   - mail_send() normalises and then either writes the message into
 *     [email] outbox_dir (outbox.c, for development) or sends it over SMTP
 *     with libesmtp (smtp.c). libesmtp talks to a private relay (relay.c)
 *     that owns the real connection: connect timeout, implicit TLS or
 *     STARTTLS with certificate and host name verification, per-step
 *     timeouts, and AUTH enforced before MAIL FROM (design note at the top
 *     of relay.c).
 *
 * The mail_make_* helpers produce the template variables every email gets.
 * They use libsodium's randomness: sodium_init() must have been called.
 */
#ifndef GLIA_MAIL_MAIL_H
#define GLIA_MAIL_MAIL_H

#include <stddef.h>

struct config;

/** Largest rendered message mail_normalise() accepts, in octets. */
#define MAIL_MESSAGE_MAX  (4 * 1024 * 1024)
/** Largest header block (of the message or of one MIME part), in octets. */
#define MAIL_HEADER_MAX   (64 * 1024)
/** Most header fields in one header block. */
#define MAIL_FIELDS_MAX   256
/** Deepest MIME nesting accepted (multipart inside multipart ...). */
#define MAIL_DEPTH_MAX    8
/** Longest line on the wire, without its CRLF (RFC 5321 4.5.3.1.6). */
#define MAIL_LINE_MAX     998
/** Line length that header folding and encodings aim for (RFC 5322). */
#define MAIL_LINE_SOFT    78
/** Buffer size that always holds a mail_make_message_id() result. */
#define MAIL_MSGID_SIZE   320
/** Buffer size that always holds a mail_make_date() result. */
#define MAIL_DATE_SIZE    40
/** Length of a mail_make_boundary() result, without its NUL. */
#define MAIL_BOUNDARY_LEN 32

/* ---- helpers for template variables (mime_header.c) -------------------- */

/**
 * Make a fresh Message-ID: "<milliseconds.16-random-alphanumerics@domain>",
 * angle brackets included (as sydent's `messageid` variable).
 * @param[out] out buffer; MAIL_MSGID_SIZE octets always suffice
 * @param outlen its size
 * @param domain right-hand side; NULL, empty, over 255 octets or not a
 *        plausible domain: "localhost" is used instead
 */
void mail_make_message_id(char *out, size_t outlen, const char *domain);

/**
 * The current time as an RFC 5322 date in UTC, independent of the locale:
 * "Tue, 24 Nov 2026 22:21:00 +0000".
 * @param[out] out buffer; MAIL_DATE_SIZE octets always suffice
 * @param outlen its size
 */
void mail_make_date(char *out, size_t outlen);

/**
 * Make a MIME boundary: MAIL_BOUNDARY_LEN random alphanumerics.
 * @param[out] out receives the boundary and a NUL
 */
void mail_make_boundary(char out[MAIL_BOUNDARY_LEN + 1]);

/**
 * The address of a mailbox: "a@b.org" for "a@b.org", "Name <a@b.org>" or
 * "\"Doe, J\" <a@b.org>".
 * @return the addr-spec (caller frees with free()), or NULL if s holds no
 *         single plausible ASCII address
 */
char *mail_address_of(const char *s);

/**
 * The domain of a mailbox: "b.org" for "Name <a@b.org>" (as
 * mail_address_of(), then the part after the last '@').
 * @return the domain (caller frees with free()), or NULL as for
 *         mail_address_of()
 */
char *mail_domain_of(const char *s);

struct tmpl_vars;

/**
 * Set the variables every email gets: to, from ([email] from), date,
 * messageid (its domain is [email] hostname, else that of from) and
 * multipart_boundary.
 */
void mail_vars_envelope(struct tmpl_vars *v,
                        const struct config *cfg,
                        const char *to);

/* ---- normalisation (mime.c) -------------------------------------------- */

/**
 * Rewrite a rendered message into a form every SMTP server accepts. Pure:
 * no I/O, no global state (apart from randomness for an added Message-ID).
 *
 * - Line endings: LF, CRLF or a mix in; CRLF out. A CR not followed by LF,
 *   and NUL anywhere, are refused.
 * - Headers (folded or not) are parsed; a line in a header block that is
 *   neither a continuation nor "Name: value" is refused (header injection).
 *   Values with non-ASCII text become RFC 2047 encoded-words (UTF-8, Q or B,
 *   whichever is shorter): unstructured fields (Subject, X-..., ...) word
 *   by word, address fields (From, To, Cc, Reply-To, ...) only in display
 *   names, never inside angle brackets. Non-ASCII in an address or in a
 *   structured field (Content-Type, Message-ID, ...) is refused. Invalid
 *   UTF-8 is refused. Every field is folded at whitespace to at most 78
 *   octets a line where possible, 998 always.
 * - Exactly one From and one To are required; fields RFC 5322 allows once
 *   (Date, Subject, Message-ID, ...) may not repeat. Date and Message-ID
 *   are added when absent (the Message-ID with msgid_domain), MIME-Version
 *   when a Content-Type is present. Return-Path and Bcc are dropped
 *   (recipients come from the envelope only).
 * - MIME: multipart/ bodies are split by their boundary (recursively, up to
 *   MAIL_DEPTH_MAX); a line that starts with "--boundary" but is not a
 *   delimiter is refused. A text leaf part (or a non-MIME body) with 8-bit
 *   octets or a line over 998 octets is re-encoded quoted-printable (lines
 *   of at most 76, "-", "." and "From " never start a line) and its
 *   Content-Transfer-Encoding set accordingly (charset=UTF-8 is added to a
 *   text type that names none, and a non-MIME message gets the MIME
 *   headers); other leaf types get base64. Base64 parts are left alone
 *   unless a line is over 76 octets (re-wrapped); quoted-printable parts
 *   are left alone unless they hold 8-bit octets or over-long lines
 *   (decoded and re-encoded). A preamble or epilogue that is not 7-bit with
 *   short lines is dropped.
 *
 * @param msg the rendered message (need not be NUL-terminated)
 * @param len its length; over MAIL_MESSAGE_MAX is refused
 * @param msgid_domain domain for an added Message-ID; NULL: the domain of
 *        the From address
 * @param[out] out_len length of the result (may be NULL)
 * @param[out] why on failure, the reason (caller frees with free())
 * @return the normalised message, NUL-terminated, 7-bit, CRLF-terminated
 *         (caller frees with free()), or NULL if refused
 */
char *mail_normalise(const char *msg,
                     size_t len,
                     const char *msgid_domain,
                     size_t *out_len,
                     char **why);

/* ---- transport (smtp.c, relay.c, outbox.c) ----------------------------- */

/**
 * A configured mail transport. Thread-safe: any number of threads may call
 * mail_send() on one mailer at once; each send uses its own SMTP session
 * and connection.
 */
struct mailer;

/** Outcome of mail_send(). */
enum mail_result {
    MAIL_OK = 0,
    MAIL_REFUSED, /**< the message or the recipient was refused: by
                       mail_normalise(), or permanently (5xx) by the server
                       at RCPT TO or after DATA; retrying will not help */
    MAIL_FAILED,  /**< transport: DNS, connect, TLS, AUTH, timeouts, a
                       temporary (4xx) answer, MAIL FROM refused, outbox
                       write error; retrying later may help */
};

/** @return a constant name for r ("MAIL_OK", ...); never NULL. */
const char *mail_result_str(enum mail_result r);

/**
 * Set up the transport [email] describes: the outbox when outbox_dir is
 * set, else SMTP to smtp_host:smtp_port with tls none|starttls|tls,
 * verify_tls, ca_file, username/password and timeout. Checks what can be
 * checked without connecting: the outbox directory is writable, `from`
 * holds one address, ca_file loads, a username comes with a password.
 * libesmtp's SASL client is initialised once per process here.
 * @param cfg the configuration; borrowed, must outlive the mailer
 * @param[out] why on failure, "[email] key: reason" (caller frees)
 * @return the mailer (caller frees with mailer_free()), or NULL
 */
struct mailer *mailer_new(const struct config *cfg, char **why);

/** Free a mailer; NULL-safe. No mail_send() may be running on it. */
void mailer_free(struct mailer *m);

/**
 * Normalise a rendered message (mail_normalise() with [email] hostname, or
 * the domain of [email] from, for an added Message-ID) and deliver it
 * synchronously to one recipient: envelope sender the address in
 * [email] from, envelope recipient `to` (the message's own To/Cc/Bcc
 * fields add no recipients).
 *
 * SMTP: every step (connect to each address, TLS handshake, each reply,
 * each write) may take [email] timeout seconds, so a dead or stalled server
 * fails in bounded time; only the DNS lookup of smtp_host is bounded by the
 * resolver's own settings instead. The calling thread blocks meanwhile,
 * other threads are not affected. Success means the server accepted the
 * message after DATA. The process must ignore SIGPIPE (glia.c does):
 * libesmtp and OpenSSL write to sockets that may have been closed.
 *
 * Outbox: the message is written to <outbox_dir>/<UTC timestamp>-<random>
 * .eml (mode 0644) via a temporary file, fsync() and rename(), so readers
 * never see a partial file.
 *
 * @param m the mailer
 * @param to recipient address (bare addr-spec, ASCII, no angle brackets)
 * @param message the rendered message
 * @param len its length
 * @param[out] why on failure, a reason fit for the log: the server's reply
 *             where there is one, never the password (caller frees)
 * @return MAIL_OK, MAIL_REFUSED or MAIL_FAILED
 */
enum mail_result mail_send(struct mailer *m,
                           const char *to,
                           const char *message,
                           size_t len,
                           char **why);

#endif
