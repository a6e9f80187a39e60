/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What store-invite shows and signs; see invites.h. */
#include "invites/invites.h"

#include "binding.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/email.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Call fn on each trimmed, non-empty item of a comma-separated list;
 * @return true as soon as fn does. */
static bool
any_item(const char *list,
         bool (*fn)(const char *item, size_t len, const void *cls),
         const void *cls)
{
    const char *p = list != NULL ? list : "";

    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *q = p;

        while (len > 0 && (*q == ' ' || *q == '\t')) {
            q++;
            len--;
        }
        while (len > 0 && (q[len - 1] == ' ' || q[len - 1] == '\t'))
            len--;
        if (len > 0 && fn(q, len, cls))
            return true;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return false;
}

static bool
same_host(const char *item, size_t len, const void *cls)
{
    const char *host = cls;

    return strlen(host) == len && strncasecmp(host, item, len) == 0;
}

static bool
same_room(const char *item, size_t len, const void *cls)
{
    const char *room = cls;

    return strlen(room) == len && strncmp(room, item, len) == 0;
}

/* Is the (case-folded) keyword item inside the folded value cls? */
static bool
in_value(const char *item, size_t len, const void *cls)
{
    char *word = xstrndup(item, len);
    char *folded = NULL;
    bool hit = email_casefold(word, &folded) == 0 &&
               strstr((const char *)cls, folded) != NULL;

    free(word);
    free(folded);
    return hit;
}

bool
invite_blocked(const char *homeservers,
               const char *rooms,
               const char *keywords,
               const json_t *body,
               const char *sender,
               const char *room_id)
{
    const char *colon = strchr(sender, ':');
    const char *key;
    json_t *v;

    if (colon != NULL && any_item(homeservers, same_host, colon + 1))
        return true;
    if (any_item(rooms, same_room, room_id))
        return true;
    if (keywords == NULL || keywords[0] == '\0')
        return false;
    json_object_foreach((json_t *)(uintptr_t)body, key, v)
    {
        const char *s = json_string_value(v);
        char *folded = NULL;
        bool hit;

        if (s == NULL)
            continue;
        /* sydent#540: the client URL's scheme is not a keyword match. */
        if (strcmp(key, "org.matrix.web_client_location") == 0) {
            if (strncmp(s, "https://", 8) == 0)
                s += 8;
            else if (strncmp(s, "http://", 7) == 0)
                s += 7;
        }
        if (s[0] == '\0' || email_casefold(s, &folded) != 0)
            continue;
        hit = any_item(keywords, in_value, folded);
        free(folded);
        if (hit)
            return true;
    }
    return false;
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
