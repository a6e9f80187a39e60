/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Email and page templates, read unchanged from a sydent installation or
 * written for glia. [general] templates is a directory with one
 * sub-directory per brand; every template of every brand is read and parsed
 * once at start-up into a tree, so rendering parses nothing and cannot fail
 * except for a missing template or an oversized result. The loaded set is
 * immutable, so any thread may render from it.
 *
 * Two syntaxes, chosen by the file name:
 *   NAME.j2  the Jinja subset sydent's stock templates use: {{ var }} with
 *            the filters safe, urlencode, e/escape; {% if %} / {% elif %} /
 *            {% else %} / {% endif %} on a variable's truth or on == / !=
 *            against a string; {# comments #}; {%- -%} whitespace control.
 *            Every {{ }} is HTML-escaped unless marked safe (sydent runs
 *            Jinja with autoescape on for every template).
 *   NAME     legacy Python %-formatting: %(var)s, %(var_forhtml)s,
 *            %(var_forurl)s and %%. In .html/.htm legacy templates %(var)s
 *            is HTML-escaped too (sydent does not escape there; glia escapes
 *            everything it shows in a page).
 * templates/README.md describes the variables and lookup rules in full.
 */
#ifndef GLIA_MAIL_TEMPLATE_H
#define GLIA_MAIL_TEMPLATE_H

#include <stdbool.h>

/** Largest template file accepted, in bytes. */
#define TMPL_FILE_MAX   (256 * 1024)
/** Largest rendered result, in bytes. */
#define TMPL_OUTPUT_MAX (2 * 1024 * 1024)

/** An ordered set of template variables: UTF-8 key -> UTF-8 value. */
struct tmpl_vars;

/** @return an empty set (caller frees with tmpl_vars_free()). */
struct tmpl_vars *tmpl_vars_new(void);
/**
 * Set key to value, replacing an earlier value; both are copied. A NULL
 * value removes the key, so the variable is undefined (renders empty, is
 * false in {% if %}, and differs from every string under ==).
 */
void tmpl_vars_set(struct tmpl_vars *v, const char *key, const char *value);
/** @return the value (borrowed, valid until the next set or free), or
 * NULL if key is not set. */
const char *tmpl_vars_get(const struct tmpl_vars *v, const char *key);
/** NULL-safe. */
void tmpl_vars_free(struct tmpl_vars *v);

/** Every brand's templates. */
struct templates;

/**
 * Load every brand: each sub-directory of dir (except dot-directories) is
 * a brand; in it, files ending in .j2 are Jinja templates, and files ending
 * in .eml, .html, .htm or .txt are legacy templates unless a .j2 of the same
 * name exists (then they are never used, and are not read). Other files are
 * ignored. Fails if dir or the default brand is missing, or a template is
 * larger than TMPL_FILE_MAX, is not UTF-8, contains NUL or does not parse.
 * @param[out] why on failure, "path:line: reason" (caller frees)
 * @return the templates (caller frees with templates_free()), or NULL
 */
struct templates *
templates_load(const char *dir, const char *default_brand, char **why);
/** NULL-safe. */
void templates_free(struct templates *t);
/** @return true if brand names a loaded brand. */
bool templates_has_brand(const struct templates *t, const char *brand);
/**
 * Render template name (e.g. "verification_template.eml") of brand. A NULL
 * or unknown brand means the default brand. name + ".j2" is preferred over
 * name; a brand that has neither borrows the default brand's. In email
 * templates (names ending in .eml) CR and LF in values become spaces, so no
 * value can add a header line or a MIME boundary.
 * @param[out] why on failure (no brand has the template, or the result is
 *             larger than TMPL_OUTPUT_MAX): the reason (caller frees)
 * @return the text, LF line endings (caller frees), or NULL
 */
char *templates_render(const struct templates *t,
                       const char *brand,
                       const char *name,
                       const struct tmpl_vars *vars,
                       char **why);
/**
 * Report what an operator should look at (for glia-admin check-config):
 * email template lines over 998 octets, variables glia never sets, {{ }}
 * in a mail header or text/plain part without | safe, templates missing
 * from a brand, files glia never uses. Calls warn once per problem.
 * @param warn called with cls and a message (borrowed for the call)
 */
void templates_check(const struct templates *t,
                     void (*warn)(void *cls, const char *msg),
                     void *cls);

#endif
