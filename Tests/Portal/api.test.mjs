import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient, APIFailure, locate, projectPath } from "../../Web/js/api.mjs";

function memoryStorage() {
  const items = new Map();
  return { getItem: (key) => items.get(key) ?? null, setItem: (key, value) => items.set(key, value), removeItem: (key) => items.delete(key) };
}

function fakeFetch(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ...init });
    const [status, body] = answers.shift();
    return { ok: status < 300, status, text: async () => (typeof body === "string" ? body : JSON.stringify(body)) };
  };
  return { fetch, calls };
}

test("login keeps the token and sends it as a bearer token", async () => {
  const { fetch, calls } = fakeFetch([[200, { token: "t1", user: { username: "ada" } }], [200, { username: "ada" }]]);
  const storage = memoryStorage();
  const api = createClient({ fetch, storage });
  assert.equal((await api.login("ada", "pw")).username, "ada");
  assert.equal(storage.getItem("trellis.token"), "t1");
  await api.get("/api/v1/me");
  assert.equal(calls[1].headers.Authorization, "Bearer t1");
  assert.deepEqual(JSON.parse(calls[0].body), { username: "ada", password: "pw" });
});

test("a refused document carries the server's per-field problems", async () => {
  const fields = [{ field: "spec.tasks[train].args.epochs", message: "must be between 1 and 100, got 500" }];
  const { fetch } = fakeFetch([[400, { error: { code: "invalid_argument", message: "spec.tasks[train].args.epochs: …", fields } }]]);
  const api = createClient({ fetch, storage: memoryStorage() });
  await assert.rejects(api.post("/api/v1/projects/p/pipelines", {}), (error) => {
    assert.ok(error instanceof APIFailure);
    assert.equal(error.status, 400);
    assert.equal(error.code, "invalid_argument");
    assert.deepEqual(error.fields, fields);
    return true;
  });
});

test("a 401 forgets the token and tells the app", async () => {
  const { fetch } = fakeFetch([[401, { error: { code: "unauthenticated", message: "expired" } }]]);
  const storage = memoryStorage();
  storage.setItem("trellis.token", "old");
  let told = 0;
  const api = createClient({ fetch, storage, onUnauthenticated: () => told++ });
  await assert.rejects(api.get("/api/v1/me"), { status: 401, message: "expired" });
  assert.equal(storage.getItem("trellis.token"), null);
  assert.equal(told, 1);
});

test("all follows next cursors until the last page", async () => {
  const { fetch, calls } = fakeFetch([
    [200, { pipelines: [{ name: "a" }, { name: "b" }], next: "c1" }],
    [200, { pipelines: [{ name: "c" }] }],
  ]);
  const api = createClient({ fetch, storage: memoryStorage() });
  const names = (await api.all("/api/v1/projects/p/pipelines", "pipelines")).map((item) => item.name);
  assert.deepEqual(names, ["a", "b", "c"]);
  assert.equal(calls[0].url, "/api/v1/projects/p/pipelines?limit=1000");
  assert.equal(calls[1].url, "/api/v1/projects/p/pipelines?limit=1000&cursor=c1");
});

test("an unreachable server is a failure with status 0", async () => {
  const api = createClient({ fetch: async () => { throw new Error("ECONNREFUSED"); }, storage: memoryStorage() });
  await assert.rejects(api.get("/api/v1/me"), { status: 0, code: "unreachable" });
});

test("server fields are located in the editor", () => {
  assert.deepEqual(locate("spec.tasks[train].args.epochs"), { task: "train", arg: "epochs" });
  assert.deepEqual(locate("spec.tasks[train].args.opts.lr"), { task: "train", arg: "opts" });
  assert.deepEqual(locate("spec.tasks[train].timeout"), { task: "train", setting: "timeout" });
  assert.deepEqual(locate("spec.schedule.cron"), { pipeline: "spec.schedule.cron" });
  assert.equal(projectPath("ml team", "pipelines", "a/b"), "/api/v1/projects/ml%20team/pipelines/a%2Fb");
});

test("live log events are split out of the stream, a partial event kept for the next chunk", async () => {
  const { parseEvents } = await import("../../Web/js/pages/run.mjs");
  const first = parseEvents("data: line one\n\ndata: [replica-1] two\n\nda");
  assert.deepEqual(first.events, [{ type: "message", data: "line one" }, { type: "message", data: "[replica-1] two" }]);
  assert.equal(first.rest, "da");
  const second = parseEvents(first.rest + "ta: three\n\nevent: end\ndata: succeeded\n\n");
  assert.deepEqual(second.events, [{ type: "message", data: "three" }, { type: "end", data: "succeeded" }]);
  assert.equal(second.rest, "");
});
