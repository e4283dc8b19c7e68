#!/usr/bin/env bash
# Makes (once) the Python venv the tests use — selenium for the portal, jsonschema for Argo manifests, schemathesis and
# openapi-spec-validator for the API, pytest for the Python client, from PyPI — and prints its python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.build-web-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import selenium, jsonschema, schemathesis, pytest, openapi_spec_validator" 2>/dev/null; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q "selenium>=4.20" "jsonschema>=4.20" "schemathesis>=4.0,<5" "pytest>=8" "openapi-spec-validator>=0.7" >&2
fi
echo "$PWD/$VENV/bin/python"
