/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Checking an inbound push (replication-wire.md, "Inbound"). Pure: the
 * handler identifies the peer by its certificate, this checks the entries,
 * the database applies them in one transaction.
 */
#include "replication/replication.h"

#include "binding.h"
#include "crypto/crypto.h"
#include "fed/fed.h"
#include "util/config.h"
#include "util/email.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

/* check_entry()'s answer for a signed entry with no usable address. */
static const char SKIPPED[] = "skipped";

/* Longest origin id: 18 digits always fits an int64. */
#define ID_DIGITS_MAX 18

struct keyed {
    int64_t id;
    const char *key;
    json_t *v;
};

static int
by_id(const void *a, const void *b)
{
    const struct keyed *x = a;
    const struct keyed *y = b;

    return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

static bool
parse_id(const char *s, int64_t *out)
{
    size_t n = strlen(s);

    if (n == 0 || n > ID_DIGITS_MAX || strspn(s, "0123456789") != n)
        return false;
    *out = strtoll(s, NULL, 10);
    return true;
}

/* Signed by the peer's own name with its key, under any ed25519 key id. */
static bool
signed_by_peer(const json_t *v, const struct config_peer *peer)
{
    const json_t *sigs =
        json_object_get(json_object_get(v, "signatures"), peer->name);
    const char *key_id;
    json_t *sig;

    if (!json_is_object(sigs))
        return false;
    json_object_foreach((json_t *)(uintptr_t)sigs, key_id, sig)
    {
        if (strncmp(key_id, "ed25519:", 8) == 0 &&
            signjson_verify(v, peer->name, key_id, peer->pubkey) == SIGNJSON_OK)
            return true;
    }
    return false;
}

static char *
keep(struct repl_batch *b, char *s)
{
    b->strings[b->n_strings++] = s;
    return s;
}

/*
 * The address as stored here. A peer already accepted it, and sydent is
 * laxer than glia (its internal API takes msisdns as typed), so a correctly
 * signed entry is kept whenever it can be stored at all: emails are
 * case-folded (strictly when glia's check passes, else just folded),
 * msisdns lose '+', spaces and punctuation. @return the address (caller
 * frees), or NULL if nothing usable is left
 */
static char *
lenient_address(const char *medium, const char *address)
{
    char *canon = NULL;
    const char *bad = NULL;

    if (binding_canonical_address(medium, address, &canon, &bad) == 0)
        return canon;
    if (strcmp(medium, "email") == 0)
        return email_casefold(address, &canon) == 0 ? canon : NULL;
    if (strcmp(medium, "msisdn") == 0) {
        char digits[16];
        size_t n = 0;

        for (const char *p = address; *p != '\0'; p++) {
            if (*p >= '0' && *p <= '9') {
                if (n + 1 >= sizeof(digits))
                    return NULL;
                digits[n++] = *p;
            } else if (strchr("+ -.()", *p) == NULL) {
                return NULL;
            }
        }
        digits[n] = '\0';
        return n > 0 ? xstrdup(digits) : NULL;
    }
    return NULL;
}

/* Check one entry; on success fill e. @return NULL, or why not */
static const char *
check_entry(struct repl_batch *b,
            int64_t id,
            json_t *v,
            const struct config_peer *peer,
            struct db_replicated *e)
{
    const json_t *medium = json_object_get(v, "medium");
    const json_t *address = json_object_get(v, "address");
    const json_t *mxid = json_object_get(v, "mxid");
    const json_t *ts = json_object_get(v, "ts");
    const json_t *nb = json_object_get(v, "not_before");
    const json_t *na = json_object_get(v, "not_after");
    char *canon;
    bool tombstone;

    if (!json_is_object(v))
        return "not an object";
    if (!json_is_string(medium) || !json_is_string(address) ||
        !json_is_integer(ts) || mxid == NULL || nb == NULL || na == NULL)
        return "medium, address, mxid, ts, not_before or not_after missing";
    tombstone = json_is_null(mxid);
    if (tombstone ? !json_is_null(nb) && !json_is_integer(nb)
                  : !json_is_string(mxid) || !json_is_integer(nb) ||
                        !json_is_integer(na))
        return "bad mxid, not_before or not_after";
    if (!tombstone &&
        (json_string_length(mxid) == 0 || json_string_length(mxid) > 255))
        return "bad mxid";
    if (!signed_by_peer(v, peer))
        return "not signed by the pushing peer";
    canon =
        lenient_address(json_string_value(medium), json_string_value(address));
    if (canon == NULL) {
        /* Signed, so not a forgery: skipped, not failed (failing it would
         * make a sydent peer retry the batch for ever). */
        b->skipped++;
        return SKIPPED;
    }
    e->origin_id = id;
    e->medium = json_string_value(medium);
    e->address = keep(b, canon);
    e->mxid = tombstone ? NULL : json_string_value(mxid);
    e->ts = (int64_t)json_integer_value(ts);
    e->not_before = json_is_integer(nb) ? (int64_t)json_integer_value(nb) : 0;
    e->not_after = json_is_integer(na) ? (int64_t)json_integer_value(na) : 0;
    e->signed_json = keep(b, json_dumps(v, JSON_COMPACT));
    return NULL;
}

int
repl_batch_parse(const json_t *body,
                 const struct config_peer *peer,
                 struct repl_batch *b)
{
    json_t *sg = json_object_get(body, "sgAssocs");
    struct keyed *items;
    size_t n = 0;
    const char *key;
    json_t *v;

    memset(b, 0, sizeof(*b));
    if (!json_is_object(sg))
        return -1;
    b->failed_ids = json_array();
    items = xcalloc(json_object_size(sg) + 1, sizeof(*items));
    json_object_foreach(sg, key, v)
    {
        int64_t id;

        if (!parse_id(key, &id)) {
            json_array_append_new(b->failed_ids, json_string(key));
            if (b->error == NULL)
                b->error = "an id is not a decimal integer";
            continue;
        }
        items[n].id = id;
        items[n].key = key;
        items[n].v = v;
        n++;
    }
    qsort(items, n, sizeof(*items), by_id);
    b->e = xcalloc(n + 1, sizeof(*b->e));
    b->strings = xcalloc(2 * n + 1, sizeof(*b->strings));
    for (size_t i = 0; i < n; i++) {
        const char *why =
            check_entry(b, items[i].id, items[i].v, peer, &b->e[b->n]);

        if (why == SKIPPED)
            continue;
        if (why != NULL) {
            json_array_append_new(b->failed_ids, json_string(items[i].key));
            if (b->error == NULL)
                b->error = why;
            continue;
        }
        b->n++;
    }
    free(items);
    return 0;
}

void
repl_batch_free(struct repl_batch *b)
{
    for (size_t i = 0; i < b->n_strings; i++)
        free(b->strings[i]);
    free(b->strings);
    free(b->e);
    json_decref(b->failed_ids);
    memset(b, 0, sizeof(*b));
}
