-- The values of a project's secret env entries, sealed with the platform's secrets key (AES-256-GCM, "v1:" + base64).
-- The project's settings name them; only the services read the values (to give them to a task at launch).
CREATE TABLE identity_project_secrets (
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sealed TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);
