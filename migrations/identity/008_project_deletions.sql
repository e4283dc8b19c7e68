-- A project being deleted keeps its row (its name held, hidden from everyone) until every service that keeps data
-- of it has purged that data: one row per such service, `done_at` set when it has. The last one removes all.
ALTER TABLE identity_projects ADD COLUMN deleting_since BIGINT;
CREATE TABLE identity_project_deletions (
    project_id TEXT NOT NULL,
    service TEXT NOT NULL,
    done_at BIGINT,
    PRIMARY KEY (project_id, service)
);
