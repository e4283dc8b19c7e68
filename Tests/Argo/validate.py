"""Every Argo Workflow manifest the Swift tests compiled (in the folder given) against Argo's JSON schema
(../shared/data/argo-workflows/schema.json, draft 2020-12). Fails when the folder holds none.

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
    for path in manifests:
        errors = list(validator.iter_errors(json.load(open(path))))
        for error in errors:
            print(f"{os.path.basename(path)}: {'/'.join(map(str, error.absolute_path))}: {error.message}", file=sys.stderr)
        failed += bool(errors)
    print(f"validate: {len(manifests) - failed} of {len(manifests)} Argo manifests valid against {schema_path}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "..", "shared", "data", "argo-workflows", "schema.json")
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else os.path.normpath(default))
