-- The clusters platform admins registered. `local` (this machine) is built in and not stored. Credentials (a bearer
-- token, or a client certificate and key) are sealed with the secrets key and never leave the cluster gateway.
CREATE TABLE cluster_gateway_clusters (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    server TEXT,
    namespace TEXT,
    ca TEXT,
    credential_sealed TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
