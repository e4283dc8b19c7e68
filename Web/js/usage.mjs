// Resource use as the portal shows it: an attempt's series per replica as lines with the task's request and limit on
// the same scale, a summary in words, and requests suggested from past runs, applied to a task's resources by the user.
import { t, fixed } from "./i18n.mjs";

/** Cores from `2`, `0.5` or `500m`; NaN for anything else. */
export function cores(text) {
  const value = String(text ?? "").trim();
  if (/^\d+m$/.test(value)) return Number(value.slice(0, -1)) / 1000;
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
}

const units = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, K: 1e3, M: 1e6, G: 1e9, T: 1e12, "": 1 };

/** Bytes from `4Gi`, `512Mi`, `2G` or a number of bytes; NaN for anything else. */
export function bytes(text) {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(String(text ?? "").trim());
  return match ? Number(match[1]) * units[match[2] ?? ""] : NaN;
}

/** `212.3 MiB`, `1.5 GiB`. */
export function memoryText(value) {
  return value >= 2 ** 30 ? `${fixed(value / 2 ** 30, 1)} GiB` : `${fixed(value / 2 ** 20, 1)} MiB`;
}

/** An attempt's summary in one line: peak memory, CPU, GPU where there was one. */
export function summaryText(summary) {
  if (!summary || !summary.samples) return t("usage.noSamplesYet");
  const parts = [];
  if (summary.peakMemoryBytes != null) parts.push(t("usage.memoryPeak", { memory: memoryText(summary.peakMemoryBytes) }));
  if (summary.meanCpuCores != null) parts.push(t("usage.cpu", { mean: fixed(summary.meanCpuCores, 2), peak: fixed(summary.peakCpuCores ?? 0, 2) }));
  if (summary.cpuSeconds != null) parts.push(t("usage.cpuSeconds", { seconds: fixed(summary.cpuSeconds, 1) }));
  if (summary.peakThreads != null) parts.push(t("usage.threads", { count: summary.peakThreads }));
  if (summary.peakGpuPercent != null) parts.push(t("usage.gpuPeak", { percent: Math.round(summary.peakGpuPercent) }));
  if (summary.peakGpuMemoryBytes != null) parts.push(t("usage.gpuMemoryPeak", { memory: memoryText(summary.peakGpuMemoryBytes) }));
  return parts.join(" · ");
}

/**
 * One chart: a polyline per replica of `value(point)`, and the request and limit as horizontal marks, on one scale
 * from 0 to the highest of them (so a limit far above the use shows as far above).
 */
export function chartModel(series, { value, request, limit, width = 300, height = 90 }) {
  const points = series.flatMap((item) => item.points);
  const times = points.map((point) => Date.parse(point.at));
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const peak = points.length ? Math.max(...points.map(value)) : 0;
  const top = Math.max(peak, request ?? 0, limit ?? 0) * 1.05 || 1;
  const y = (amount) => Number((height - (amount / top) * (height - 4)).toFixed(1));
  const x = (at) => Number((((Date.parse(at) - t0) / Math.max(1, t1 - t0)) * width).toFixed(1));
  return {
    peak,
    lines: series.map((item, index) => ({
      replica: item.replica,
      index,
      points: item.points.map((point) => `${x(point.at)},${y(value(point))}`).join(" "),
    })),
    marks: [
      ["request", request],
      ["limit", limit],
    ]
      .filter(([, amount]) => amount != null && amount > 0)
      .map(([kind, amount]) => ({ kind, amount, y: y(amount) })),
  };
}

/** `request~limit` with the request replaced by `suggested`; the limit kept unless the suggestion is above it. */
function withRequest(current, suggested, parse) {
  if (!current) return suggested;
  const parts = String(current).split("~");
  const limit = parts.length === 2 ? parts[1] : parts[0];
  return parse(suggested) <= parse(limit) ? `${suggested}~${limit}` : suggested;
}

/** The task's resources with the suggested requests applied (what the "Apply" button saves into the draft). */
export function applySuggestion(resources, suggestion) {
  return {
    ...(resources ?? {}),
    cpu: withRequest(resources?.cpu, suggestion.cpu, cores),
    memory: withRequest(resources?.memory, suggestion.memory, bytes),
  };
}
