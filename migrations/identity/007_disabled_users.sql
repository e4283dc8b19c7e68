-- Users an admin disabled (they cannot log in; their tokens stop working), and sessions voided: a user's tokens
-- issued before `before` (milliseconds) are refused — on disabling, deleting or changing the admin flag. A row stays
-- until every token it voids has expired, so a user deleted and a new one of the same name never share tokens.
ALTER TABLE identity_users ADD COLUMN disabled_at BIGINT;
CREATE TABLE identity_voided_sessions (
    user_id TEXT PRIMARY KEY,
    before BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX identity_voided_sessions_revision ON identity_voided_sessions (revision);
