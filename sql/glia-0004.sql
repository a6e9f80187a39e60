-- SPDX-License-Identifier: AGPL-3.0-or-later
-- glia-0004: signed associations (local and replicated, in one table, so
-- lookups have one path) and the lookup pepper.
BEGIN;
SELECT glia_versioning.register_patch('glia-0004', ARRAY['glia-0001']);

CREATE TABLE glia.lookup_pepper (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pepper text NOT NULL,
    created_ts bigint NOT NULL
);
COMMENT ON TABLE glia.lookup_pepper IS
    'The pepper of hashed lookups (one row). Created on first start; '
    'glia-admin rotate-pepper replaces it and rehashes in one transaction.';
COMMENT ON COLUMN glia.lookup_pepper.singleton IS 'Always true: one row';
COMMENT ON COLUMN glia.lookup_pepper.pepper IS 'Alphanumeric pepper';
COMMENT ON COLUMN glia.lookup_pepper.created_ts IS 'When it was made, ms';

-- The spec's sha256 lookup hash: URL-safe unpadded base64 of
-- SHA-256("<address> <medium> <pepper>"). The same as
-- lookup_hash_sha256() in src/crypto/hash.c (the tests check both agree).
CREATE FUNCTION glia.lookup_hash(address text, medium text, pepper text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT translate(rtrim(encode(sha256(convert_to(
        address || ' ' || medium || ' ' || pepper, 'UTF8')), 'base64'),
        '='), '+/', '-_')
$$;
COMMENT ON FUNCTION glia.lookup_hash(text, text, text) IS
    'Lookup hash of an address under a pepper (spec: sha256 algorithm)';

CREATE TABLE glia.associations (
    id bigserial PRIMARY KEY,
    medium text NOT NULL,
    address text NOT NULL,
    mxid text NOT NULL,
    ts bigint NOT NULL,
    not_before bigint NOT NULL,
    not_after bigint NOT NULL,
    origin_server text NOT NULL,
    origin_id bigint NOT NULL,
    signed_json text NOT NULL,
    lookup_hash text NOT NULL,
    UNIQUE (origin_server, origin_id)
);
CREATE INDEX associations_lookup_hash ON glia.associations (lookup_hash);
CREATE INDEX associations_medium_address
    ON glia.associations (medium, address);
COMMENT ON TABLE glia.associations IS
    'Signed 3PID to Matrix ID bindings, made here or replicated from peers; '
    'lookups read only this table.';
COMMENT ON COLUMN glia.associations.id IS 'Local row id';
COMMENT ON COLUMN glia.associations.medium IS 'email or msisdn';
COMMENT ON COLUMN glia.associations.address IS 'Canonical address';
COMMENT ON COLUMN glia.associations.mxid IS 'The Matrix user it is bound to';
COMMENT ON COLUMN glia.associations.ts IS 'When it was bound, ms';
COMMENT ON COLUMN glia.associations.not_before IS 'Valid from, ms';
COMMENT ON COLUMN glia.associations.not_after IS 'Valid until, ms';
COMMENT ON COLUMN glia.associations.origin_server IS
    'The identity server that made and signed it';
COMMENT ON COLUMN glia.associations.origin_id IS
    'Its id there: (origin_server, origin_id) makes replication idempotent';
COMMENT ON COLUMN glia.associations.signed_json IS
    'The signed association exactly as its origin signed it';
COMMENT ON COLUMN glia.associations.lookup_hash IS
    'glia.lookup_hash(address, medium, current pepper)';

COMMIT;
