/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Phone numbers as 3PIDs: parse what a person typed, with the country they
 * chose as a hint, into the E.164 digits the spec calls an msisdn
 * ("447911123456", no '+'). Google's libphonenumber does the work with its
 * per-country metadata; phone.cc is the only C++ in glia and wraps just
 * the calls glia needs.
 */
#ifndef GLIA_UTIL_PHONE_H
#define GLIA_UTIL_PHONE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed, valid phone number. */
struct phone_number {
    char msisdn[16];   /**< E.164 digits without '+' (at most 15) */
    char intl[40];     /**< "+44 7911 123456", for people */
    int country_code;  /**< the calling code, e.g. 44 */
    bool premium_rate; /**< a premium-rate or shared-cost number */
};

/**
 * Parse and check a number.
 * @param country ISO 3166 region of the number ("GB", any case), used when
 *        number has no leading '+'; NULL or "" for none
 * @param number as typed ("07911 123456", "+44 7911 123456")
 * @param[out] out the number, on success
 * @return 0, or -1 if it does not parse or is not a valid number for its
 *         country
 */
int
phone_parse(const char *country, const char *number, struct phone_number *out);

#ifdef __cplusplus
}
#endif

#endif
