"""The editor with a 500-task pipeline, in headless Chromium: how long until it is drawn, how long a frame of
dragging a task, of panning, and how long Arrange takes. Run with the selenium venv of scripts/browser-test.sh:

    .build-web-venv/bin/python benchmarks/portal.py "$(swift build --show-bin-path)"
"""
import json, os, statistics, sys, time

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
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,950"]:
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
            print(json.dumps(results, indent=2, ensure_ascii=False))
        finally:
            driver.quit()


if __name__ == "__main__":
    main(sys.argv[1])
