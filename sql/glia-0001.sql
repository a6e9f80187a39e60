-- SPDX-License-Identifier: AGPL-3.0-or-later
-- glia-0001: the glia schema and the instance record.
BEGIN;
SELECT glia_versioning.register_patch('glia-0001', ARRAY[]::text[]);

CREATE SCHEMA glia;
COMMENT ON SCHEMA glia IS 'Everything glia stores';

CREATE TABLE glia.instance (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    server_name text NOT NULL,
    created_ts bigint NOT NULL
);
COMMENT ON TABLE glia.instance IS
    'The identity server this database belongs to (one row). glia refuses to '
    'serve a database under another server_name: signatures and replication '
    'origin ids in it name this one.';
COMMENT ON COLUMN glia.instance.singleton IS 'Always true: at most one row';
COMMENT ON COLUMN glia.instance.server_name IS '[general] server_name';
COMMENT ON COLUMN glia.instance.created_ts IS 'First start, ms since epoch';

COMMIT;
