-- Counts the writes of a run's rows: an orchestrator that kept the run in memory since it wrote version N uses that copy
-- while the row still says N, and reads the run again otherwise (another orchestrator wrote it).
ALTER TABLE orchestrator_runs ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
