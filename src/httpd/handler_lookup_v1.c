/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The legacy unauthenticated lookups that older homeservers and bridges still
 * call: GET /_matrix/identity/api/v1/lookup?medium=&address= (the signed
 * association, or {}) and POST /_matrix/identity/api/v1/bulk_lookup
 * ({"threepids": [[medium, address], ...]} -> [[medium, address, mxid]]).
 * Both are one query on the (medium, address) index. Unlike sydent's, the
 * bulk form is capped like /lookup.
 */
#include "app.h"
#include "db/db.h"
#include "httpd/handlers.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/email.h"
#include "util/mem.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

/* Append s as an element of a PostgreSQL array literal (quoted). */
static void
array_append(struct buf *b, const char *s)
{
    buf_puts(b, b->len > 1 ? ",\"" : "\"");
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            buf_append(b, "\\", 1);
        buf_append(b, s, 1);
    }
    buf_puts(b, "\"");
}

/* The canonical form lookups compare with (emails are stored case-folded).
 * Caller frees. */
static char *
canonical(const char *medium, const char *address)
{
    char *out = NULL;

    if (strcmp(medium, "email") == 0 && email_canonicalise(address, &out) == 0)
        return out;
    return xstrdup(address);
}

struct found_one {
    char *signed_json;
};

static void
on_one(void *cls,
       const char *medium,
       const char *address,
       const char *mxid,
       const char *signed_json)
{
    struct found_one *f = cls;

    (void)medium;
    (void)address;
    (void)mxid;
    free(f->signed_json);
    f->signed_json = xstrdup(signed_json);
}

/* GET /_matrix/identity/api/v1/lookup */
enum MHD_Result
handler_lookup_v1(struct request *rq, const json_t *body)
{
    const char *medium = http_query(rq, "medium");
    const char *address = http_query(rq, "address");
    struct buf media;
    struct buf addrs;
    struct found_one f = {NULL};
    char *canon;
    enum db_status qs;
    json_t *assoc;

    (void)body;
    if (medium == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS, "medium");
    if (address == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS, "address");
    canon = canonical(medium, address);
    buf_init(&media, strlen(medium) * 2 + 8);
    buf_init(&addrs, strlen(canon) * 2 + 8);
    buf_puts(&media, "{");
    array_append(&media, medium);
    buf_puts(&media, "}");
    buf_puts(&addrs, "{");
    array_append(&addrs, canon);
    buf_puts(&addrs, "}");
    free(canon);
    qs = db_lookup_addresses(rq->db, media.data, addrs.data, time_now_ms(),
                             on_one, &f);
    buf_free(&media);
    buf_free(&addrs);
    if (qs < 0) {
        free(f.signed_json);
        return http_reply_internal(rq, "db_lookup_addresses");
    }
    if (f.signed_json == NULL)
        return http_reply_static_json(rq, MHD_HTTP_OK, "{}");
    /* As signed by its origin; a corrupt row is our bug, not a match. */
    assoc = json_loads(f.signed_json, 0, NULL);
    free(f.signed_json);
    if (!json_is_object(assoc)) {
        json_decref(assoc);
        return http_reply_internal(rq, "stored association is not JSON");
    }
    return http_reply_json_steal(rq, MHD_HTTP_OK, assoc);
}

static void
on_bulk(void *cls,
        const char *medium,
        const char *address,
        const char *mxid,
        const char *signed_json)
{
    json_t *out = cls;

    (void)signed_json;
    json_array_append_new(out, json_pack("[s, s, s]", medium, address, mxid));
}

/* POST /_matrix/identity/api/v1/bulk_lookup */
enum MHD_Result
handler_bulk_lookup_v1(struct request *rq, const json_t *body)
{
    json_t *list = json_object_get(body, "threepids");
    struct buf media;
    struct buf addrs;
    json_t *out;
    enum db_status qs;
    size_t i;
    json_t *pair;

    if (list == NULL)
        return http_reply_error(rq, MXERR_MISSING_PARAMS, "threepids");
    if (!json_is_array(list))
        return http_reply_error(rq, MXERR_INVALID_PARAM, "threepids");
    if (json_array_size(list) > (size_t)rq->app->cfg->lookup_max_addresses)
        return http_reply_error(rq, MXERR_TOO_MANY_ADDRESSES, NULL);
    buf_init(&media, rq->body.len * 2 + 16);
    buf_init(&addrs, rq->body.len * 2 + 16);
    buf_puts(&media, "{");
    buf_puts(&addrs, "{");
    json_array_foreach(list, i, pair)
    {
        json_t *m = json_array_get(pair, 0);
        json_t *a = json_array_get(pair, 1);
        char *canon;

        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_string(m) || !json_is_string(a)) {
            buf_free(&media);
            buf_free(&addrs);
            return http_reply_error(rq, MXERR_INVALID_PARAM,
                                    "threepids: [medium, address] pairs");
        }
        canon = canonical(json_string_value(m), json_string_value(a));
        array_append(&media, json_string_value(m));
        array_append(&addrs, canon);
        free(canon);
    }
    buf_puts(&media, "}");
    buf_puts(&addrs, "}");
    out = json_array();
    qs = db_lookup_addresses(rq->db, media.data, addrs.data, time_now_ms(),
                             on_bulk, out);
    buf_free(&media);
    buf_free(&addrs);
    if (qs < 0) {
        json_decref(out);
        return http_reply_internal(rq, "db_lookup_addresses");
    }
    return http_reply_json_steal(rq, MHD_HTTP_OK,
                                 json_pack("{s:o}", "threepids", out));
}
