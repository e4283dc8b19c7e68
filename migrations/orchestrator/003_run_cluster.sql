-- The Kubernetes cluster a run was sent to as an Argo Workflow; NULL for runs of local processes.
ALTER TABLE orchestrator_runs ADD COLUMN cluster TEXT;
