-- Pipelines' schedules as the scheduler follows them from the pipeline store's feed, and the record of every tick.
CREATE TABLE orchestrator_schedules (
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    -- The ScheduleDefinition as JSON: cron, time zone, start instant, policies.
    definition TEXT NOT NULL,
    -- Scheduled runs run on behalf of whoever saved the schedule.
    owner TEXT NOT NULL,
    paused BOOLEAN NOT NULL,
    -- The pipeline store's feed revision this row reflects (older changes are not applied again).
    revision BIGINT NOT NULL,
    -- The newest cron tick considered (Unix ms): later ticks are new.
    tick_cursor BIGINT,
    -- When the scheduler looks at it next: its next tick, or sooner when a run of it ended or ticks wait.
    due_at BIGINT,
    PRIMARY KEY (project, pipeline)
);
CREATE INDEX orchestrator_schedules_due ON orchestrator_schedules (due_at);

-- One row per tick, unique per (pipeline, execution date): the key that makes every tick launch at most once.
CREATE TABLE orchestrator_schedule_records (
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    execution_date BIGINT NOT NULL,
    -- schedule (cron ticks, catch-up included) or backfill (an explicit backfill).
    run_trigger TEXT NOT NULL,
    -- pending, launching, launched, skipped, expired, failed.
    state TEXT NOT NULL,
    reason TEXT,
    -- Chosen when the tick starts launching, before the run exists: creating the run under this id is idempotent.
    run_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project, pipeline, execution_date)
);
CREATE INDEX orchestrator_schedule_records_state ON orchestrator_schedule_records (state, updated_at);
-- The records a schedule's decision reads: its pending and launching ticks.
CREATE INDEX orchestrator_schedule_records_open ON orchestrator_schedule_records (project, pipeline, state);
