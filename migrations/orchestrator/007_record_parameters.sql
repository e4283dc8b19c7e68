-- Parameter values a backfill gave its ticks (JSON object of name → text); NULL: the pipeline's defaults.
ALTER TABLE orchestrator_schedule_records ADD COLUMN parameters TEXT;
