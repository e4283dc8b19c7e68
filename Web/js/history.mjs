// A pipeline's run history (Airflow's grid view) from GET …/pipelines/{pipeline}/grid: tasks as rows, runs as columns
// from the oldest shown to the newest, each cell a task's state in a run; and a task's durations across runs.
import { t, fixed, stateName } from "./i18n.mjs";

/** Seconds between two ISO instants, or null when either is missing. */
export function seconds(startedAt, finishedAt) {
  if (!startedAt || !finishedAt) return null;
  return Math.max(0, (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000);
}

/**
 * Two pages of the grid as one (`newer` then `older`, as the API pages them): the tasks in the newer page's order,
 * then those only the older had; every run's cells realigned to them.
 */
export function mergeGrids(newer, older) {
  const tasks = [...newer.tasks, ...older.tasks.filter((name) => !newer.tasks.includes(name))];
  const realign = (page) =>
    page.runs.map((column) => {
      const byName = new Map(page.tasks.map((name, index) => [name, column.cells[index] ?? null]));
      return { run: column.run, cells: tasks.map((name) => byName.get(name) ?? null) };
    });
  return { pipeline: newer.pipeline, tasks, runs: [...realign(newer), ...realign(older)], next: older.next };
}

/**
 * What the grid draws: `runs` oldest first (left to right), and a row per task with its cell in each run (null where
 * the run had no such task), each cell with its duration in seconds.
 */
export function gridModel(grid) {
  const runs = [...grid.runs].reverse();
  const rows = grid.tasks.map((task, index) => ({
    task,
    cells: runs.map((column) => {
      const cell = column.cells[index];
      return cell ? { ...cell, run: column.run.id, seconds: seconds(cell.startedAt, cell.finishedAt) } : null;
    }),
  }));
  return { runs: runs.map((column) => column.run), rows };
}

/** `load · failed · 2 attempts · 3.5 s`: a cell in words (its title and accessible name). */
export function cellLabel(task, cell) {
  if (!cell) return t("history.notInRun", { task });
  const parts = [task, stateName(cell.state)];
  if (cell.attempts > 1) parts.push(t("run.attempts", { count: cell.attempts }));
  if (cell.seconds != null) parts.push(cell.seconds < 60 ? t("time.seconds", { seconds: fixed(cell.seconds, 1) }) : t("time.minutesOnly", { minutes: fixed(cell.seconds / 60, 1) }));
  return parts.join(" · ");
}

/**
 * An SVG path of `values` (seconds, null for none) across `width` × `height`, scaled to the largest; a gap (null)
 * starts a new segment. Empty when there is nothing to draw.
 */
export function sparklinePath(values, width, height) {
  const top = Math.max(0, ...values.filter((value) => value != null));
  if (!values.some((value) => value != null)) return "";
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  let path = "";
  let drawing = false;
  values.forEach((value, index) => {
    if (value == null) {
      drawing = false;
      return;
    }
    const x = values.length > 1 ? index * step : width / 2;
    const y = top > 0 ? height - (value / top) * height : height;
    path += `${drawing ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    drawing = true;
  });
  return path;
}
