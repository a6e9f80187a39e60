-- SPDX-License-Identifier: AGPL-3.0-or-later
-- glia-0003: validation sessions (proving ownership of an email address or a
-- phone number).
BEGIN;
SELECT glia_versioning.register_patch('glia-0003', ARRAY['glia-0001']);

CREATE TABLE glia.validation_sessions (
    sid text PRIMARY KEY,
    medium text NOT NULL CHECK (medium IN ('email', 'msisdn')),
    address text NOT NULL,
    client_secret_hash text NOT NULL,
    token text NOT NULL,
    send_attempt bigint NOT NULL,
    next_link text,
    created_ts bigint NOT NULL,
    modified_ts bigint NOT NULL,
    validated_ts bigint,
    failed_attempts integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX validation_sessions_owner
    ON glia.validation_sessions (medium, address, client_secret_hash);
CREATE INDEX validation_sessions_modified
    ON glia.validation_sessions (modified_ts);
COMMENT ON TABLE glia.validation_sessions IS
    'One session per (medium, address, client_secret): requestToken creates '
    'or reuses it, submitToken validates it, bind and getValidated3pid read '
    'it. Purged in the background some time after it expires.';
COMMENT ON COLUMN glia.validation_sessions.sid IS 'Random session id';
COMMENT ON COLUMN glia.validation_sessions.medium IS 'email or msisdn';
COMMENT ON COLUMN glia.validation_sessions.address IS
    'Canonical address: a case-folded email, or E.164 digits without +';
COMMENT ON COLUMN glia.validation_sessions.client_secret_hash IS
    'Hex SHA-256 of the client secret (the secret itself is not stored)';
COMMENT ON COLUMN glia.validation_sessions.token IS
    'The token sent to the address (kept to send it again on a resend)';
COMMENT ON COLUMN glia.validation_sessions.send_attempt IS
    'Highest send_attempt seen; only a higher one sends again';
COMMENT ON COLUMN glia.validation_sessions.next_link IS
    'Where the emailed link redirects after success (checked http(s) URL)';
COMMENT ON COLUMN glia.validation_sessions.created_ts IS 'Creation, ms';
COMMENT ON COLUMN glia.validation_sessions.modified_ts IS
    'Last change (creation, resend, validation), ms: expiry counts from here';
COMMENT ON COLUMN glia.validation_sessions.validated_ts IS
    'When the token was submitted, ms; NULL until then';
COMMENT ON COLUMN glia.validation_sessions.failed_attempts IS
    'Wrong tokens submitted; at [validation] max_attempts the session locks';

COMMIT;
