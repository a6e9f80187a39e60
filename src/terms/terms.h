/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The operator's terms of service: loaded once from the JSON file named by
 * [general] terms (shaped like the "policies" object of GET /terms) and
 * immutable afterwards. Answers the questions the terms endpoints and the
 * terms gate ask: which policy version does this URL belong to, and has a
 * user accepted every current policy?
 */
#ifndef GLIA_TERMS_H
#define GLIA_TERMS_H

#include <stdbool.h>
#include <stddef.h>

struct terms;

/**
 * Load and validate a terms file. path NULL means "no terms": an empty
 * policy set that gates nothing.
 * @param[out] why on failure, the reason (caller frees)
 * @return the terms (caller frees with terms_free()), or NULL
 */
struct terms *terms_load(const char *path, char **why);
/** NULL-safe. */
void terms_free(struct terms *t);
/** @return the body of GET /terms, {"policies": {...}} (borrowed). */
const char *terms_response_json(const struct terms *t);
/** @return the number of policies (0: nothing is gated). */
size_t terms_count(const struct terms *t);
/**
 * @return a fingerprint of every policy id and version (hex SHA-256,
 * borrowed), or NULL when there are no policies. An account whose stored
 * consent equals it has accepted the current terms.
 */
const char *terms_fingerprint(const struct terms *t);
/**
 * Find the policy a URL belongs to.
 * @param[out] policy, version borrowed from t
 * @return true if the URL is one of the current terms' URLs
 */
bool terms_url_lookup(const struct terms *t,
                      const char *url,
                      const char **policy,
                      const char **version);
/** @return the index of the current policy with that id and version, or -1
 * (an old version, or a policy that no longer exists). */
int terms_policy_index(const struct terms *t,
                       const char *policy,
                       const char *version);

#endif
