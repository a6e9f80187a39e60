/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Lookups into the error table generated from errors.def. */
#include "httpd/errors.h"

struct mxerr_row {
    const char *code;
    unsigned int status;
    const char *message;
};

static const struct mxerr_row rows[] = {
#define MXERR(name, code, status, msg) {code, status, msg},
#include "httpd/errors.def"
#undef MXERR
};

/* Out-of-range values are a bug; answer as M_UNKNOWN rather than crash. */
static const struct mxerr_row *
row(enum mxerr err)
{
    if ((unsigned int)err >= MXERR_COUNT)
        return &rows[MXERR_UNKNOWN];
    return &rows[err];
}

const char *
mxerr_code(enum mxerr err)
{
    return row(err)->code;
}

unsigned int
mxerr_status(enum mxerr err)
{
    return row(err)->status;
}

const char *
mxerr_message(enum mxerr err)
{
    return row(err)->message;
}
