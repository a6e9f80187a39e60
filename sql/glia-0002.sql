-- SPDX-License-Identifier: AGPL-3.0-or-later
-- glia-0002: accounts, their access tokens, and accepted terms.
BEGIN;
SELECT glia_versioning.register_patch('glia-0002', ARRAY['glia-0001']);

CREATE TABLE glia.accounts (
    user_id text PRIMARY KEY,
    created_ts bigint NOT NULL,
    consent text
);
COMMENT ON TABLE glia.accounts IS
    'Matrix users who registered with an OpenID token from their homeserver';
COMMENT ON COLUMN glia.accounts.user_id IS 'Full Matrix user id, @local:server';
COMMENT ON COLUMN glia.accounts.created_ts IS 'First registration, ms';
COMMENT ON COLUMN glia.accounts.consent IS
    'Fingerprint of the terms (every policy id and version) the user has '
    'fully accepted; NULL if none. Compared with the current terms on every '
    'gated request: new terms re-gate everyone.';

CREATE TABLE glia.account_tokens (
    token_hash text PRIMARY KEY,
    user_id text NOT NULL REFERENCES glia.accounts (user_id) ON DELETE CASCADE,
    created_ts bigint NOT NULL
);
CREATE INDEX account_tokens_user_id ON glia.account_tokens (user_id);
COMMENT ON TABLE glia.account_tokens IS
    'Identity server access tokens. Only a hash is stored: a database leak '
    'does not hand out working tokens.';
COMMENT ON COLUMN glia.account_tokens.token_hash IS
    'Lower-case hex SHA-256 of the token';
COMMENT ON COLUMN glia.account_tokens.user_id IS 'The account it acts for';
COMMENT ON COLUMN glia.account_tokens.created_ts IS 'When it was issued, ms';

CREATE TABLE glia.accepted_terms (
    user_id text NOT NULL REFERENCES glia.accounts (user_id) ON DELETE CASCADE,
    policy text NOT NULL,
    version text NOT NULL,
    url text NOT NULL,
    accepted_ts bigint NOT NULL,
    PRIMARY KEY (user_id, policy, version, url)
);
COMMENT ON TABLE glia.accepted_terms IS
    'Policy URLs each user accepted (POST /terms), with the policy id and '
    'version the URL belonged to when accepted. Accepting any language of a '
    'policy version accepts that version.';
COMMENT ON COLUMN glia.accepted_terms.user_id IS 'Who accepted';
COMMENT ON COLUMN glia.accepted_terms.policy IS 'Policy id in the terms file';
COMMENT ON COLUMN glia.accepted_terms.version IS 'Its version then';
COMMENT ON COLUMN glia.accepted_terms.url IS 'The URL the user accepted';
COMMENT ON COLUMN glia.accepted_terms.accepted_ts IS 'When, ms';

COMMIT;
