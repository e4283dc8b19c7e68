-- Pipelines of a project. Every save that changes the document makes a new version; tasks keep their ids across
-- versions (by name); the editor's node positions are kept apart from the DAG.
CREATE TABLE pipelines_pipelines (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE pipelines_versions (
    pipeline_id TEXT NOT NULL REFERENCES pipelines_pipelines(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    task_ids TEXT NOT NULL,
    templates TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, version)
);

CREATE TABLE pipelines_layouts (
    pipeline_id TEXT PRIMARY KEY REFERENCES pipelines_pipelines(id) ON DELETE CASCADE,
    layout TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
