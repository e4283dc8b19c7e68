import { test } from "node:test";
import assert from "node:assert/strict";
import { keyValues, keyValueText } from "../../Web/js/ui.mjs";

test("key=value lines, as settings and env are edited", () => {
  assert.deepEqual(keyValues("org=ml\n\nno equals\nexample.com/pool = a=b"), { org: "ml", "example.com/pool": " a=b" });
  assert.equal(keyValueText({ org: "ml", train: "true" }), "org=ml\ntrain=true");
  assert.equal(keyValueText(undefined), "");
});
