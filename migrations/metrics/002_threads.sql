-- Threads of a local replica's processes, per sample; their peak per minute and per attempt.
ALTER TABLE metrics_samples ADD COLUMN threads INTEGER;
ALTER TABLE metrics_minutes ADD COLUMN threads_max INTEGER;
ALTER TABLE metrics_attempts ADD COLUMN threads_peak INTEGER;
