// The portal: a hash router over the pages, the header (project switcher, navigation, who is logged in), and the
// API client shared by every page.
import { createClient } from "./api.mjs";
import { loginPage } from "./pages/login.mjs";
import { pipelinesPage } from "./pages/pipelines.mjs";
import { editorPage } from "./pages/editor.mjs";
import { runsPage, recordsPage } from "./pages/runs.mjs";
import { runPage } from "./pages/run.mjs";
import { historyPage } from "./pages/history.mjs";
import { usersPage } from "./pages/users.mjs";
import { clustersPage } from "./pages/clusters.mjs";
import { marketplacePage, templatePage } from "./pages/marketplace.mjs";
import { projectPage, newProjectPage } from "./pages/project.mjs";
import { notificationsPage } from "./pages/notifications.mjs";
import { referencePage } from "./pages/reference.mjs";
import { unreadLabel } from "./alerts.mjs";
import { t, chooseLanguage, setLanguage, language, languages, translateStatic } from "./i18n.mjs";

const projectKey = "trellis.project";
const languageKey = "trellis.language";

/** The reader's language, on the page's static text and its `lang` (which also picks fonts and hyphenation). */
function useLanguage(code) {
  setLanguage(code);
  document.documentElement.lang = language();
  translateStatic(document);
  const select = document.getElementById("language");
  select.replaceChildren(...languages.map(([value, name]) => new Option(name, value, false, value === language())));
}
useLanguage(chooseLanguage(localStorage.getItem(languageKey), navigator.languages ?? [navigator.language]));
// A refused token ends the session here too: nothing shown or asked as that user any more.
const api = createClient({
  fetch: window.fetch.bind(window),
  storage: localStorage,
  onUnauthenticated: () => {
    user = null;
    go("#/login");
  },
});

const routes = [
  [/^#\/login$/, loginPage],
  [/^#\/p\/([^/]+)\/pipelines$/, pipelinesPage, ["project"]],
  [/^#\/p\/([^/]+)\/new$/, editorPage, ["project"]],
  [/^#\/p\/([^/]+)\/pipelines\/([^/]+)$/, editorPage, ["project", "pipeline"]],
  [/^#\/p\/([^/]+)\/pipelines\/([^/]+)\/records$/, recordsPage, ["project", "pipeline"]],
  [/^#\/p\/([^/]+)\/pipelines\/([^/]+)\/history$/, historyPage, ["project", "pipeline"]],
  [/^#\/p\/([^/]+)\/runs$/, runsPage, ["project"]],
  [/^#\/p\/([^/]+)\/runs\/([^/]+)$/, runPage, ["project", "run"]],
  [/^#\/p\/([^/]+)\/settings$/, projectPage, ["project"]],
  [/^#\/projects\/new$/, newProjectPage],
  [/^#\/marketplace$/, marketplacePage],
  [/^#\/marketplace\/([^/]+)$/, templatePage, ["template"]],
  [/^#\/notifications$/, notificationsPage],
  [/^#\/admin\/users$/, usersPage],
  [/^#\/admin\/clusters$/, clustersPage],
  [/^#\/api$/, referencePage],
];

let current = null;
let projects = [];
let user = null;

function go(hash, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", hash);
  else if (location.hash !== hash) {
    location.hash = hash;
    return;
  }
  route();
}

async function loadSession() {
  if (!api.token) return false;
  try {
    user = await api.get("/api/v1/me");
    projects = await api.all("/api/v1/projects", "projects");
    return true;
  } catch {
    return false;
  }
}

function header(project) {
  const top = document.getElementById("top");
  top.hidden = !user;
  if (!user) return;
  document.getElementById("whoami").textContent = user.displayName ?? user.username;
  const select = document.getElementById("project");
  select.replaceChildren(...projects.map((item) => new Option(item.name, item.name, false, item.name === project)));
  if (!projects.length) select.append(new Option(t("header.noProjects"), "", true, true));
  const chosen = project ?? select.value;
  document.getElementById("nav-pipelines").href = `#/p/${chosen}/pipelines`;
  document.getElementById("nav-runs").href = `#/p/${chosen}/runs`;
  document.getElementById("nav-project").href = `#/p/${chosen}/settings`;
  document.getElementById("nav-users").hidden = !user.isAdmin;
  document.getElementById("nav-clusters").hidden = !user.isAdmin;
  refreshUnread();
}

/** The header's count of unread notifications (left as it was when the orchestrator does not answer). */
async function refreshUnread() {
  if (!user) return;
  try {
    const { unread } = await api.get("/api/v1/notifications?unread=true&limit=1");
    const link = document.getElementById("nav-notifications");
    link.textContent = unreadLabel(unread);
    link.classList.toggle("has-unread", unread > 0);
  } catch {
    // A count is a help, not a need.
  }
}

async function route() {
  const hash = location.hash || "#/";
  if (current?.beforeLeave && !current.beforeLeave()) {
    history.replaceState(null, "", current.hash);
    return;
  }
  current?.dispose?.();
  current = null;
  if (hash !== "#/login" && !user && !(await loadSession())) return go("#/login", { replace: true });
  if (hash === "#/" || hash === "#") {
    const project = localStorage.getItem(projectKey);
    const chosen = projects.find((item) => item.name === project)?.name ?? projects[0]?.name;
    return go(chosen ? `#/p/${chosen}/pipelines` : "#/marketplace", { replace: true });
  }
  const [path, search = ""] = hash.split("?");
  for (const [pattern, page, names = []] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params = Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1])]));
    if (params.project) localStorage.setItem(projectKey, params.project);
    header(params.project ?? localStorage.getItem(projectKey));
    const main = document.getElementById("page");
    // A page that finishes loading after the location moved on (a refused token sent it to the login) is dropped.
    const stillHere = () => (location.hash || "#/") === hash;
    try {
      const query = new URLSearchParams(search);
      const shown = await page({ api, params, query, user, projects, go, project: params.project, signedIn: onSignedIn, refreshHeader: refreshUnread });
      if (!stillHere()) return shown.dispose?.();
      current = { ...shown, hash };
      main.replaceChildren(shown.element);
      shown.focus?.focus();
    } catch (error) {
      if (stillHere()) main.replaceChildren(Object.assign(document.createElement("p"), { className: "notice error", textContent: error.message }));
    }
    return;
  }
  document.getElementById("page").textContent = t("page.nothingHere", { hash });
}

/** After logging in or creating a project: the session (and its projects) again, then `next`. */
async function onSignedIn(next = "#/") {
  await loadSession();
  go(next, { replace: true });
}

document.getElementById("project").addEventListener("change", (event) => {
  const project = event.target.value;
  const page = /^#\/p\/[^/]+\/(runs|pipelines|settings)/.exec(location.hash)?.[1] ?? "pipelines";
  go(`#/p/${encodeURIComponent(project)}/${page}`);
});
document.getElementById("logout").addEventListener("click", async () => {
  await api.logout().catch(() => {});
  user = null;
  go("#/login");
});
// Another language: the header and the page again, in it (the editor asks first when something is unsaved).
document.getElementById("language").addEventListener("change", (event) => {
  localStorage.setItem(languageKey, event.target.value);
  useLanguage(event.target.value);
  if (user) header(localStorage.getItem(projectKey));
  route();
});
window.addEventListener("hashchange", route);
window.addEventListener("beforeunload", (event) => {
  if (current?.beforeLeave && !current.beforeLeave({ quiet: true })) event.preventDefault();
});
route();
