import { test } from "node:test";
import assert from "node:assert/strict";
import { accessText, operationsByTag } from "../../Web/js/reference.mjs";

const document = {
  tags: [{ name: "runs" }, { name: "identity" }],
  paths: {
    "/api/v1/auth/login": { post: { operationId: "postAuthLogin", tags: ["identity"], "x-trellis-access": "public", requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/LoginRequest" } } } } } },
    "/api/v1/projects/{project}/runs": { get: { operationId: "getProjectsRuns", tags: ["runs"], "x-trellis-access": "read", parameters: [{ $ref: "#/components/parameters/path_project" }, { $ref: "#/components/parameters/limit" }] } },
  },
  components: {
    parameters: {
      path_project: { name: "project", in: "path", required: true },
      limit: { name: "limit", in: "query", description: "Items per page." },
    },
  },
};

test("operations come by tag, in the document's order, with their parameters resolved", () => {
  const groups = operationsByTag(document);
  assert.deepEqual(groups.map((group) => group.tag), ["runs", "identity"]);
  assert.deepEqual(groups[0].operations[0].parameters, [
    { name: "project", in: "path", required: true, description: "" },
    { name: "limit", in: "query", required: false, description: "Items per page." },
  ]);
  assert.equal(groups[1].operations[0].body, "LoginRequest");
});

test("a search keeps the operations holding every word", () => {
  assert.deepEqual(operationsByTag(document, "post login").map((group) => group.tag), ["identity"]);
  assert.deepEqual(operationsByTag(document, "nothing-like-it"), []);
});

test("access in words", () => {
  assert.equal(accessText("public"), "anyone");
  assert.equal(accessText("runPipelines"), "members who may run pipelines");
});
