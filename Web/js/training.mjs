// Distributed training in the editor: a framework template's replica roles for a task's replica count (as the
// platform gives them, TrellisCore's TrainingFramework.roles), and a template's resources in a few words.
import { t } from "./i18n.mjs";

const roleNames = {
  pytorch: ["Master", "Worker"],
  xgboost: ["Master", "Worker"],
  tensorflow: ["Chief", "Worker", "PS"],
  mpi: ["Launcher", "Worker"],
  ray: ["Head", "Worker"],
};

/**
 * The roles of `replicas` replicas of a `framework` task in rank order, each with how many replicas have it; `ps`
 * is tensorflow's parameter servers (the last replicas). Empty for a template of no framework.
 */
export function replicaRoles(framework, replicas = 1, ps = 0) {
  const names = roleNames[framework];
  if (!names) return [];
  const n = Math.max(1, Number(replicas) || 1);
  const servers = framework === "tensorflow" ? Math.max(0, Number(ps) || 0) : 0;
  const counts = framework === "tensorflow" ? [1, n - 1 - servers, servers] : framework === "mpi" ? [1, n] : [1, n - 1];
  return names.map((role, index) => ({ role, count: counts[index] })).filter((item) => item.count > 0);
}

/** `Master ×1, Worker ×2`: the roles in words. */
export function rolesText(roles) {
  return roles.map((item) => `${item.role} ×${item.count}`).join(", ");
}

/** `pytorch · 1 GPU A100 per replica`: what the palette says of a template beyond its name. */
export function templateBadge(summary) {
  const parts = [];
  if (summary.framework) parts.push(summary.framework);
  const gpu = summary.resources?.gpu ?? 0;
  if (gpu > 0) parts.push(summary.resources.gpuType ? t("training.gpusOfType", { count: gpu, type: summary.resources.gpuType }) : t("training.gpus", { count: gpu }));
  return parts.join(" · ");
}
