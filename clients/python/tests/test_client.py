"""The client against a real `trellis serve` (scripts/with-serve.sh starts one and sets TRELLIS_URL)."""
import os
import uuid

import pytest

from trellis_client import Trellis, TrellisError

URL = os.environ["TRELLIS_URL"]
PASSWORD = os.environ["TRELLIS_ADMIN_PASSWORD"]

PIPELINE = """apiVersion: trellis.dev/v1
kind: Pipeline
metadata: {name: NAME}
spec:
  parameters:
    - {name: sample, default: "0.1", description: fraction of the data}
  tasks:
    - {name: count, template: shell, args: {command: "for i in 1 2 3; do echo line-$i sample={{ params.sample }}; done"}}
"""


@pytest.fixture
def trellis():
    return Trellis(URL).login("admin", PASSWORD)


@pytest.fixture
def pipeline(trellis, tmp_path):
    name = f"client-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE.replace("NAME", name))
    saved = trellis.apply(str(path), project="demo")
    assert saved["pipeline"] == name and saved["version"] == 1
    return name


def test_a_run_with_parameters_is_waited_for_and_its_log_read(trellis, pipeline):
    run = trellis.start_run("demo", pipeline, parameters={"sample": 0.5})
    assert run["parameters"] == {"sample": "0.5"}
    finished = trellis.wait(run["id"], project="demo", timeout=120)
    assert finished["state"] == "succeeded"
    assert [line for line in trellis.logs("demo", run["id"], "count") if line.startswith("line-")] == [
        "line-1 sample=0.5", "line-2 sample=0.5", "line-3 sample=0.5"]
    stamped = [line for line in trellis.logs("demo", run["id"], "count", timestamps=True) if "line-" in line]
    assert len(stamped) == 3 and all(line[:4].isdigit() and line.endswith("sample=0.5") for line in stamped)


def test_a_log_is_followed_to_the_tasks_end(trellis, pipeline):
    run = trellis.start_run("demo", pipeline)
    lines = [line for line in trellis.logs("demo", run["id"], "count", follow=True) if line.startswith("line-")]
    assert lines == ["line-1 sample=0.1", "line-2 sample=0.1", "line-3 sample=0.1"]


def test_runs_page_through_each_once(trellis, pipeline):
    started = {trellis.start_run("demo", pipeline)["id"] for _ in range(3)}
    listed = [run["id"] for run in trellis.runs("demo", pipeline=pipeline, limit=2)]
    assert sorted(listed) == sorted(started)


def test_errors_name_the_field(trellis, pipeline):
    with pytest.raises(TrellisError) as refused:
        trellis.start_run("demo", pipeline, parameters={"nope": 1})
    assert refused.value.status == 400 and refused.value.message.startswith("parameters.nope")
    with pytest.raises(TrellisError) as unknown:
        trellis.run("no-such-run", project="demo")
    assert unknown.value.status == 404
    with pytest.raises(TrellisError) as bad_login:
        Trellis(URL).login("admin", "wrong-password")
    assert bad_login.value.status == 401
