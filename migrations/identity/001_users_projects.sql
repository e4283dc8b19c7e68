-- Identity: users, projects (team spaces), memberships and the token signing keys.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are Unix milliseconds.
CREATE TABLE identity_users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    source TEXT NOT NULL DEFAULT 'local',
    created_at BIGINT NOT NULL
);

CREATE TABLE identity_projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE identity_memberships (
    project_id TEXT NOT NULL REFERENCES identity_projects(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES identity_users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

CREATE INDEX identity_memberships_user ON identity_memberships (user_id);

CREATE TABLE identity_signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
