/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What store-invite shows and signs; see invites.h. */
#include "invites/invites.h"

#include "binding.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/mem.h"

#include <string.h>

/* Byte length of the first n code points of s (valid UTF-8: jansson has
 * checked every string it parsed). */
static size_t
prefix_bytes(const char *s, size_t n)
{
    size_t i = 0;

    while (s[i] != '\0' && n > 0) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        n--;
    }
    return i;
}

static size_t
code_points(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* Redact one half (len bytes of s) into out. */
static void
redact_half(struct buf *out, const char *s, size_t len, int keep)
{
    size_t n = code_points(s, len);
    size_t show;

    if (keep >= 0 && n > (size_t)keep)
        show = (size_t)keep;
    else if (n > 5)
        show = 3;
    else if (n > 1)
        show = 1;
    else
        show = 0;
    buf_append(out, s, prefix_bytes(s, show));
    buf_append(out, "...", 3);
}

char *
invite_redact_address(const char *address, int user_keep, int dom_keep)
{
    const char *at = strrchr(address, '@');
    struct buf out;
    char *r;

    buf_init(&out, strlen(address) + 16);
    if (at == NULL) {
        redact_half(&out, address, strlen(address), user_keep);
    } else {
        redact_half(&out, address, (size_t)(at - address), user_keep);
        buf_append(&out, "@", 1);
        redact_half(&out, at + 1, strlen(at + 1), dom_keep);
    }
    r = xstrndup(out.data != NULL ? out.data : "", out.len);
    buf_free(&out);
    return r;
}

char *
invite_truncate(const char *s, size_t max, size_t keep)
{
    size_t len = strlen(s);

    if (code_points(s, len) <= max)
        return xstrdup(s);
    return xasprintf("%.*s\u2026", (int)prefix_bytes(s, keep), s);
}

json_t *
invite_signed_block(const struct binding_signer *signer,
                    const char *mxid,
                    const char *token)
{
    json_t *o = json_pack("{s:s, s:s}", "mxid", mxid, "token", token);

    if (o == NULL || signjson_sign(o, signer->server_name, signer->key->key_id,
                                   signer->key->sk) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
