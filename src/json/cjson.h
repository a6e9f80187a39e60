/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Matrix canonical JSON (spec appendix "Canonical JSON") over jansson values.
 * Everything glia signs or verifies goes through this encoder, so its output
 * must be byte-identical to the Python reference (canonicaljson, used by
 * Synapse and Sydent): jansson's own JSON_COMPACT|JSON_SORT_KEYS output is
 * not, because it writes uppercase \u001F escapes, writes reals and accepts
 * integers beyond 2^53.
 */
#ifndef GLIA_JSON_CJSON_H
#define GLIA_JSON_CJSON_H

#include <stddef.h>

#include <jansson.h>

/** Largest integer canonical JSON allows: 2^53 - 1. */
#define CJSON_INT_MAX   9007199254740991LL
/** Smallest integer canonical JSON allows: -(2^53) + 1. */
#define CJSON_INT_MIN   (-CJSON_INT_MAX)
/**
 * Deepest nesting of arrays and objects accepted: a top-level scalar is at
 * depth 0, "[]" at depth 1. Matrix objects nest a handful of levels; the cap
 * bounds the encoder's recursion on hostile input (jansson's own parser
 * allows 2048 levels) and stops on accidental reference cycles.
 */
#define CJSON_MAX_DEPTH 128

/**
 * Encode a JSON value as Matrix canonical JSON.
 *
 * Object keys are sorted bytewise on their UTF-8 (which is code point
 * order), no insignificant whitespace is written, strings are raw UTF-8 with
 * only `"`, `\`, and U+0000..U+001F escaped (short escapes where JSON has
 * them, lowercase \u00xx otherwise), and numbers are integers. A real that
 * holds an integral value in range (1e10, -0.0) is written as that integer,
 * as the spec's example `{"a":-0,"b":1e10}` -> `{"a":0,"b":10000000000}`
 * requires. Strings and keys may contain NUL.
 *
 * @param v        the value (any type, not only objects); borrowed
 * @param[out] len_out if non-NULL, receives the length without the NUL
 * @return a NUL-terminated string the caller frees with free(), or NULL if
 *         @p v is NULL or cannot be canonical: an integer outside
 *         [CJSON_INT_MIN, CJSON_INT_MAX], a real that is not integral or is
 *         out of that range, a string or key that is not valid UTF-8, or
 *         nesting deeper than CJSON_MAX_DEPTH.
 */
char *cjson_encode(const json_t *v, size_t *len_out);

/**
 * Encode the part of an object that a Matrix signature covers: the object
 * without its top-level `signatures` and `unsigned` members (spec appendix
 * "Signing JSON", steps 1-2). Avoids copying the object to strip them.
 *
 * @param obj      a JSON object; borrowed
 * @param[out] len_out if non-NULL, receives the length without the NUL
 * @return as cjson_encode(); also NULL if @p obj is not an object
 */
char *cjson_encode_signable(const json_t *obj, size_t *len_out);

#endif
