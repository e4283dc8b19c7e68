-- Task attempts the collector samples: what the orchestrator's feed said of each, where their samples come from, and
-- a summary kept up to date as samples arrive (it outlives the downsampling of the samples).
CREATE TABLE metrics_attempts (
    execution_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    run_id TEXT NOT NULL,
    task TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL,
    -- The Kubernetes cluster it ran on; NULL for local processes.
    cluster TEXT,
    started_at BIGINT,
    finished_at BIGINT,
    -- What the task asked for: `request~limit` as in the pipeline, and GPUs.
    cpu TEXT,
    memory TEXT,
    gpu INTEGER,
    -- How far the local execution's sample file has been read (bytes); done: every sample is in.
    sample_offset BIGINT NOT NULL,
    done BOOLEAN NOT NULL,
    samples INTEGER NOT NULL,
    -- CPU in cores: the sum over samples (for the mean), the peak; the CPU time the kernel counted at the end.
    cpu_sum DOUBLE PRECISION NOT NULL,
    cpu_peak DOUBLE PRECISION,
    cpu_seconds DOUBLE PRECISION,
    memory_peak BIGINT,
    gpu_peak DOUBLE PRECISION,
    gpu_memory_peak BIGINT
);
CREATE INDEX metrics_attempts_run ON metrics_attempts (project, run_id);
CREATE INDEX metrics_attempts_task ON metrics_attempts (project, pipeline, task, finished_at);
CREATE INDEX metrics_attempts_open ON metrics_attempts (done);
CREATE INDEX metrics_attempts_finished ON metrics_attempts (finished_at);

-- Samples as taken (every second), per replica (a local rank, or a pod's name).
CREATE TABLE metrics_samples (
    execution_id TEXT NOT NULL,
    replica TEXT NOT NULL,
    at BIGINT NOT NULL,
    cpu DOUBLE PRECISION NOT NULL,
    memory BIGINT NOT NULL,
    gpu DOUBLE PRECISION,
    gpu_memory BIGINT,
    PRIMARY KEY (execution_id, replica, at)
);
CREATE INDEX metrics_samples_at ON metrics_samples (at);

-- Samples older than metrics.raw.age, one row per replica and minute.
CREATE TABLE metrics_minutes (
    execution_id TEXT NOT NULL,
    replica TEXT NOT NULL,
    minute BIGINT NOT NULL,
    samples INTEGER NOT NULL,
    cpu_min DOUBLE PRECISION NOT NULL,
    cpu_avg DOUBLE PRECISION NOT NULL,
    cpu_max DOUBLE PRECISION NOT NULL,
    memory_min BIGINT NOT NULL,
    memory_avg BIGINT NOT NULL,
    memory_max BIGINT NOT NULL,
    gpu_avg DOUBLE PRECISION,
    gpu_max DOUBLE PRECISION,
    gpu_memory_max BIGINT,
    PRIMARY KEY (execution_id, replica, minute)
);

-- Where the collector is in the orchestrator's attempt feed: one row.
CREATE TABLE metrics_feed (
    id INTEGER PRIMARY KEY,
    changed_at BIGINT NOT NULL
);
