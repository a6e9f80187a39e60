-- SPDX-License-Identifier: AGPL-3.0-or-later
-- glia-0005: unbinds made here, kept as signed tombstones so replication
-- can carry them to peers (sydent's wire format: mxid, not_before and
-- not_after null).
BEGIN;
SELECT glia_versioning.register_patch('glia-0005', ARRAY['glia-0004']);

-- The id comes from the associations' sequence: binds (associations.id =
-- origin_id) and unbinds made here form one ordered stream of changes,
-- with ids never reused, which is what a replication peer keys them by.
CREATE TABLE glia.unbinds (
    id bigint PRIMARY KEY
        DEFAULT nextval('glia.associations_id_seq'),
    medium text NOT NULL,
    address text NOT NULL,
    mxid text NOT NULL,
    ts bigint NOT NULL,
    signed_json text NOT NULL
);
COMMENT ON TABLE glia.unbinds IS
    'Unbinds made on this server: signed tombstones for replication';
COMMENT ON COLUMN glia.unbinds.id IS
    'Change id, from the associations sequence (its origin id on peers)';
COMMENT ON COLUMN glia.unbinds.medium IS 'email or msisdn';
COMMENT ON COLUMN glia.unbinds.address IS 'Canonical address';
COMMENT ON COLUMN glia.unbinds.mxid IS 'The Matrix user it was bound to';
COMMENT ON COLUMN glia.unbinds.ts IS 'When it was unbound, ms';
COMMENT ON COLUMN glia.unbinds.signed_json IS
    'The signed tombstone: {medium, address, mxid: null, ts, not_before: '
    'null, not_after: null, signatures}';

COMMIT;
