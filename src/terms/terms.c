/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Terms of service; see terms.h. */
#include "terms/terms.h"
#include "util/mem.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct terms_url {
    char *url;
    size_t policy; /* index into policies */
};

struct terms_policy {
    char *id;
    char *version;
};

struct terms {
    struct terms_policy *policies; /* sorted by id */
    size_t npolicies;
    struct terms_url *urls;
    size_t nurls;
    char *response; /* {"policies": ...} */
    char fingerprint[crypto_hash_sha256_BYTES * 2 + 1];
};

static int
cmp_policy(const void *a, const void *b)
{
    return strcmp(((const struct terms_policy *)a)->id,
                  ((const struct terms_policy *)b)->id);
}

/* Check one policy object; collect its URLs. @return reason, or NULL. */
static char *
check_policy(struct terms *t, const char *id, json_t *pol)
{
    const char *lang;
    json_t *v;
    size_t langs = 0;
    json_t *version = json_object_get(pol, "version");

    if (!json_is_object(pol))
        return xasprintf("policy \"%s\" is not an object", id);
    if (!json_is_string(version) || json_string_length(version) == 0)
        return xasprintf("policy \"%s\" has no \"version\" string", id);
    json_object_foreach(pol, lang, v)
    {
        json_t *name = json_object_get(v, "name");
        json_t *url = json_object_get(v, "url");

        if (strcmp(lang, "version") == 0)
            continue;
        if (!json_is_object(v) || !json_is_string(name) || !json_is_string(url))
            return xasprintf("policy \"%s\", language \"%s\": needs an "
                             "object with \"name\" and \"url\" strings",
                             id, lang);
        t->urls = xrealloc(t->urls, (t->nurls + 1) * sizeof(*t->urls));
        t->urls[t->nurls].url = xstrdup(json_string_value(url));
        t->urls[t->nurls].policy = t->npolicies;
        t->nurls++;
        langs++;
    }
    if (langs == 0)
        return xasprintf("policy \"%s\" has no language", id);
    t->policies[t->npolicies].id = xstrdup(id);
    t->policies[t->npolicies].version = xstrdup(json_string_value(version));
    t->npolicies++;
    return NULL;
}

/* Sort policies by id (stable fingerprint) and fix the URLs' indexes. */
static void
sort_policies(struct terms *t)
{
    char **old_ids = xcalloc(t->npolicies, sizeof(char *));

    for (size_t i = 0; i < t->npolicies; i++)
        old_ids[i] = t->policies[i].id;
    qsort(t->policies, t->npolicies, sizeof(*t->policies), cmp_policy);
    for (size_t u = 0; u < t->nurls; u++) {
        const char *id = old_ids[t->urls[u].policy];

        for (size_t i = 0; i < t->npolicies; i++)
            if (t->policies[i].id == id)
                t->urls[u].policy = i;
    }
    free(old_ids);
}

static void
make_fingerprint(struct terms *t)
{
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < t->npolicies; i++) {
        /* NUL separators: ids and versions cannot run into each other. */
        crypto_hash_sha256_update(&st, (const unsigned char *)t->policies[i].id,
                                  strlen(t->policies[i].id) + 1);
        crypto_hash_sha256_update(&st,
                                  (const unsigned char *)t->policies[i].version,
                                  strlen(t->policies[i].version) + 1);
    }
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(t->fingerprint, sizeof(t->fingerprint), digest,
                   sizeof(digest));
}

struct terms *
terms_load(const char *path, char **why)
{
    struct terms *t = xcalloc(1, sizeof(*t));
    json_error_t jerr;
    json_t *root;
    json_t *resp;
    const char *id;
    json_t *pol;

    *why = NULL;
    if (path == NULL) {
        t->response = xstrdup("{\"policies\":{}}");
        return t;
    }
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        *why = xasprintf("%s:%d: %s", path, jerr.line, jerr.text);
        terms_free(t);
        return NULL;
    }
    if (!json_is_object(root)) {
        *why = xasprintf("%s: must be a JSON object of policies", path);
        json_decref(root);
        terms_free(t);
        return NULL;
    }
    t->policies = xcalloc(json_object_size(root) + 1, sizeof(*t->policies));
    json_object_foreach(root, id, pol)
    {
        char *err = check_policy(t, id, pol);

        if (err != NULL) {
            *why = xasprintf("%s: %s", path, err);
            free(err);
            json_decref(root);
            terms_free(t);
            return NULL;
        }
    }
    sort_policies(t);
    make_fingerprint(t);
    resp = json_pack("{s:O}", "policies", root);
    t->response = json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(resp);
    json_decref(root);
    return t;
}

void
terms_free(struct terms *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->npolicies; i++) {
        free(t->policies[i].id);
        free(t->policies[i].version);
    }
    for (size_t i = 0; i < t->nurls; i++)
        free(t->urls[i].url);
    free(t->policies);
    free(t->urls);
    free(t->response);
    free(t);
}

const char *
terms_response_json(const struct terms *t)
{
    return t->response;
}

size_t
terms_count(const struct terms *t)
{
    return t->npolicies;
}

const char *
terms_fingerprint(const struct terms *t)
{
    return t->npolicies == 0 ? NULL : t->fingerprint;
}

bool
terms_url_lookup(const struct terms *t,
                 const char *url,
                 const char **policy,
                 const char **version)
{
    for (size_t i = 0; i < t->nurls; i++) {
        if (strcmp(t->urls[i].url, url) == 0) {
            *policy = t->policies[t->urls[i].policy].id;
            *version = t->policies[t->urls[i].policy].version;
            return true;
        }
    }
    return false;
}

int
terms_policy_index(const struct terms *t,
                   const char *policy,
                   const char *version)
{
    for (size_t i = 0; i < t->npolicies; i++)
        if (strcmp(t->policies[i].id, policy) == 0 &&
            strcmp(t->policies[i].version, version) == 0)
            return (int)i;
    return -1;
}
