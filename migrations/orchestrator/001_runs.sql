-- Runs of pipelines. A run keeps the frozen plan it executes (commands, env, policies), so editing the pipeline
-- never changes a run. Tasks hold their current state; attempts are the history, never deleted by a resume.
CREATE TABLE orchestrator_runs (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    pipeline_version INTEGER NOT NULL,
    run_trigger TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    plan TEXT NOT NULL,
    debug BOOLEAN NOT NULL,
    execution_date BIGINT NOT NULL,
    started_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    -- Run timeout instant, from the start of the latest round (start or resume).
    deadline_at BIGINT,
    -- Set when the run is being stopped: the state it ends in (cancelled, or failed on a run timeout).
    stopping TEXT
);
CREATE INDEX orchestrator_runs_project ON orchestrator_runs (project, created_at);
CREATE INDEX orchestrator_runs_state ON orchestrator_runs (state);

CREATE TABLE orchestrator_tasks (
    run_id TEXT NOT NULL REFERENCES orchestrator_runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    -- Attempts so far, over every round; the first attempt of the current round (retries count from it).
    attempts INTEGER NOT NULL,
    round_start INTEGER NOT NULL,
    -- A pending task waiting for its retry backoff starts no earlier than this.
    not_before BIGINT,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE orchestrator_attempts (
    run_id TEXT NOT NULL REFERENCES orchestrator_runs(id) ON DELETE CASCADE,
    task TEXT NOT NULL,
    number INTEGER NOT NULL,
    execution_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    exit_code INTEGER,
    reason TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    -- The exact command, environment, image and replicas, as JSON (shown with the attempt, first by debug runs).
    invocation TEXT NOT NULL,
    -- Where the processes ran, when it was kept (debug runs).
    working_directory TEXT,
    PRIMARY KEY (run_id, task, number)
);
