import { test } from "node:test";
import assert from "node:assert/strict";
import { parametersFromText, parametersText, runValues } from "../../Web/js/parameters.mjs";

const declared = [{ name: "sample", default: "0.1", description: "fraction of the data" }, { name: "target" }];

test("declarations round-trip through their lines, descriptions kept", () => {
  assert.equal(parametersText(declared), "sample=0.1\ntarget");
  assert.deepEqual(parametersFromText("sample=0.1\ntarget\n\n", declared), declared);
  assert.deepEqual(parametersFromText("sample=0.2\nepochs=3", declared), [
    { name: "sample", default: "0.2", description: "fraction of the data" },
    { name: "epochs", default: "3" },
  ]);
  assert.equal(parametersFromText("  \n"), undefined);
  assert.deepEqual(parametersFromText("query=a=b"), [{ name: "query", default: "a=b" }]);
});

test("a run sends what differs from the defaults and every required value", () => {
  assert.deepEqual(runValues(declared, { sample: "0.1", target: "prod" }), { target: "prod" });
  assert.deepEqual(runValues(declared, { sample: "0.5", target: "prod" }), { sample: "0.5", target: "prod" });
  assert.deepEqual(runValues(declared, { sample: "0.1", target: "" }), {});
  assert.deepEqual(runValues([], {}), {});
});
