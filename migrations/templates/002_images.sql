-- Named images of a project with their registry credentials. The password is sealed with the platform's
-- secrets key (AES-256-GCM, "v1:" + base64) and never returned by the API.
CREATE TABLE templates_images (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    reference TEXT NOT NULL,
    registry TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    password_sealed TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project, name)
);
