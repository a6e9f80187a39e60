-- SPDX-License-Identifier: AGPL-3.0-or-later
-- glia-0007: replication between identity servers. Per-peer push progress,
-- entries a peer refused (skipped, not retried for ever), and tombstones
-- received from peers (so a late or re-sent binding cannot undo an unbind).
BEGIN;
SELECT glia_versioning.register_patch('glia-0007', ARRAY['glia-0006']);

CREATE TABLE glia.replication_peers (
    name text PRIMARY KEY,
    last_sent_id bigint NOT NULL DEFAULT 0,
    last_success_ts bigint,
    last_attempt_ts bigint,
    failures integer NOT NULL DEFAULT 0,
    next_attempt_ts bigint NOT NULL DEFAULT 0,
    last_error text
);
COMMENT ON TABLE glia.replication_peers IS
    'Push progress per peer ([peer.NAME]); rows appear on first push';
COMMENT ON COLUMN glia.replication_peers.last_sent_id IS
    'Highest change id (association origin id or unbind id) the peer took';
COMMENT ON COLUMN glia.replication_peers.last_success_ts IS
    'When the peer last accepted a push, ms';
COMMENT ON COLUMN glia.replication_peers.last_attempt_ts IS
    'When a push was last tried, ms';
COMMENT ON COLUMN glia.replication_peers.failures IS
    'Consecutive failed pushes (the backoff grows with it)';
COMMENT ON COLUMN glia.replication_peers.next_attempt_ts IS
    'No push before this time, ms';
COMMENT ON COLUMN glia.replication_peers.last_error IS
    'Why the last push failed (NULL after a success)';

CREATE TABLE glia.replication_refused (
    peer text NOT NULL,
    change_id bigint NOT NULL,
    error text NOT NULL,
    ts bigint NOT NULL,
    PRIMARY KEY (peer, change_id)
);
COMMENT ON TABLE glia.replication_refused IS
    'Changes a peer refused by id (failed_ids): skipped for that peer so '
    'they cannot block it, and listed by glia-admin peer list';

CREATE TABLE glia.peer_tombstones (
    origin_server text NOT NULL,
    origin_id bigint NOT NULL,
    medium text NOT NULL,
    address text NOT NULL,
    ts bigint NOT NULL,
    signed_json text NOT NULL,
    PRIMARY KEY (origin_server, origin_id)
);
CREATE INDEX peer_tombstones_address ON glia.peer_tombstones (medium, address);
COMMENT ON TABLE glia.peer_tombstones IS
    'Unbinds received from peers: a binding of the address with an older ts '
    'is refused, so reordered or re-sent pushes cannot resurrect it';

COMMIT;
