-- Runs kept from the project's retention (settings.retention); changed with the run's version.
ALTER TABLE orchestrator_runs ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;
-- The retention job ranks a project's runs per pipeline, newest first.
CREATE INDEX orchestrator_runs_pipeline ON orchestrator_runs (project, pipeline, created_at);
-- What an ended attempt's logs and samples take on the cluster gateway (bytes); NULL: unknown (on Kubernetes).
ALTER TABLE orchestrator_attempts ADD COLUMN stored_bytes BIGINT;

-- Runs the retention job deleted: written in the transaction that deletes their rows, with the executions whose files
-- the cluster gateway still has to remove (discarded: done), so a crash between the two loses nothing. The metrics
-- collector follows them (by deleted_at, then run id) to delete the runs' samples; kept a while after.
CREATE TABLE orchestrator_run_deletions (
    run_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    -- JSON array of execution ids.
    executions TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    discarded BOOLEAN NOT NULL
);
CREATE INDEX orchestrator_run_deletions_feed ON orchestrator_run_deletions (deleted_at, run_id);
CREATE INDEX orchestrator_run_deletions_open ON orchestrator_run_deletions (discarded);
