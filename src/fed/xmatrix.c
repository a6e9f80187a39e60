/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * X-Matrix request signatures, as a homeserver signs its calls to an
 * identity server (Synapse's unbind; doc: identity-api.md §2.5).
 *
 * The header is parsed as the S-S spec describes it, not as sydent does
 * (sydent splits on spaces and breaks on "a, b"): RFC 9110 auth-params,
 * quoted or not, in any order and case, unknown ones ignored.
 *
 * What Synapse signs for an identity server is not the S-S request object:
 * it has `destination_is` (the identity server's name as the homeserver
 * knows it) and no `destination`. We rebuild that object from the request
 * as it arrived (method, the raw target, the parsed body) and our own name,
 * so a request signed for another identity server does not verify here.
 */
#include "crypto/crypto.h"
#include "fed/fed_internal.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static const char *
skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Read one value (token or quoted string) into out. @return the position
 * after it, or NULL if malformed or too long. */
static const char *
read_value(const char *p, char *out, size_t cap)
{
    size_t n = 0;

    if (*p == '"') {
        p++;
        while (*p != '"') {
            if (*p == '\0')
                return NULL;
            if (*p == '\\') {
                p++;
                if (*p == '\0')
                    return NULL;
            }
            if ((unsigned char)*p < 0x20 || n + 1 >= cap)
                return NULL;
            out[n++] = *p++;
        }
        p++;
    } else {
        /* Colons are not tchars, but Synapse leaves origin and key ids
         * unquoted ("origin=example.org:8448"), so they are allowed. */
        while (is_tchar(*p) || *p == ':' || *p == '/' || *p == '=') {
            /* '=' and '/' only inside base64 values (sig=abc/d==). */
            if (n + 1 >= cap)
                return NULL;
            out[n++] = *p++;
        }
        if (n == 0)
            return NULL;
    }
    out[n] = '\0';
    return p;
}

bool
fed_xmatrix_parse(const char *header, struct fed_xmatrix *out)
{
    const char *p;
    bool seen_origin = false;
    bool seen_dest = false;
    bool seen_key = false;
    bool seen_sig = false;
    struct fed_server_name sn;

    memset(out, 0, sizeof(*out));
    if (header == NULL)
        return false;
    p = skip_ws(header);
    if (strncasecmp(p, "X-Matrix", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
        return false;
    p = skip_ws(p + 8);
    while (*p != '\0') {
        char name[32];
        char value[512];
        size_t nl = 0;

        while (is_tchar(*p)) {
            if (nl + 1 >= sizeof(name))
                return false;
            name[nl++] = *p++;
        }
        name[nl] = '\0';
        if (nl == 0)
            return false;
        p = skip_ws(p);
        if (*p != '=')
            return false;
        p = read_value(skip_ws(p + 1), value, sizeof(value));
        if (p == NULL)
            return false;
        if (strcasecmp(name, "origin") == 0) {
            if (seen_origin || strlen(value) >= sizeof(out->origin))
                return false;
            snprintf(out->origin, sizeof(out->origin), "%s", value);
            seen_origin = true;
        } else if (strcasecmp(name, "destination") == 0) {
            if (seen_dest || strlen(value) >= sizeof(out->destination))
                return false;
            snprintf(out->destination, sizeof(out->destination), "%s", value);
            seen_dest = true;
        } else if (strcasecmp(name, "key") == 0) {
            if (seen_key || strlen(value) >= sizeof(out->key))
                return false;
            snprintf(out->key, sizeof(out->key), "%s", value);
            seen_key = true;
        } else if (strcasecmp(name, "sig") == 0) {
            if (seen_sig || strlen(value) >= sizeof(out->sig))
                return false;
            snprintf(out->sig, sizeof(out->sig), "%s", value);
            seen_sig = true;
        }
        /* Anything else: a later spec's parameter; ignore it. */
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != '\0')
            return false;
    }
    return seen_origin && seen_key && seen_sig &&
           fed_server_name_parse(out->origin, &sn) &&
           strncmp(out->key, "ed25519:", 8) == 0 && out->key[8] != '\0';
}

enum fed_error
fed_xmatrix_verify(struct fed_client *c,
                   const char *authorization,
                   const char *method,
                   const char *uri,
                   const char *destination_is,
                   const json_t *content,
                   int64_t now_ms,
                   struct fed_xmatrix *xm,
                   char **why)
{
    unsigned char pk[32];
    enum fed_error err;
    json_t *obj;
    enum signjson_result vr;

    if (!fed_xmatrix_parse(authorization, xm)) {
        if (why != NULL)
            *why = xstrdup("not a well-formed X-Matrix header");
        return FED_BAD_NAME;
    }
    /* Optional in requests to identity servers; if named, it must be us. */
    if (xm->destination[0] != '\0' &&
        strcmp(xm->destination, destination_is) != 0) {
        if (why != NULL)
            *why = xasprintf("%s: signed for destination %s", xm->origin,
                             xm->destination);
        return FED_BAD_SIGNATURE;
    }
    err = fed_server_key(c, xm->origin, xm->key, now_ms, pk, why);
    if (err != FED_OK)
        return err;
    obj = json_pack("{s:s, s:s, s:s, s:s, s:O, s:{s:{s:s}}}", "method", method,
                    "uri", uri, "origin", xm->origin, "destination_is",
                    destination_is, "content", content, "signatures",
                    xm->origin, xm->key, xm->sig);
    if (obj == NULL) {
        if (why != NULL)
            *why = xasprintf("%s: request not representable", xm->origin);
        return FED_BAD_SIGNATURE;
    }
    vr = signjson_verify(obj, xm->origin, xm->key, pk);
    json_decref(obj);
    if (vr != SIGNJSON_OK) {
        if (why != NULL)
            *why = xasprintf("%s: %s", xm->origin, signjson_result_str(vr));
        return FED_BAD_SIGNATURE;
    }
    return FED_OK;
}
