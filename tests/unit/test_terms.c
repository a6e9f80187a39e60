/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The terms file: validation, URL lookup, fingerprints. */
#include "tap.h"
#include "terms/terms.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/glia-terms.XXXXXX";

static struct terms *
load(const char *text, char **why)
{
    char *path = xasprintf("%s/terms.json", dir);
    FILE *f = fopen(path, "w");
    struct terms *t;

    fputs(text, f);
    fclose(f);
    t = terms_load(path, why);
    unlink(path);
    free(path);
    return t;
}

static const char good[] =
    "{\"privacy\": {\"version\": \"1.0\","
    " \"en\": {\"name\": \"Privacy\", \"url\": \"https://x/privacy-1.0-en\"},"
    " \"fr\": {\"name\": \"Vie privee\", \"url\": "
    "\"https://x/privacy-1.0-fr\"}},"
    " \"tos\": {\"version\": \"2\","
    " \"en\": {\"name\": \"Terms\", \"url\": \"https://x/tos-2-en\"}}}";

static void
bad(const char *text, const char *want)
{
    char *why = NULL;
    struct terms *t = load(text, &why);

    ok(t == NULL && why != NULL && strstr(why, want) != NULL, "refused: %s",
       want);
    if (why != NULL && strstr(why, want) == NULL)
        diag("message: %s", why);
    terms_free(t);
    free(why);
}

int
main(void)
{
    char *why = NULL;
    struct terms *t;
    struct terms *t2;
    const char *policy;
    const char *version;
    char fp[65];

    plan_no_plan();
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");

    t = terms_load(NULL, &why);
    ok(t != NULL, "no terms file: empty terms");
    is_int((long long)terms_count(t), 0, "no policies");
    ok(terms_fingerprint(t) == NULL, "no fingerprint: nothing gated");
    is_str(terms_response_json(t), "{\"policies\":{}}", "GET /terms body");
    terms_free(t);

    t = load(good, &why);
    ok(t != NULL, "good terms load");
    if (t == NULL)
        return done_testing();
    is_int((long long)terms_count(t), 2, "two policies");
    ok(terms_fingerprint(t) != NULL && strlen(terms_fingerprint(t)) == 64,
       "hex fingerprint");
    snprintf(fp, sizeof(fp), "%s", terms_fingerprint(t));
    ok(strstr(terms_response_json(t), "\"policies\":{\"privacy\"") != NULL &&
           strstr(terms_response_json(t), "https://x/tos-2-en") != NULL,
       "response wraps the file in policies");
    ok(terms_url_lookup(t, "https://x/privacy-1.0-fr", &policy, &version) &&
           strcmp(policy, "privacy") == 0 && strcmp(version, "1.0") == 0,
       "French URL belongs to privacy 1.0");
    ok(terms_url_lookup(t, "https://x/tos-2-en", &policy, &version) &&
           strcmp(policy, "tos") == 0 && strcmp(version, "2") == 0,
       "tos URL");
    ok(!terms_url_lookup(t, "https://x/unknown", &policy, &version),
       "unknown URL");
    ok(terms_policy_index(t, "privacy", "1.0") >= 0, "current version known");
    is_int(terms_policy_index(t, "privacy", "0.9"), -1, "old version is not");
    is_int(terms_policy_index(t, "gone", "1"), -1, "unknown policy is not");
    terms_free(t);

    /* Key order in the file does not matter; versions do. */
    t = load("{\"tos\": {\"version\": \"2\", \"en\": {\"name\": \"T\", \"url\":"
             " \"u1\"}}, \"privacy\": {\"version\": \"1.0\", \"en\": "
             "{\"name\": \"P\", \"url\": \"u2\"}}}",
             &why);
    t2 =
        load("{\"tos\": {\"version\": \"3\", \"en\": {\"name\": \"T\", \"url\":"
             " \"u1\"}}, \"privacy\": {\"version\": \"1.0\", \"en\": "
             "{\"name\": \"P\", \"url\": \"u2\"}}}",
             &why);
    ok(t != NULL && strcmp(terms_fingerprint(t), fp) == 0,
       "same ids and versions, other order: same fingerprint");
    ok(t2 != NULL && strcmp(terms_fingerprint(t2), fp) != 0,
       "a new version changes the fingerprint");
    terms_free(t);
    terms_free(t2);

    bad("[1, 2]", "must be a JSON object");
    bad("{\"p\": 1}", "policy \"p\" is not an object");
    bad("{\"p\": {\"en\": {\"name\": \"n\", \"url\": \"u\"}}}",
        "has no \"version\"");
    bad("{\"p\": {\"version\": \"1\"}}", "has no language");
    bad("{\"p\": {\"version\": \"1\", \"en\": {\"name\": \"n\"}}}",
        "needs an object with \"name\" and \"url\"");
    bad("{\"p\": ", "terms.json:1:");
    bad("{\"p\": {\"version\": \"1\"}, \"p\": {}}", "duplicate");
    t = terms_load("/nonexistent/terms.json", &why);
    ok(t == NULL && why != NULL, "missing file refused");
    free(why);
    rmdir(dir);
    return done_testing();
}
