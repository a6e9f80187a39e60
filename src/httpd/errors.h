/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The Matrix error table (errors.def) as an enum plus lookups. */
#ifndef GLIA_HTTPD_ERRORS_H
#define GLIA_HTTPD_ERRORS_H

enum mxerr {
#define MXERR(name, code, status, msg) MXERR_##name,
#include "httpd/errors.def"
#undef MXERR
    MXERR_COUNT
};

/** @return the "M_..." errcode of err (static string). */
const char *mxerr_code(enum mxerr err);
/** @return the HTTP status of err. */
unsigned int mxerr_status(enum mxerr err);
/** @return the default human message of err (static string). */
const char *mxerr_message(enum mxerr err);

#endif
