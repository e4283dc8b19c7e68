"""The editor with a 500-task pipeline, in headless Chromium: how long until it is drawn, how long a frame of
dragging a task, of panning, and how long Arrange takes; then a pipeline's history grid of 50 runs × 200 tasks (the
API's server time and the page drawn), the run view of a 1,000-task run (graph and timeline drawn), and Arrange of
1,000 tasks (a tree, and a tangle: each task after two earlier ones drawn at random). Run with the selenium venv of
scripts/browser-test.sh:

    .build-web-venv/bin/python benchmarks/portal.py "$(swift build --show-bin-path)"
"""
import json, os, random, statistics, sys, time, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(__file__))
from serve import Server  # noqa: E402

# In the page: `steps` pointer moves, each followed by two animation frames (the move drawn, then painted); the
# time of each step. With selector "none", the same steps with no event: the floor the frame rate sets.
FRAMES = """
const [selector, steps, done] = arguments;
const target = document.querySelector(selector === "none" ? "svg.canvas" : selector);
const box = target.getBoundingClientRect();
let x = box.left + 5, y = box.top + 5;
const idle = selector === "none";
const fire = (type) => idle || target.dispatchEvent(new PointerEvent(type, {bubbles: true, clientX: x, clientY: y, button: 0, pointerId: 1, isPrimary: true}));
const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
(async () => {
  fire("pointerdown");
  const times = [];
  for (let i = 0; i < steps; i++) {
    x += 3; y += 1;
    const start = performance.now();
    if (!idle) window.dispatchEvent(new PointerEvent("pointermove", {clientX: x, clientY: y, pointerId: 1}));
    await frame(); await frame();
    times.push(performance.now() - start);
  }
  if (!idle) window.dispatchEvent(new PointerEvent("pointerup", {clientX: x, clientY: y, pointerId: 1}));
  done(times);
})();
"""


def main(bin_dir):
    with Server(bin_dir) as server:
        tasks = [{"name": f"t{i}", "template": "noop", **({"dependsOn": [f"t{(i - 1) // 4}"]} if i else {})} for i in range(500)]
        server.call("POST", "/api/v1/projects/demo/pipelines",
                    {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "big"}, "spec": {"tasks": tasks}})
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,950", "--lang=en-US"]:
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(server.base + "/")
            driver.execute_script("localStorage.setItem('trellis.token', arguments[0])", server.token)
            results = {}
            loads = []
            for _ in range(3):
                driver.get(server.base + "/#/p/demo/pipelines")
                start = time.perf_counter()
                driver.get(server.base + "/#/p/demo/pipelines/big")
                WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".nodes [data-task]")) == 500)
                loads.append(time.perf_counter() - start)
            results["open (navigation → 500 tasks drawn), median of 3"] = f"{statistics.median(loads) * 1000:.0f} ms"
            driver.set_script_timeout(60)
            idle = driver.execute_async_script(FRAMES, "none", 40)
            results["two animation frames with nothing to do (the floor of the numbers below)"] = f"{statistics.median(idle):.1f} ms"
            drag = driver.execute_async_script(FRAMES, '[data-task="t100"] rect', 40)
            results["drag a task: time per frame, median / max"] = f"{statistics.median(drag):.1f} / {max(drag):.1f} ms"
            pan = driver.execute_async_script(FRAMES, "svg.canvas", 40)
            results["pan the canvas: time per frame, median / max"] = f"{statistics.median(pan):.1f} / {max(pan):.1f} ms"
            start = time.perf_counter()
            driver.find_element(By.XPATH, "//button[text()='Arrange']").click()
            driver.execute_script("return 1")
            results["Arrange (layered layout + redraw)"] = f"{(time.perf_counter() - start) * 1000:.0f} ms"
            results.update(history_and_run(driver, server))
            print(json.dumps(results, indent=2, ensure_ascii=False))
        finally:
            driver.quit()


def finish(server, run):
    for _ in range(6000):
        if server.call("GET", f"/api/v1/projects/demo/runs/{run}")["state"] in ("succeeded", "failed", "cancelled"):
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run} did not end")


def timed(driver, url, ready):
    """Median of 3: navigation to `url` until `ready(driver)` holds."""
    times = []
    for _ in range(3):
        driver.get("about:blank")
        start = time.perf_counter()
        driver.get(url)
        WebDriverWait(driver, 120).until(ready)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def history_and_run(driver, server):
    """The history grid of 50 runs of a 200-task pipeline, and the run view of a 1,000-task run."""
    results = {}
    wide = [{"name": f"w{i}", "template": "noop", **({"dependsOn": [f"w{(i - 1) // 8}"]} if i else {})} for i in range(200)]
    server.call("POST", "/api/v1/projects/demo/pipelines",
                {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "wide"}, "spec": {"tasks": wide}})
    for _ in range(50):
        finish(server, server.call("POST", "/api/v1/projects/demo/pipelines/wide/runs", {})["id"])
    api = []
    for _ in range(10):
        start = time.perf_counter()
        request = urllib.request.Request(server.base + "/api/v1/projects/demo/pipelines/wide/grid?limit=50",
                                         headers={"Authorization": "Bearer " + server.token})
        body = urllib.request.urlopen(request, timeout=60).read()
        api.append(time.perf_counter() - start)
    results["GET …/grid?limit=50 of 50 runs × 200 tasks (client time, median of 10)"] = \
        f"{statistics.median(api) * 1000:.0f} ms, {len(body) // 1024} KiB"
    cells = lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.grid-history a.cell")) == 50 * 200
    seconds = timed(driver, server.base + "/#/p/demo/pipelines/wide/history?limit=50", cells)
    results["history grid 50 runs × 200 tasks (navigation → 10,000 cells drawn), median of 3"] = f"{seconds * 1000:.0f} ms"

    big = [{"name": f"t{i}", "template": "noop", **({"dependsOn": [f"t{(i - 1) // 4}"]} if i else {})} for i in range(1000)]
    server.call("POST", "/api/v1/projects/demo/pipelines",
                {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "thousand"}, "spec": {"tasks": big}})
    run = server.call("POST", "/api/v1/projects/demo/pipelines/thousand/runs", {})["id"]
    finish(server, run)
    drawn = lambda d: len(d.find_elements(By.CSS_SELECTOR, ".run-dag [data-task]")) == 1000 and \
        len(d.find_elements(By.CSS_SELECTOR, "svg.timeline .timeline-row")) == 1000
    seconds = timed(driver, server.base + f"/#/p/demo/runs/{run}", drawn)
    results["run view of a 1,000-task run (navigation → graph and timeline drawn), median of 3"] = f"{seconds * 1000:.0f} ms"

    draw = random.Random(18)
    tangle = [{"name": f"r{i}", "template": "noop", **({"dependsOn": sorted({f"r{draw.randrange(i)}", f"r{draw.randrange(i)}"})} if i else {})}
              for i in range(1000)]
    server.call("POST", "/api/v1/projects/demo/pipelines",
                {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "tangle"}, "spec": {"tasks": tangle}})
    for name in ("thousand", "tangle"):
        driver.get(server.base + f"/#/p/demo/pipelines/{name}")
        WebDriverWait(driver, 120).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".nodes [data-task]")) == 1000)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            driver.find_element(By.XPATH, "//button[text()='Arrange']").click()
            driver.execute_script("return 1")
            times.append(time.perf_counter() - start)
        shape = "a tree" if name == "thousand" else "a tangle, 2 random upstreams each"
        results[f"Arrange of 1,000 tasks, {shape} (layout + redraw), median of 3"] = f"{statistics.median(times) * 1000:.0f} ms"
        # Leaving asks about the unsaved arrangement.
        driver.get("about:blank")
        try:
            driver.switch_to.alert.accept()
        except Exception:
            pass
    return results


if __name__ == "__main__":
    main(sys.argv[1])
