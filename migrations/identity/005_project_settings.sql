-- A project's settings (ProjectSettings as JSON): cluster, default env and mounts, quotas.
ALTER TABLE identity_projects ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
