#!/usr/bin/env bash
# docs/openapi.yaml checked against the OpenAPI 3.1 schema (openapi-spec-validator), then schemathesis (both from
# PyPI) against the `trellis serve` at TRELLIS_URL: every operation of the document (the internal
# ones and the two that end the session aside), a fixed seed and a bounded number of examples, called as a project's
# owner (not an admin); fails on any 5xx and any answer the document does not describe.
#   TRELLIS_BIN_DIR=… scripts/with-serve.sh scripts/api-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=$(scripts/test-venv.sh)
"$PYTHON" -c '
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
validate(read_from_filename("docs/openapi.yaml")[0])
print("api-fuzz: docs/openapi.yaml is a valid OpenAPI 3.1 document")'
call() { # METHOD PATH TOKEN [BODY]
  curl -fsS -X "$1" "$TRELLIS_URL$2" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} ${4:+-d "$4"}
}
token() { call POST /api/v1/auth/login "" "{\"username\": \"$1\", \"password\": \"$2\"}" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["token"])'; }
ADMIN=$(token admin "$TRELLIS_ADMIN_PASSWORD")
call POST /api/v1/users "$ADMIN" '{"username": "owen", "password": "owen-password"}' >/dev/null
call POST /api/v1/projects/demo/members "$ADMIN" '{"username": "owen", "role": "owner"}' >/dev/null
OWNER=$(token owen owen-password)
"$(dirname "$PYTHON")/schemathesis" run "$TRELLIS_URL/api/v1/openapi.yaml" -H "Authorization: Bearer $OWNER" \
  --seed 1 --max-examples 10 --phases examples,coverage,fuzzing --workers 1 \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-tag internal --exclude-path /api/v1/auth/logout --exclude-path /api/v1/auth/refresh \
  --warnings off --no-color
