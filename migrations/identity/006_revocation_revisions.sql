-- Revocations in order, so services follow them incrementally (`GET /auth/revocations?after=REVISION`) instead of
-- downloading the whole list every second.
ALTER TABLE identity_revoked_tokens ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
CREATE INDEX identity_revoked_tokens_revision ON identity_revoked_tokens (revision);
CREATE TABLE identity_revocation_revision (
    id INTEGER PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO identity_revocation_revision (id, revision) VALUES (1, 0);
