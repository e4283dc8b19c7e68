-- When the engine will start the next attempt of a failed one (milliseconds): the failure's end plus the retry's
-- backoff; NULL when the attempt is not retried.
ALTER TABLE orchestrator_attempts ADD COLUMN retry_at BIGINT;
