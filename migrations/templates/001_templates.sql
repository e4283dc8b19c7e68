-- Template registry: templates (a name, registered in a project or built in) and their versions.
-- A version is a draft (its project sees it), published (everyone sees it; immutable) or unpublished
-- (hidden from palettes; pipelines that already use it keep resolving it).
CREATE TABLE templates_templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    project TEXT,
    builtin BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE templates_versions (
    template_id TEXT NOT NULL REFERENCES templates_templates(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    spec TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    deprecated TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT,
    PRIMARY KEY (template_id, version)
);

CREATE INDEX templates_versions_status ON templates_versions (status);
