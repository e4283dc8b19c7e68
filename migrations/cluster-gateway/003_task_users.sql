-- The user each project's local tasks run as when the server runs as root: one per project, from task.uids, kept
-- for good so that files a task left stay its project's.
CREATE TABLE cluster_gateway_task_users (
    project TEXT PRIMARY KEY,
    uid BIGINT NOT NULL UNIQUE
);
