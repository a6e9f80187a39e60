/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Text messages for phone number validation. One sender, chosen by
 * [sms] provider: a development outbox of files, OpenMarket's API (what
 * sydent speaks), Twilio's REST API, or a generic HTTPS POST with a JSON
 * body template. Gateways are called through the federation client's
 * plain-URL call (fed_http_url): the same timeouts and size cap as every
 * other outbound request.
 *
 * The gateway is the operator's choice, not a request's, so its calls may
 * reach private addresses (fed_client_new_operator()).
 *
 * The toll-fraud guard lives here too: allow- and deny-lists of country
 * calling codes, checked before any message is sent. Rate limits per
 * country and overall are in the msisdn handler (they count messages
 * actually sent).
 */
#ifndef GLIA_SMS_SMS_H
#define GLIA_SMS_SMS_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct fed_client;
struct sms_sender;

/** Most originators configured, and longest value of one. */
#define SMS_ORIGINATORS_MAX 64
#define SMS_ORIGINATOR_LEN  32

/** Where a message comes from: TYPE and VALUE of [sms] originators. */
enum sms_originator_type {
    SMS_FROM_LONG,  /* a phone number */
    SMS_FROM_SHORT, /* a short code */
    SMS_FROM_ALPHA, /* an alphanumeric sender id */
};

struct sms_originator {
    int country_code; /* 0: default */
    enum sms_originator_type type;
    char value[SMS_ORIGINATOR_LEN + 1];
};

/**
 * Parse [sms] originators (pure, unit-tested).
 * @param[out] out up to SMS_ORIGINATORS_MAX entries; *n their number
 * @param[out] why on failure, a static reason
 * @return 0, or -1
 */
int sms_originators_parse(const char *spec,
                          struct sms_originator *out,
                          size_t *n,
                          const char **why);

/**
 * The originator for msisdn (pure): among those for its country, else the
 * defaults, else alpha "Matrix", the one at the sum of its digits modulo
 * their number (sydent's rule: one number always hears from one sender).
 */
struct sms_originator sms_originator_pick(const struct sms_originator *list,
                                          size_t n,
                                          const char *msisdn,
                                          int country_code);

/**
 * Is a comma-separated list of calling codes well formed (pure)? An empty
 * or NULL list is.
 */
bool sms_country_list_valid(const char *list);
/** Is country_code on the list (pure)? NULL or "" is an empty list. */
bool sms_country_listed(const char *list, int country_code);

/**
 * Substitute {name} placeholders (pure): each of names[i] by values[i],
 * JSON-escaped (without quotes) when json is true. Unknown {words} stay.
 * @return the text (caller frees)
 */
char *sms_substitute(const char *text,
                     const char *const names[],
                     const char *const values[],
                     size_t n,
                     bool json);

/**
 * Make the sender for the config, checking its settings.
 * @param[out] why on failure, for the operator (caller frees)
 * @return the sender (its provider may be "none"), or NULL
 */
struct sms_sender *sms_sender_new(const struct config *cfg, char **why);
void sms_sender_free(struct sms_sender *s);
/** @return false when [sms] provider is none */
bool sms_enabled(const struct sms_sender *s);

/**
 * Send text to msisdn (E.164 digits), blocking: call it on a worker.
 * @param[out] why on failure, for the log (caller frees; no secrets)
 * @return true once the gateway accepted it (2xx) or the outbox has it
 */
bool sms_send(struct sms_sender *s,
              const char *msisdn,
              int country_code,
              const char *text,
              char **why);

#endif
