// The API client of the portal: bearer token kept in storage, JSON in and out, and errors that carry the
// server's code, message and per-field problems (the server's words are English; see docs/portal.md).
import { t } from "./i18n.mjs";

/** A refused or failed request: `status`, `code`, `message`, and `fields` ([{field, message}]) for bad documents. */
export class APIFailure extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

const tokenKey = "trellis.token";

/**
 * A client over `fetch` (injected for tests) and `storage` (localStorage in the browser).
 * `onUnauthenticated` runs when the server says the token is missing, expired or revoked.
 */
export function createClient({ fetch, storage, base = "", onUnauthenticated = () => {} }) {
  const token = () => storage.getItem(tokenKey);

  async function request(method, path, body, { raw = false, type = "application/json" } = {}) {
    const headers = {};
    const current = token();
    if (current) headers.Authorization = `Bearer ${current}`;
    if (body !== undefined) headers["Content-Type"] = type;
    let response;
    try {
      const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
      response = await fetch(base + path, { method, headers, body: payload });
    } catch (error) {
      throw new APIFailure(0, "unreachable", t("api.unreachable", { message: error.message }));
    }
    if (raw && response.ok) return response;
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!response.ok) {
      const detail = json?.error ?? {};
      if (response.status === 401 && path !== "/api/v1/auth/login") {
        storage.removeItem(tokenKey);
        onUnauthenticated();
      }
      throw new APIFailure(response.status, detail.code ?? "error", detail.message ?? `${response.status} ${text}`, detail.fields ?? []);
    }
    return json ?? text;
  }

  return {
    get token() {
      return token();
    },
    async login(username, password) {
      const answer = await request("POST", "/api/v1/auth/login", { username, password });
      storage.setItem(tokenKey, answer.token);
      return answer.user;
    },
    async logout() {
      try {
        await request("POST", "/api/v1/auth/logout");
      } finally {
        storage.removeItem(tokenKey);
      }
    },
    get: (path) => request("GET", path),
    /** Every item of a list (`field` of each page), following `next` cursors page by page. */
    async all(path, field) {
      const items = [];
      let cursor = null;
      do {
        const separator = path.includes("?") ? "&" : "?";
        const page = await request("GET", `${path}${separator}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        items.push(...page[field]);
        cursor = page.next ?? null;
      } while (cursor);
      return items;
    },
    post: (path, body) => request("POST", path, body),
    put: (path, body) => request("PUT", path, body),
    patch: (path, body) => request("PATCH", path, body),
    del: (path) => request("DELETE", path),
    /** A body that is already text, such as a YAML file. */
    send: (method, path, text, type) => request(method, path, text, { type }),
    /** The response itself, for streams (live logs) and downloads. */
    stream: (path) => request("GET", path, undefined, { raw: true }),
  };
}

/** `/api/v1/projects/{project}/…` with each part escaped. */
export function projectPath(project, ...parts) {
  return ["/api/v1/projects", project, ...parts].map((part, index) => (index === 0 ? part : encodeURIComponent(part))).join("/");
}

/**
 * Where a server problem belongs in the editor: `spec.tasks[NAME].args.PARAM` → {task, arg}; other task fields
 * → {task, setting}; pipeline fields → {pipeline: "spec.env…"}.
 */
export function locate(field) {
  const task = /^spec\.tasks\[([^\]]+)\](?:\.(.*))?$/.exec(field);
  if (task) {
    const [, name, rest = ""] = task;
    const arg = /^args\.([^.[]+)/.exec(rest);
    return arg ? { task: name, arg: arg[1] } : { task: name, setting: rest };
  }
  return { pipeline: field };
}
