"""What a new user does in the portal, in real Chromium: log in, drag two templates onto the canvas, connect
them, fill the parameters (and see a bad value refused at its field), save, run, watch the run turn green and
read a task's log. Screenshots of the editor and the run view go to $TRELLIS_SCREENSHOTS.

    TRELLIS_URL=http://127.0.0.1:PORT TRELLIS_ADMIN_PASSWORD=... python3 Tests/Browser/portal_test.py
"""
import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["TRELLIS_URL"]
SHOTS = os.environ.get("TRELLIS_SCREENSHOTS", ".build-screenshots")


def api(method, path, body=None, token=None):
    request = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        text = response.read().decode()
        return json.loads(text) if text else None


def setup():
    """The admin makes a user and a project for them, as an operator would."""
    admin = api("POST", "/api/v1/auth/login", {"username": "admin", "password": os.environ["TRELLIS_ADMIN_PASSWORD"]})["token"]
    api("POST", "/api/v1/users", {"username": "ada", "password": "ada-password"}, admin)
    api("POST", "/api/v1/projects", {"name": "ml"}, admin)
    api("POST", "/api/v1/projects/ml/members", {"username": "ada", "role": "developer"}, admin)
    # A task that prints for a few seconds (the live tail), and 500 tasks (the editor stays usable).
    ticker = "for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done"
    api("POST", "/api/v1/projects/ml/pipelines", pipeline("ticker", [{"name": "tick", "template": "shell", "args": {"command": ticker}}]), admin)
    tasks = [{"name": f"t{i}", "template": "noop", **({"dependsOn": [f"t{(i - 1) // 4}"]} if i else {})} for i in range(500)]
    api("POST", "/api/v1/projects/ml/pipelines", pipeline("big", tasks), admin)


def pipeline(name, tasks):
    return {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": name}, "spec": {"tasks": tasks}}


def position(element):
    """A task's place on the canvas, from its transform."""
    return element.get_attribute("transform")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,950"]:
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


def main():
    setup()
    os.makedirs(SHOTS, exist_ok=True)
    driver = browser()
    wait = WebDriverWait(driver, 30)
    css = lambda selector: driver.find_element(By.CSS_SELECTOR, selector)
    all_css = lambda selector: driver.find_elements(By.CSS_SELECTOR, selector)
    visible = lambda selector: wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))
    try:
        # Log in: any page sends a stranger to the login form.
        driver.get(BASE + "/")
        visible("input[name=username]").send_keys("ada")
        css("input[name=password]").send_keys("ada-password")
        css("form.login button[type=submit]").click()
        wait.until(lambda d: "#/p/ml/pipelines" in d.current_url)

        # A new pipeline, named in the pipeline panel.
        visible(".page-head button.primary").click()
        visible("input[name=pipeline-name]").send_keys("first-flow")

        # Drag two templates from the palette onto the canvas, then arrange them.
        canvas = visible("svg.canvas")
        for template in ["shell", "python"]:
            ActionChains(driver).drag_and_drop(css(f'.palette-item[data-template="{template}"]'), canvas).perform()
        wait.until(lambda d: len(all_css(".nodes [data-task]")) == 2)
        names = sorted(node.get_attribute("data-task") for node in all_css(".nodes [data-task]"))
        assert names == ["python", "shell"], names
        driver.find_element(By.XPATH, "//button[text()='Arrange']").click()

        # Connect shell → python by dragging from shell's output port to python's input port.
        ActionChains(driver).drag_and_drop(css('[data-task="shell"] .port.out'), css('[data-task="python"] .port.in')).perform()
        wait.until(lambda d: len(all_css("[data-edge]")) == 1)
        assert css("[data-edge]").get_attribute("data-edge") == "shell→python"

        # Fill shell's parameters; a relative working directory is refused at its field.
        css('[data-task="shell"] rect').click()
        visible("[name=arg-command]").send_keys("echo hello-from-trellis")
        workdir = css("[name=arg-workdir]")
        workdir.send_keys("relative")
        css("#editor-status").click()
        css('[data-task="python"] rect').click()
        visible("[name=arg-script]").send_keys("print('python ran after shell')")
        driver.find_element(By.XPATH, "//button[text()='Save']").click()
        error = visible('[data-field="workdir"] .field-error')
        wait.until(lambda d: "/" in error.text)
        assert "workdir" in css("#editor-status").text, css("#editor-status").text
        assert "invalid" in css('[data-task="shell"]').get_attribute("class")
        driver.save_screenshot(os.path.join(SHOTS, "editor-error.png"))
        workdir = css("[name=arg-workdir]")
        workdir.clear()
        workdir.send_keys("/tmp")

        # Save: a first version, and the editor now shows the saved pipeline.
        driver.find_element(By.XPATH, "//button[text()='Save']").click()
        wait.until(lambda d: d.current_url.endswith("#/p/ml/pipelines/first-flow"))
        wait.until(lambda d: len(all_css(".nodes [data-task]")) == 2 and len(all_css("[data-edge]")) == 1)
        driver.save_screenshot(os.path.join(SHOTS, "editor.png"))

        # Keyboard: copy and paste, delete, undo; shift-click selects several, which move together.
        canvas = css("svg.canvas")
        css('[data-task="shell"] rect').click()
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("c").send_keys("v").key_up(Keys.CONTROL).perform()
        wait.until(lambda d: len(all_css(".nodes [data-task]")) == 3)
        assert css('[data-task="shell-2"]') and "selected" in css('[data-task="shell-2"]').get_attribute("class")
        ActionChains(driver).send_keys(Keys.DELETE).perform()
        wait.until(lambda d: len(all_css(".nodes [data-task]")) == 2)
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()
        wait.until(lambda d: len(all_css(".nodes [data-task]")) == 3)
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()
        wait.until(lambda d: len(all_css(".nodes [data-task]")) == 2)
        css('[data-task="shell"] rect').click()
        ActionChains(driver).key_down(Keys.SHIFT).click(css('[data-task="python"] rect')).key_up(Keys.SHIFT).perform()
        before = [position(css(f'[data-task="{name}"]')) for name in ["shell", "python"]]
        ActionChains(driver).drag_and_drop_by_offset(css('[data-task="shell"] rect'), 60, 30).perform()
        after = [position(css(f'[data-task="{name}"]')) for name in ["shell", "python"]]
        assert before[0] != after[0] and before[1] != after[1], (before, after)
        assert css("#editor-state").text == "Unsaved changes"

        # Run it (saving the move first) and watch it turn green.
        driver.find_element(By.XPATH, "//button[text()='Run']").click()
        wait.until(lambda d: "/runs/" in d.current_url)
        WebDriverWait(driver, 90).until(lambda d: len(all_css('.run-dag [data-state="succeeded"]')) == 2)
        wait.until(lambda d: css(".run-head .badge").text == "succeeded")

        # A task's log.
        css('.run-dag [data-task="shell"] rect').click()
        wait.until(lambda d: "hello-from-trellis" in css("pre.log").text)
        assert "echo hello-from-trellis" in css(".invocation pre.command").text
        driver.save_screenshot(os.path.join(SHOTS, "run.png"))

        # The live tail: the log of a task still running grows as it prints.
        driver.get(BASE + "/#/p/ml/pipelines/ticker")
        visible('[data-task="tick"]')
        driver.find_element(By.XPATH, "//button[text()='Run']").click()
        wait.until(lambda d: "/runs/" in d.current_url)
        wait.until(lambda d: all_css('.run-dag [data-task="tick"][data-state="running"]'))
        css('.run-dag [data-task="tick"] rect').click()
        wait.until(lambda d: "tick-2" in css("pre.log").text)
        assert css(".run-head .badge").text == "running", "the log was read live, before the task ended"
        WebDriverWait(driver, 60).until(lambda d: "tick-6" in css("pre.log").text)
        wait.until(lambda d: css(".run-head .badge").text == "succeeded")

        # 500 tasks: all drawn, one dragged, arranged.
        driver.get(BASE + "/#/p/ml/pipelines/big")
        WebDriverWait(driver, 60).until(lambda d: len(all_css(".nodes [data-task]")) == 500)
        driver.find_element(By.XPATH, "//button[text()='Fit']").click()
        node = css('[data-task="t0"]')
        before = position(node)
        ActionChains(driver).drag_and_drop_by_offset(css('[data-task="t0"] rect'), 40, 0).perform()
        wait.until(lambda d: position(css('[data-task="t0"]')) != before)
        driver.save_screenshot(os.path.join(SHOTS, "editor-500.png"))
        print("portal test: passed")
    except Exception:
        driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
        print("portal test: FAILED at", driver.current_url, file=sys.stderr)
        print(css("#page").text[:2000] if all_css("#page") else "", file=sys.stderr)
        for entry in driver.get_log("browser"):
            print("console:", entry["message"], file=sys.stderr)
        raise
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
