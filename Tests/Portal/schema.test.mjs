import { test } from "node:test";
import assert from "node:assert/strict";
import { fieldsFor, argumentFrom, isShown, hint, widgetFor } from "../../Web/js/schema.mjs";

const spec = {
  parameters: [
    {
      group: "train",
      params: [
        { name: "epochs", type: "int", label: "Epochs", required: true, default: 10, range: [1, 100] },
        { name: "mode", type: "enum", choices: ["fast", "slow"], default: "fast" },
        { name: "depth", type: "int", showIf: "mode == slow" },
        { name: "verbose", type: "bool" },
        { name: "metrics", type: "multiple", choices: ["auc", "f1"] },
        { name: "opts", type: "dict", params: [{ name: "lr", type: "float" }] },
        { name: "config", type: "json" },
        { name: "script", type: "text" },
        { name: "tags", type: "list" },
        { name: "workdir", type: "str", regex: "/.*" },
      ],
    },
  ],
};

test("each type gets its widget", () => {
  const widgets = Object.fromEntries(fieldsFor(spec).map((field) => [field.name, field.widget]));
  assert.deepEqual(widgets, {
    epochs: "number", mode: "select", depth: "number", verbose: "toggle", metrics: "multiselect", opts: "keyvalue",
    config: "code", script: "code", tags: "list", workdir: "text",
  });
  assert.equal(widgetFor({ type: "list", itemType: "dict" }), "code");
});

test("an unset field shows empty in its widget's own shape", () => {
  const values = Object.fromEntries(fieldsFor(spec).map((field) => [field.name, field.value]));
  assert.deepEqual(values, { epochs: "", mode: "", depth: "", verbose: "", metrics: [], opts: [], config: "", script: "", tags: [], workdir: "" });
  assert.deepEqual(fieldsFor(spec, { verbose: true, opts: { lr: 0.5 } }).filter((field) => field.set).map((field) => field.value), [true, [["lr", "0.5"]]]);
});

test("fields carry limits, choices, defaults and the group", () => {
  const epochs = fieldsFor(spec, { epochs: 5 }).find((field) => field.name === "epochs");
  assert.deepEqual([epochs.min, epochs.max, epochs.step, epochs.required, epochs.value, epochs.defaultValue, epochs.group], [1, 100, 1, true, "5", "10", "train"]);
  assert.deepEqual(fieldsFor(spec).find((field) => field.name === "mode").choices, ["fast", "slow"]);
});

test("showIf follows the other parameter, its default included", () => {
  assert.equal(fieldsFor(spec).find((field) => field.name === "depth").shown, false);
  assert.equal(fieldsFor(spec, { mode: "slow" }).find((field) => field.name === "depth").shown, true);
  assert.equal(isShown({ showIf: "verbose" }, { verbose: true }), true);
  assert.equal(isShown({ showIf: "mode != fast" }, { mode: "fast" }), false);
});

test("what the user typed becomes the argument", () => {
  const parameter = (name) => spec.parameters[0].params.find((item) => item.name === name);
  assert.equal(argumentFrom(parameter("epochs"), "12"), 12);
  assert.equal(argumentFrom(parameter("epochs"), "ten"), "ten", "left for the server to name");
  assert.equal(argumentFrom(parameter("epochs"), ""), undefined, "empty: the default applies");
  assert.equal(argumentFrom(parameter("verbose"), true), true);
  assert.deepEqual(argumentFrom(parameter("metrics"), ["auc"]), ["auc"]);
  assert.deepEqual(argumentFrom(parameter("opts"), [["lr", "0.5"]]), { lr: 0.5 });
  assert.deepEqual(argumentFrom(parameter("config"), '{"a": [1]}'), { a: [1] });
  assert.equal(argumentFrom(parameter("script"), "echo {{ds}}"), "echo {{ds}}");
});

test("hints catch what the server would refuse", () => {
  const fields = Object.fromEntries(fieldsFor(spec).map((field) => [field.name, field]));
  assert.equal(hint(fields.epochs, "500"), "must be between 1 and 100");
  assert.equal(hint(fields.epochs, "1.5"), "must be a whole number");
  assert.equal(hint(fields.workdir, "relative"), "must match /.*");
  assert.equal(hint(fields.workdir, "/data"), "");
  assert.equal(hint({ ...fields.epochs, defaultValue: "" }, ""), "is required");
});
