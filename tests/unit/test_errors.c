/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The error table: every row filled, statuses sane, (errcode, status) unique.
 */
#include "httpd/errors.h"
#include "tap.h"

#include <string.h>

int
main(void)
{
    plan_no_plan();
    for (int i = 1; i < MXERR_COUNT; i++) {
        const char *code = mxerr_code((enum mxerr)i);
        unsigned int st = mxerr_status((enum mxerr)i);

        ok(strncmp(code, "M_", 2) == 0 && strlen(code) > 2,
           "row %d errcode %s starts with M_", i, code);
        ok(st >= 400 && st <= 599, "row %d (%s) status %u is an error", i, code,
           st);
        ok(strlen(mxerr_message((enum mxerr)i)) > 0, "row %d has a message", i);
        for (int j = 1; j < i; j++)
            if (strcmp(code, mxerr_code((enum mxerr)j)) == 0 &&
                st == mxerr_status((enum mxerr)j))
                ok(0, "rows %d and %d are the same error", i, j);
    }
    /* Statuses the spec fixes. */
    is_int(mxerr_status(MXERR_UNRECOGNIZED), 404, "unknown path is 404");
    is_int(mxerr_status(MXERR_METHOD_NOT_ALLOWED), 405, "bad method is 405");
    is_str(mxerr_code(MXERR_METHOD_NOT_ALLOWED), "M_UNRECOGNIZED",
           "bad method is M_UNRECOGNIZED (MSC3743)");
    is_int(mxerr_status(MXERR_UNAUTHORIZED), 401, "M_UNAUTHORIZED is 401");
    is_int(mxerr_status(MXERR_TERMS_NOT_SIGNED), 403, "terms is 403");
    is_int(mxerr_status(MXERR_NO_VALID_SESSION), 404,
           "M_NO_VALID_SESSION is 404");
    is_int(mxerr_status(MXERR_INVALID_PEPPER), 400, "M_INVALID_PEPPER is 400");
    is_int(mxerr_status(MXERR_LIMIT_EXCEEDED), 429, "rate limit is 429");
    is_str(mxerr_code((enum mxerr)9999), "M_UNKNOWN",
           "out-of-range value is M_UNKNOWN, not a crash");
    return done_testing();
}
