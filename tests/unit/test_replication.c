/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Checking inbound pushes without a server, and the pusher's backoff. */
#include "crypto/crypto.h"
#include "replication/replication.h"
#include "tap.h"
#include "util/config.h"
#include "util/time.h"

#include <sodium.h>
#include <string.h>

static struct signing_key *peer_key;
static struct signing_key *other_key;

static json_t *
entry(const char *address, const char *mxid, const struct signing_key *k)
{
    json_t *e = mxid != NULL
                    ? json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "medium",
                                "email", "address", address, "mxid", mxid, "ts",
                                5, "not_before", 5, "not_after", 10)
                    : json_pack("{s:s, s:s, s:n, s:i, s:n, s:n}", "medium",
                                "email", "address", address, "mxid", "ts", 6,
                                "not_before", "not_after");

    signjson_sign(e, "peer.test", "ed25519:0", k->sk);
    return e;
}

int
main(void)
{
    struct config_peer peer;
    struct repl_batch b;
    json_t *body;
    json_t *sg;

    plan_no_plan();
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    peer_key = signing_key_generate("0");
    other_key = signing_key_generate("0");
    memset(&peer, 0, sizeof(peer));
    peer.name = (char *)(uintptr_t) "peer.test";
    memcpy(peer.pubkey, peer_key->pk, 32);

    sg = json_object();
    json_object_set_new(sg, "10",
                        entry("B@Example.org", "@b:hs.test", peer_key));
    json_object_set_new(sg, "9", entry("a@example.org", NULL, peer_key));
    body = json_pack("{s:o}", "sgAssocs", sg);
    is_int(repl_batch_parse(body, &peer, &b), 0, "a push parses");
    is_int((long)b.n, 2, "two entries");
    is_int((long)json_array_size(b.failed_ids), 0, "none failed");
    ok(b.n == 2 && b.e[0].origin_id == 9 && b.e[1].origin_id == 10,
       "in id order");
    ok(b.n == 2 && b.e[0].mxid == NULL, "the tombstone");
    ok(b.n == 2 && strcmp(b.e[1].address, "b@example.org") == 0,
       "emails case-folded on receipt");
    repl_batch_free(&b);
    json_decref(body);

    sg = json_object();
    json_object_set_new(sg, "1",
                        entry("a@example.org", "@a:hs.test", peer_key));
    json_object_set_new(sg, "2",
                        entry("b@example.org", "@b:hs.test", other_key));
    json_object_set_new(sg, "x3",
                        entry("c@example.org", "@c:hs.test", peer_key));
    json_object_set_new(sg, "4", json_pack("{s:s}", "medium", "email"));
    body = json_pack("{s:o}", "sgAssocs", sg);
    is_int(repl_batch_parse(body, &peer, &b), 0, "a bad push still parses");
    is_int((long)json_array_size(b.failed_ids), 3,
           "a wrong key, a non-integer id and missing fields fail");
    ok(b.error != NULL, "with a reason");
    repl_batch_free(&b);
    json_decref(body);

    body = json_pack("{s:[]}", "sgAssocs");
    is_int(repl_batch_parse(body, &peer, &b), -1, "sgAssocs not an object");
    json_decref(body);

    is_int(time_backoff_ms(1, REPL_BACKOFF_MAX_MS), 1000,
           "backoff after one failure");
    is_int(time_backoff_ms(4, REPL_BACKOFF_MAX_MS), 8000, "after four");
    is_int(time_backoff_ms(100, REPL_BACKOFF_MAX_MS), REPL_BACKOFF_MAX_MS,
           "capped");
    signing_key_free(peer_key);
    signing_key_free(other_key);
    return done_testing();
}
