-- Tokens revoked before they expire (logout, refresh), by their id (`jti`); rows go once the token has expired.
CREATE TABLE identity_revoked_tokens (
    token_id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX identity_revoked_tokens_expiry ON identity_revoked_tokens (expires_at);
