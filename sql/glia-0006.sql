-- SPDX-License-Identifier: AGPL-3.0-or-later
-- glia-0006: third-party invites (store-invite) and the durable outbox of
-- onbind notifications to homeservers.
BEGIN;
SELECT glia_versioning.register_patch('glia-0006', ARRAY['glia-0005']);

CREATE TABLE glia.onbind_outbox (
    id bigserial PRIMARY KEY,
    mxid text NOT NULL,
    homeserver text NOT NULL,
    assoc_json text NOT NULL,
    created_ts bigint NOT NULL,
    next_attempt_ts bigint NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX onbind_outbox_due ON glia.onbind_outbox (next_attempt_ts);
COMMENT ON TABLE glia.onbind_outbox IS
    'Notifications owed to homeservers: a local bind of an address with '
    'pending invites. Deleted once the homeserver answered 200.';
COMMENT ON COLUMN glia.onbind_outbox.mxid IS 'The user the address was bound to';
COMMENT ON COLUMN glia.onbind_outbox.homeserver IS
    'Server part of mxid: where the notification goes';
COMMENT ON COLUMN glia.onbind_outbox.assoc_json IS
    'The signed association of the bind';
COMMENT ON COLUMN glia.onbind_outbox.created_ts IS 'When it was bound, ms';
COMMENT ON COLUMN glia.onbind_outbox.next_attempt_ts IS
    'Not tried before this time, ms (a lease while a sender holds it)';
COMMENT ON COLUMN glia.onbind_outbox.attempts IS 'Attempts made so far';
COMMENT ON COLUMN glia.onbind_outbox.last_error IS 'Why the last attempt failed';

CREATE TABLE glia.invites (
    id bigserial PRIMARY KEY,
    medium text NOT NULL,
    address text NOT NULL,
    room_id text NOT NULL,
    sender text NOT NULL,
    token text NOT NULL UNIQUE,
    ephemeral_public_key text NOT NULL,
    created_ts bigint NOT NULL,
    expires_ts bigint NOT NULL,
    onbind_id bigint REFERENCES glia.onbind_outbox (id) ON DELETE SET NULL,
    delivered_ts bigint
);
CREATE INDEX invites_pending ON glia.invites (medium, address)
    WHERE onbind_id IS NULL AND delivered_ts IS NULL;
CREATE INDEX invites_onbind ON glia.invites (onbind_id)
    WHERE onbind_id IS NOT NULL;
CREATE INDEX invites_ephemeral_key ON glia.invites (ephemeral_public_key);
CREATE INDEX invites_expires ON glia.invites (expires_ts);
COMMENT ON TABLE glia.invites IS
    'Third-party invites stored by store-invite, until they expire';
COMMENT ON COLUMN glia.invites.medium IS 'email';
COMMENT ON COLUMN glia.invites.address IS 'Canonical (case-folded) address';
COMMENT ON COLUMN glia.invites.room_id IS 'The room the invite is for';
COMMENT ON COLUMN glia.invites.sender IS 'The inviting Matrix user';
COMMENT ON COLUMN glia.invites.token IS
    'The invite token (the m.room.third_party_invite state key)';
COMMENT ON COLUMN glia.invites.ephemeral_public_key IS
    'Its ephemeral ed25519 public key, unpadded URL-safe base64 (the '
    'private half is only in the invitation email)';
COMMENT ON COLUMN glia.invites.created_ts IS 'When it was stored, ms';
COMMENT ON COLUMN glia.invites.expires_ts IS
    'When it expires ([invites] lifetime): unclaimed, it is then deleted, '
    'and its ephemeral key stops being valid';
COMMENT ON COLUMN glia.invites.onbind_id IS
    'The outbox entry that carries it to the bound user''s homeserver';
COMMENT ON COLUMN glia.invites.delivered_ts IS
    'When the homeserver accepted the onbind notification, ms';

COMMIT;
