/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * THE route table. Adding an endpoint = one row here + one handler file.
 * Paths are matched segment by segment; a {name} segment matches any one
 * non-empty segment, and rows with more literal segments win, so the order of
 * rows does not matter for correctness.
 */
#include "httpd/handlers.h"
#include "httpd/httpd.h"

#include <stdio.h>
#include <string.h>

#define V2       "/_matrix/identity/v2"
#define V1       "/_matrix/identity/api/v1"
#define INTERNAL "/_matrix/identity/internal"

static const struct route routes[] = {
    {HTTP_GET, "/_matrix/identity/versions", handler_versions_get, 0},
    {HTTP_GET, V2, handler_status_get, 0},
    {HTTP_GET, V2 "/pubkey/isvalid", handler_pubkey_isvalid, 0},
    {HTTP_GET, V2 "/pubkey/{keyId}", handler_pubkey_get, 0},
    {HTTP_POST, V2 "/account/register", handler_account_register, 0},
    {HTTP_GET, V2 "/account", handler_account_get, ROUTE_AUTH | ROUTE_TERMS},
    /* Not terms-gated: a user must be able to leave without agreeing. */
    {HTTP_POST, V2 "/account/logout", handler_account_logout,
     ROUTE_AUTH | ROUTE_BODY_OPTIONAL | ROUTE_UNKNOWN_TOKEN_ERR},
    {HTTP_GET, V2 "/terms", handler_terms_get, 0},
    /* Not terms-gated: it is how terms get accepted. */
    {HTTP_POST, V2 "/terms", handler_terms_post, ROUTE_AUTH},
    {HTTP_POST, V2 "/validate/email/requestToken", handler_email_request_token,
     ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_POST, V2 "/validate/email/submitToken", handler_email_submit_token,
     ROUTE_AUTH | ROUTE_TERMS},
    /* The link in the mail: a browser has no token to send. */
    {HTTP_GET, V2 "/validate/email/submitToken", handler_email_submit_page, 0},
    {HTTP_POST, V2 "/validate/msisdn/requestToken",
     handler_msisdn_request_token, ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_POST, V2 "/validate/msisdn/submitToken", handler_msisdn_submit_token,
     ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_GET, V2 "/validate/msisdn/submitToken", handler_msisdn_submit_page,
     0},
    {HTTP_GET, V2 "/3pid/getValidated3pid", handler_3pid_get_validated,
     ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_POST, V2 "/3pid/bind", handler_3pid_bind, ROUTE_AUTH | ROUTE_TERMS},
    /* No token: homeservers sign with X-Matrix, owners prove the session;
     * and leaving must not wait for new terms to be accepted. */
    {HTTP_POST, V2 "/3pid/unbind", handler_3pid_unbind, 0},
    {HTTP_GET, V2 "/hash_details", handler_hash_details,
     ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_POST, V2 "/lookup", handler_lookup, ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_POST, V2 "/store-invite", handler_store_invite,
     ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_POST, V2 "/sign-ed25519", handler_sign_ed25519,
     ROUTE_AUTH | ROUTE_TERMS},
    {HTTP_GET, V2 "/pubkey/ephemeral/isvalid", handler_pubkey_ephemeral_isvalid,
     0},

    /* Legacy v1: removed from the spec, still called by homeservers. */
    {HTTP_GET, V1, handler_status_get, 0},
    {HTTP_GET, V1 "/pubkey/isvalid", handler_pubkey_isvalid, 0},
    {HTTP_GET, V1 "/pubkey/{keyId}", handler_pubkey_get, 0},
    {HTTP_POST, V1 "/validate/email/requestToken", handler_email_request_token,
     0},
    {HTTP_POST, V1 "/validate/email/submitToken", handler_email_submit_token,
     0},
    {HTTP_GET, V1 "/validate/email/submitToken", handler_email_submit_page, 0},
    /* Synapse delegates phone validation here (account_threepid_delegates). */
    {HTTP_POST, V1 "/validate/msisdn/requestToken",
     handler_msisdn_request_token, 0},
    {HTTP_POST, V1 "/validate/msisdn/submitToken", handler_msisdn_submit_token,
     0},
    {HTTP_GET, V1 "/validate/msisdn/submitToken", handler_msisdn_submit_page,
     0},
    {HTTP_GET, V1 "/3pid/getValidated3pid", handler_3pid_get_validated, 0},
    {HTTP_GET, V1 "/lookup", handler_lookup_v1, 0},
    {HTTP_POST, V1 "/bulk_lookup", handler_bulk_lookup_v1, 0},
    {HTTP_POST, V1 "/3pid/unbind", handler_3pid_unbind, 0},
    {HTTP_GET, V1 "/pubkey/ephemeral/isvalid", handler_pubkey_ephemeral_isvalid,
     0},
    /* The invitation email's signurl: Element POSTs no body and no token. */
    {HTTP_POST, V1 "/sign-ed25519", handler_sign_ed25519, ROUTE_BODY_OPTIONAL},

    /* The provisioning listener ([internal]): no auth beyond reaching it. */
    {HTTP_POST, INTERNAL "/bind", handler_internal_bind, ROUTE_INTERNAL},
    {HTTP_POST, INTERNAL "/unbind", handler_internal_unbind, ROUTE_INTERNAL},

    /* The replication listener ([replication] port): peers, mutual TLS. */
    {HTTP_POST, "/_matrix/identity/replicate/v1/push", handler_replicate_push,
     ROUTE_REPLICATION},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

const struct route *
routes_table(size_t *count)
{
    *count = N_ROUTES;
    return routes;
}

unsigned int
http_method_parse(const char *method)
{
    /* HEAD is served as GET; libmicrohttpd drops the body. */
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return HTTP_GET;
    if (strcmp(method, "POST") == 0)
        return HTTP_POST;
    if (strcmp(method, "PUT") == 0)
        return HTTP_PUT;
    if (strcmp(method, "DELETE") == 0)
        return HTTP_DELETE;
    return 0;
}

/*
 * Match path against pattern. @return the number of literal segments when it
 * matches (>= 0), -1 when it does not; fills params.
 */
static int
match_pattern(const char *pattern, const char *path, struct route_match *m)
{
    const char *p = pattern;
    const char *s = path;
    int literals = 0;
    size_t np = 0;

    while (*p != '\0' && *s != '\0') {
        const char *pend;
        const char *send;
        size_t plen;
        size_t slen;

        if (*p != '/' || *s != '/')
            return -1;
        p++;
        s++;
        pend = strchr(p, '/');
        send = strchr(s, '/');
        plen = pend != NULL ? (size_t)(pend - p) : strlen(p);
        slen = send != NULL ? (size_t)(send - s) : strlen(s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || np >= ROUTE_MAX_PARAMS)
                return -1;
            m->params[np] = s;
            m->param_len[np] = slen;
            np++;
        } else {
            if (plen != slen || memcmp(p, s, plen) != 0)
                return -1;
            literals++;
        }
        p += plen;
        s += slen;
    }
    if (*p != '\0' || *s != '\0')
        return -1;
    return literals;
}

/* Is row r served on this listener? */
static bool
on_listener(const struct route *r, unsigned int listener)
{
    return (r->flags & ROUTE_LISTENERS) == listener;
}

void
routes_match(unsigned int listener,
             unsigned int method,
             const char *path,
             struct route_match *out)
{
    int best = -1;
    const char *best_pattern = NULL;

    memset(out, 0, sizeof(*out));
    /* First the most specific pattern that matches the path... */
    for (size_t i = 0; i < N_ROUTES; i++) {
        struct route_match m;
        int lit;

        if (!on_listener(&routes[i], listener))
            continue;
        memset(&m, 0, sizeof(m));
        lit = match_pattern(routes[i].path, path, &m);
        if (lit > best) {
            best = lit;
            best_pattern = routes[i].path;
        }
    }
    if (best_pattern == NULL)
        return;
    /* ...then, among rows with that pattern, the one for this method. */
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!on_listener(&routes[i], listener) ||
            strcmp(routes[i].path, best_pattern) != 0)
            continue;
        out->allowed |= (unsigned int)routes[i].method;
        if ((unsigned int)routes[i].method == method) {
            out->route = &routes[i];
            out->index = i;
            match_pattern(routes[i].path, path, out);
        }
    }
}

void
routes_allow_header(unsigned int allowed, char *out, size_t outlen)
{
    static const struct {
        unsigned int bit;
        const char *name;
    } names[] = {{HTTP_GET, "GET, HEAD"},
                 {HTTP_POST, "POST"},
                 {HTTP_PUT, "PUT"},
                 {HTTP_DELETE, "DELETE"}};
    size_t used = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int n;

        if ((allowed & names[i].bit) == 0)
            continue;
        n = snprintf(out + used, outlen - used, "%s, ", names[i].name);
        if (n < 0 || (size_t)n >= outlen - used)
            return;
        used += (size_t)n;
    }
    snprintf(out + used, outlen - used, "OPTIONS");
}
