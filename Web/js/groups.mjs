// Fan-outs in the run view: tasks of one template with the same upstreams and the same downstreams (200 parallel
// shards, say) drawn as one group box with their counts by state until it is expanded.

/** A fan-out needs at least this many parallel tasks to be grouped. */
export const groupMinimum = 10;

/**
 * The fan-outs of `tasks` ({name, template, dependsOn}): [{id, template, members}], members in the tasks' order; the
 * id names the template and the first member (stable while the run's plan is).
 */
export function fanOuts(tasks, minimum = groupMinimum) {
  const children = new Map(tasks.map((task) => [task.name, []]));
  for (const task of tasks) for (const parent of task.dependsOn ?? []) children.get(parent)?.push(task.name);
  const byKey = new Map();
  for (const task of tasks) {
    const key = [task.template, [...(task.dependsOn ?? [])].sort().join("\u0000"), [...children.get(task.name)].sort().join("\u0000")].join("\u0001");
    (byKey.get(key) ?? byKey.set(key, []).get(key)).push(task);
  }
  return [...byKey.values()]
    .filter((members) => members.length >= minimum)
    .map((members) => ({ id: `${members[0].template}:${members[0].name}`, template: members[0].template, members: members.map((task) => task.name) }));
}

/**
 * What the run view draws: `nodes` ({name} of a task, or {group} of a collapsed fan-out) and `edges` between their
 * names (a group's name is `group:ID`), each once; groups in `expanded` are drawn as their tasks.
 */
export function collapse(tasks, groups, expanded = new Set()) {
  const groupOf = new Map();
  for (const group of groups) if (!expanded.has(group.id)) for (const name of group.members) groupOf.set(name, group);
  const shown = (name) => (groupOf.has(name) ? `group:${groupOf.get(name).id}` : name);
  const nodes = [];
  const placed = new Set();
  for (const task of tasks) {
    const name = shown(task.name);
    if (placed.has(name)) continue;
    placed.add(name);
    nodes.push(groupOf.has(task.name) ? { name, group: groupOf.get(task.name) } : { name, task });
  }
  const edges = new Map();
  for (const task of tasks) {
    for (const parent of task.dependsOn ?? []) {
      const [from, to] = [shown(parent), shown(task.name)];
      if (from !== to) edges.set(`${from}\u0000${to}`, [from, to]);
    }
  }
  return { nodes, edges: [...edges.values()] };
}

/** A group's tasks counted by state, most first (`{succeeded: 180, running: 20}` → [["succeeded", 180], …]). */
export function stateCounts(tasks, members) {
  const wanted = new Set(members);
  const counts = new Map();
  for (const task of tasks) if (wanted.has(task.name)) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The state a group shows: a failure first, then running, pending, cancelled; succeeded once every task succeeded
 * or was skipped (skipped when all were). */
export function groupState(counts) {
  const states = new Set(counts.map(([state]) => state));
  for (const state of ["failed", "timed_out", "upstream_failed", "running", "launching", "pending", "cancelled"]) if (states.has(state)) return state;
  return states.has("succeeded") ? "succeeded" : "skipped";
}
