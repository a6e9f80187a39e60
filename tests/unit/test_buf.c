/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The capped buffer never grows past its cap. */
#include "tap.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

int
main(void)
{
    struct buf b;
    char big[100];
    char *s;
    size_t len;

    plan(11);
    buf_init(&b, 10);
    is_int(buf_puts(&b, "hello"), 0, "append within cap");
    is_int(buf_puts(&b, "world"), 0, "append up to exactly the cap");
    is_int(buf_puts(&b, "!"), -1, "append past the cap fails");
    is_int((long long)b.len, 10, "length unchanged by the failed append");
    is_str(b.data, "helloworld", "content is NUL-terminated");
    buf_reset(&b);
    is_int(buf_printf(&b, "%d-%s", 42, "x"), 0, "printf within cap");
    is_str(b.data, "42-x", "printf content");
    memset(big, 'a', sizeof(big));
    is_int(buf_append(&b, big, sizeof(big)), -1, "large append refused");
    s = buf_steal(&b, &len);
    is_str(s, "42-x", "steal hands over the data");
    is_int((long long)b.len, 0, "stolen buffer is empty");
    free(s);
    buf_init(&b, 1u << 20);
    s = buf_steal(&b, &len);
    is_str(s, "", "stealing an empty buffer gives an empty string");
    free(s);
    buf_free(&b);
    return done_testing();
}
