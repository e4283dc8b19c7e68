import { test } from "node:test";
import assert from "node:assert/strict";
import { replicaRoles, rolesText, templateBadge } from "../../Web/js/training.mjs";

test("a framework's roles for a task's replicas, as the platform gives them", () => {
  assert.equal(rolesText(replicaRoles("pytorch", 3)), "Master ×1, Worker ×2");
  assert.equal(rolesText(replicaRoles("pytorch", 1)), "Master ×1");
  assert.equal(rolesText(replicaRoles("tensorflow", 4, 1)), "Chief ×1, Worker ×2, PS ×1");
  // An MPI job's replicas are its ranks, started by a launcher of their own.
  assert.equal(rolesText(replicaRoles("mpi", 2)), "Launcher ×1, Worker ×2");
  assert.equal(rolesText(replicaRoles("ray", 2)), "Head ×1, Worker ×1");
  assert.deepEqual(replicaRoles(undefined, 3), []);
  assert.equal(rolesText(replicaRoles("xgboost", "")), "Master ×1");
});

test("the palette's word on a template: its framework and GPUs per replica", () => {
  assert.equal(templateBadge({ framework: "pytorch", resources: { gpu: 1, gpuType: "A100" } }), "pytorch · 1 GPU A100 per replica");
  assert.equal(templateBadge({ resources: { gpu: 2 } }), "2 GPUs per replica");
  assert.equal(templateBadge({ name: "shell" }), "");
});
