-- The Workflow of each run sent to a Kubernetes cluster: where it is, so that its status, logs, stop and retry reach
-- it, and so that the namespaces with Workflows are watched again after a restart.
CREATE TABLE cluster_gateway_workflows (
    run TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    cluster TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cluster_gateway_workflows_place ON cluster_gateway_workflows (cluster, namespace);
