-- What projects may ask of each cluster (ClusterPolicy as JSON): the projects it is granted to, its Pod Security level
-- and allow-lists. A cluster without a row has the default: a Kubernetes cluster no project, restricted; local every
-- project.
CREATE TABLE cluster_gateway_policies (
    cluster TEXT PRIMARY KEY,
    policy TEXT NOT NULL
);
