import { test } from "node:test";
import assert from "node:assert/strict";
import { applySuggestion, bytes, chartModel, cores, summaryText } from "../../Web/js/usage.mjs";

test("quantities read as the API writes them", () => {
  assert.equal(cores("500m"), 0.5);
  assert.equal(cores("2"), 2);
  assert.ok(Number.isNaN(cores("lots")));
  assert.equal(bytes("512Mi"), 512 * 2 ** 20);
  assert.equal(bytes("2G"), 2e9);
  assert.ok(Number.isNaN(bytes("2 gigs")));
});

test("a chart puts replicas, request and limit on one scale", () => {
  const series = [
    { replica: "0", points: [{ at: "2026-12-04T00:00:00Z", memoryBytes: 100 }, { at: "2026-12-04T00:00:10Z", memoryBytes: 200 }] },
    { replica: "1", points: [{ at: "2026-12-04T00:00:05Z", memoryBytes: 50 }] },
  ];
  const model = chartModel(series, { value: (point) => point.memoryBytes, request: 150, limit: 400, width: 100, height: 44 });
  assert.equal(model.peak, 200);
  assert.deepEqual(model.lines.map((line) => line.replica), ["0", "1"]);
  // The top is the limit (plus 5%): the use sits well below it.
  assert.equal(model.lines[0].points, "0,34.5 100,25");
  assert.deepEqual(model.marks.map((mark) => [mark.kind, mark.y]), [["request", 29.7], ["limit", 5.9]]);
  assert.deepEqual(chartModel([], { value: () => 0 }).marks, []);
});

test("a summary in words, and none before the first sample", () => {
  assert.equal(summaryText({ samples: 0 }), "No samples yet.");
  assert.equal(
    summaryText({ samples: 3, peakMemoryBytes: 212 * 2 ** 20, meanCpuCores: 0.912, peakCpuCores: 1, cpuSeconds: 2.04, peakThreads: 9 }),
    "memory peak 212.0 MiB · CPU mean 0.91 cores, peak 1.00 · 2.0 s of CPU · 9 threads at most",
  );
});

test("a suggestion replaces the requests and keeps the limits it fits under", () => {
  assert.deepEqual(applySuggestion({ cpu: "1~2", memory: "4Gi", gpu: 1 }, { cpu: "300m", memory: "256Mi" }), {
    cpu: "300m~2",
    memory: "256Mi~4Gi",
    gpu: 1,
  });
  assert.deepEqual(applySuggestion(undefined, { cpu: "300m", memory: "256Mi" }), { cpu: "300m", memory: "256Mi" });
  // Above the limit: the limit would refuse the pipeline, so the suggestion stands alone.
  assert.deepEqual(applySuggestion({ cpu: "100m~200m", memory: "128Mi" }, { cpu: "300m", memory: "256Mi" }), { cpu: "300m", memory: "256Mi" });
});
