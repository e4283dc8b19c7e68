// A Kubernetes attempt's pods as the run view shows them: one line per pod, then what is wrong with it.
import { t } from "./i18n.mjs";

/** The summary of a pod (`process.pods[i]` of the attempt API): its title, the conditions that do not hold, its events. */
export function podSummary(pod) {
  const where = pod.node ? t("pods.on", { node: pod.node }) : t("pods.noNode");
  const title = [pod.name, pod.phase, where, pod.container].filter(Boolean).join(" · ");
  const problems = (pod.conditions ?? [])
    .filter((condition) => condition.status !== "True")
    .map((condition) => `${condition.type}: ${condition.reason ?? condition.status}${condition.message ? ` — ${condition.message}` : ""}`);
  const events = (pod.events ?? []).map((event) => `${event.reason}${event.count > 1 ? ` ×${event.count}` : ""}: ${event.message}`);
  const warning = problems.length > 0 || (pod.events ?? []).some((event) => event.type === "Warning") || /^(Failed|Gone)$/.test(pod.phase);
  return { title, problems, events, warning };
}
