import { test } from "node:test";
import assert from "node:assert/strict";
import { keyValues, keyValueText, splitEnvironment, environmentToSave } from "../../Web/js/ui.mjs";

test("key=value lines, as settings and env are edited", () => {
  assert.deepEqual(keyValues("org=ml\n\nno equals\nexample.com/pool = a=b"), { org: "ml", "example.com/pool": " a=b" });
  assert.equal(keyValueText({ org: "ml", train: "true" }), "org=ml\ntrain=true");
  assert.equal(keyValueText(undefined), "");
});

test("a project env splits into plain entries and secret names, and saves back with new secret values", () => {
  const { plain, secretNames } = splitEnvironment({ A: "1", TOKEN: { secret: true }, B: "2", KEY: { secret: true } });
  assert.deepEqual(plain, { A: "1", B: "2" });
  assert.deepEqual(secretNames, ["KEY", "TOKEN"]);
  assert.deepEqual(environmentToSave("A=1\nB=2", "TOKEN\nKEY=new-value=with-equals\n"), {
    A: "1", B: "2", TOKEN: { secret: true }, KEY: { secret: true, value: "new-value=with-equals" },
  });
});
