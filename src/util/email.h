/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Email addresses as 3PIDs: a strict syntax check (so nothing that could
 * inject into a mail header passes) and the canonical form the spec asks
 * for, Unicode case-folding of the whole address, as sydent does since its
 * casefold migration: Alice@Example.org and alice@example.org are one 3PID.
 */
#ifndef GLIA_UTIL_EMAIL_H
#define GLIA_UTIL_EMAIL_H

/**
 * Check and canonicalise an email address.
 * @param[out] out the case-folded address (caller frees)
 * @return 0, or -1 if it is not an address glia accepts
 */
int email_canonicalise(const char *in, char **out);

/**
 * Case-fold any UTF-8 text, without the syntax check: for addresses other
 * servers already accepted (replication), which must be stored as sydent
 * stores them even when glia would have refused them.
 * @param[out] out the folded text (caller frees)
 * @return 0, or -1 if in is not valid UTF-8 or empty
 */
int email_casefold(const char *in, char **out);

#endif
