// A run as a timeline (a Gantt chart): a row per task that ran, a bar per attempt from its start to its end (retries
// side by side), and the critical path — the chain of tasks, each the upstream that ended last before the next
// began, that ends with the last task to finish.

const time = (iso) => (iso ? Date.parse(iso) : null);

/**
 * `run` as the API gives it (tasks with dependsOn and attempts); `now` (ms) ends the bars of attempts still running.
 * Returns {start, end, rows: [{task, state, bars: [{attempt, state, from, to}]}], critical: [task…] (in run order)};
 * from/to are milliseconds after `start`. Tasks that never started are left out.
 */
export function timeline(run, now = Date.now()) {
  const spans = new Map();
  for (const task of run.tasks) {
    const bars = (task.attempts ?? [])
      .filter((attempt) => attempt.startedAt)
      .map((attempt) => ({ attempt: attempt.number, state: attempt.state, from: time(attempt.startedAt), to: time(attempt.finishedAt) ?? now }));
    if (bars.length) spans.set(task.name, { task: task.name, state: task.state, bars, first: Math.min(...bars.map((bar) => bar.from)), last: Math.max(...bars.map((bar) => bar.to)) });
  }
  const rows = [...spans.values()].sort((a, b) => a.first - b.first || a.task.localeCompare(b.task));
  if (!rows.length) return { start: 0, end: 0, rows: [], critical: [] };
  const start = Math.min(...rows.map((row) => row.first));
  const end = Math.max(...rows.map((row) => row.last));

  const upstreams = new Map(run.tasks.map((task) => [task.name, task.dependsOn ?? []]));
  const critical = [];
  let current = rows.reduce((latest, row) => (row.last > latest.last ? row : latest));
  const seen = new Set();
  while (current && !seen.has(current.task)) {
    seen.add(current.task);
    critical.unshift(current.task);
    const gating = (upstreams.get(current.task) ?? []).map((name) => spans.get(name)).filter((span) => span && span.last <= current.first);
    current = gating.length ? gating.reduce((latest, span) => (span.last > latest.last ? span : latest)) : null;
  }
  return {
    start,
    end,
    rows: rows.map((row) => ({ task: row.task, state: row.state, bars: row.bars.map((bar) => ({ ...bar, from: bar.from - start, to: bar.to - start })) })),
    critical,
  };
}
