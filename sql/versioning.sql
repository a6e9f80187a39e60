-- SPDX-License-Identifier: AGPL-3.0-or-later
-- Patch bookkeeping for glia's migrations. Each sql/glia-NNNN.sql starts
-- with glia_versioning.register_patch(), which refuses to apply a patch twice
-- or before the patches it requires. Safe to run any number of times; glia
-- runs it (and the patches) while holding an advisory lock.
CREATE SCHEMA IF NOT EXISTS glia_versioning;
COMMENT ON SCHEMA glia_versioning IS 'Which glia schema patches are applied';

CREATE TABLE IF NOT EXISTS glia_versioning.patches (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    requires text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE glia_versioning.patches IS 'One row per applied patch';
COMMENT ON COLUMN glia_versioning.patches.name IS 'Patch name, e.g. glia-0001';
COMMENT ON COLUMN glia_versioning.patches.applied_at IS 'When it was applied';
COMMENT ON COLUMN glia_versioning.patches.requires IS 'Patches it needed';

CREATE OR REPLACE FUNCTION glia_versioning.register_patch(
    p_name text, p_requires text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    IF EXISTS (SELECT 1 FROM glia_versioning.patches WHERE name = p_name) THEN
        RAISE EXCEPTION 'patch % is already applied', p_name;
    END IF;
    SELECT r INTO missing FROM unnest(p_requires) AS r
        WHERE r NOT IN (SELECT name FROM glia_versioning.patches) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'patch % requires %, which is not applied',
            p_name, missing;
    END IF;
    INSERT INTO glia_versioning.patches (name, requires)
        VALUES (p_name, p_requires);
END
$$;
