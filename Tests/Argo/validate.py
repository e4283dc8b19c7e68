"""Every Argo Workflow manifest the Swift tests compiled (in the folder given) against Argo's JSON schema
(../shared/data/argo-workflows/schema.json, draft 2020-12), and every training operator's job a Workflow's `resource`
step creates against its kind's schema (../shared/data/kubeflow-training/<Kind>.schema.json, and
../shared/data/kuberay/RayJob.schema.json). Fails when the folder holds no Workflow, or no job of a kind.

    python3 Tests/Argo/validate.py MANIFESTS_DIR [SCHEMA]
"""
import glob
import json
import os
import sys

from jsonschema import Draft202012Validator


def main(folder, schema_path):
    full = json.load(open(schema_path))
    root = {"$schema": full["$schema"], "definitions": full["definitions"], "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow"}
    validator = Draft202012Validator(root)
    manifests = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not manifests:
        sys.exit(f"validate: no manifests in {folder}: did the Swift tests run with TRELLIS_ARGO_MANIFESTS set?")
    # A wrong manifest must fail, or the check proves nothing.
    broken = json.load(open(manifests[0]))
    broken["spec"]["templates"][0]["dag"]["tasks"][0]["dependencies"] = "not-a-list"
    if not list(validator.iter_errors(broken)):
        sys.exit("validate: the schema accepted a broken manifest")
    failed = 0
    jobs = []
    for path in manifests:
        workflow = json.load(open(path))
        errors = list(validator.iter_errors(workflow))
        for error in errors:
            print(f"{os.path.basename(path)}: {'/'.join(map(str, error.absolute_path))}: {error.message}", file=sys.stderr)
        failed += bool(errors)
        for template in workflow.get("spec", {}).get("templates", []):
            if "manifest" in template.get("resource", {}):
                jobs.append((f"{os.path.basename(path)} {template['name']}", json.loads(template["resource"]["manifest"])))
    print(f"validate: {len(manifests) - failed} of {len(manifests)} Argo manifests valid against {schema_path}")
    sys.exit(1 if failed or not validate_jobs(jobs, os.path.dirname(schema_path)) else 0)


def validate_jobs(jobs, data):
    """Each job against its kind's schema: a wrong one must fail, and one of each framework must be there."""
    if not jobs:
        print("validate: no training job in the Workflows: did the Swift tests compile any?", file=sys.stderr)
        return False
    validators = {}
    kinds = [("kubeflow-training", kind) for kind in ("PyTorchJob", "TFJob", "MPIJob", "XGBoostJob")] + [("kuberay", "RayJob")]
    for folder, kind in kinds:
        path = os.path.join(data, "..", folder, f"{kind}.schema.json")
        validators[kind] = Draft202012Validator(json.load(open(path)))
    for _, job in jobs:
        broken = json.loads(json.dumps(job))
        broken["spec"] = "not-an-object"
        if job.get("kind") in validators and not list(validators[job["kind"]].iter_errors(broken)):
            print(f"validate: the {job['kind']} schema accepted a broken job", file=sys.stderr)
            return False
    broken = json.loads(json.dumps(next(job for _, job in jobs if job.get("kind") == "PyTorchJob")))
    broken["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = "two"
    if not list(validators["PyTorchJob"].iter_errors(broken)):
        print("validate: the schema accepted a broken job", file=sys.stderr)
        return False
    failed = 0
    for name, job in jobs:
        validator = validators.get(job.get("kind"))
        errors = list(validator.iter_errors(job)) if validator else [f"no schema for kind {job.get('kind')}"]
        for error in errors:
            where = "/".join(map(str, error.absolute_path)) if hasattr(error, "absolute_path") else ""
            print(f"{name}: {where}: {getattr(error, 'message', error)}", file=sys.stderr)
        failed += bool(errors)
    missing = set(validators) - {job["kind"] for _, job in jobs}
    if missing:
        print(f"validate: no {', '.join(sorted(missing))} among the jobs compiled", file=sys.stderr)
    print(f"validate: {len(jobs) - failed} of {len(jobs)} training jobs valid against their operator's schema")
    return not failed and not missing


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "..", "shared", "data", "argo-workflows", "schema.json")
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else os.path.normpath(default))
