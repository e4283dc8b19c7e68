-- Personal API tokens for automation: only the SHA-256 of the secret is kept. A token acts for its user in its
-- projects (NULL: all of the user's) with at most its role ceiling, until it expires or is revoked.
CREATE TABLE identity_api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES identity_users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    projects TEXT,
    ceiling TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX identity_api_tokens_user ON identity_api_tokens (user_id);
