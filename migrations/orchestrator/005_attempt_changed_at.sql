-- When the orchestrator last wrote the attempt (milliseconds): the metrics collector follows attempts by it.
ALTER TABLE orchestrator_attempts ADD COLUMN changed_at BIGINT;
CREATE INDEX orchestrator_attempts_changed ON orchestrator_attempts (changed_at);
