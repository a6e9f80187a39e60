/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Request helpers: body parsing into Matrix errors, access-log redaction, and
 * access to query, headers and path parameters. The parsing functions are
 * pure so tests/unit can drive them without a server.
 */
#include "httpd/httpd.h"
#include "util/mem.h"

#include <string.h>

enum mxerr
http_parse_json_body(const char *data,
                     size_t len,
                     bool empty_is_object,
                     json_t **out)
{
    json_error_t jerr;
    json_t *v;
    size_t i = 0;

    *out = NULL;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
                       data[i] == '\n'))
        i++;
    if (i == len) {
        if (!empty_is_object)
            return MXERR_NOT_JSON;
        *out = json_object();
        return MXERR_NONE;
    }
    /*
     * Duplicate keys are refused: two readers of one body (us and a
     * signature verifier, say) must never see different values. jansson also
     * rejects invalid UTF-8, NUL in strings, and nesting deeper than 2048.
     */
    v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        return MXERR_NOT_JSON;
    if (!json_is_object(v)) {
        json_decref(v);
        return MXERR_BAD_JSON;
    }
    *out = v;
    return MXERR_NONE;
}

enum mxerr
http_body_strings(const json_t *body,
                  const char *const names[],
                  const char **const outs[],
                  const char **bad_field)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        json_t *v = json_object_get(body, names[i]);

        *bad_field = names[i];
        if (v == NULL)
            return MXERR_MISSING_PARAMS;
        if (!json_is_string(v))
            return MXERR_INVALID_PARAM;
        *outs[i] = json_string_value(v);
    }
    *bad_field = NULL;
    return MXERR_NONE;
}

/* Query parameters whose values are neither secret nor personal. */
static bool
loggable_param(const char *name, size_t len)
{
    static const char *const safe[] = {"sid", "medium", "brand", "algorithm",
                                       "public_key"};

    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (strlen(safe[i]) == len && memcmp(safe[i], name, len) == 0)
            return true;
    return false;
}

void
http_redact_target(const char *target, char *out, size_t outlen)
{
    const char *q = strchr(target, '?');
    size_t used = 0;

    if (outlen == 0)
        return;
#define PUT(s, n)                                                              \
    do {                                                                       \
        size_t n_ = (n);                                                       \
        if (n_ > outlen - 1 - used)                                            \
            n_ = outlen - 1 - used;                                            \
        memcpy(out + used, (s), n_);                                           \
        used += n_;                                                            \
    } while (0)
    if (q == NULL) {
        PUT(target, strlen(target));
        out[used] = '\0';
        return;
    }
    PUT(target, (size_t)(q - target) + 1);
    q++;
    while (*q != '\0') {
        const char *amp = strchr(q, '&');
        size_t plen = amp != NULL ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', plen);
        size_t nlen = eq != NULL ? (size_t)(eq - q) : plen;

        PUT(q, nlen);
        if (eq != NULL) {
            if (loggable_param(q, nlen))
                PUT(eq, plen - nlen);
            else
                PUT("=_", 2);
        }
        if (amp == NULL)
            break;
        PUT("&", 1);
        q = amp + 1;
    }
#undef PUT
    out[used] = '\0';
}

const char *
http_query(struct request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_header(struct request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *
http_path_param(const struct request *rq, size_t i)
{
    if (i >= ROUTE_MAX_PARAMS)
        return NULL;
    return rq->params[i];
}
