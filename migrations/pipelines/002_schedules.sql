-- What the scheduler follows: each pipeline's current schedule (NULL once removed or the pipeline deleted), with the
-- revision of its last change. Every change takes the next revision from pipelines_schedule_revision under its row
-- lock, so revisions commit in order and a reader that has seen revision N has seen every change up to N.
CREATE TABLE pipelines_schedules (
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    -- spec.schedule as JSON, NULL when there is none.
    schedule TEXT,
    saved_by TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (project, pipeline)
);
CREATE INDEX pipelines_schedules_revision ON pipelines_schedules (revision);

CREATE TABLE pipelines_schedule_revision (
    id INTEGER PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO pipelines_schedule_revision (id, revision) VALUES (1, 0);
