"""A small client of the Trellis API for data teams: log in, apply a pipeline file, start a run with parameters,
wait for it, read or follow a task's log, page through runs. Standard library only.

    from trellis_client import Trellis
    trellis = Trellis("http://127.0.0.1:8080").login("olga", "…")
    trellis.apply("pipeline.yaml", project="ml")
    run = trellis.start_run("ml", "daily-train", parameters={"sample": 0.5})
    finished = trellis.wait(run["id"], project="ml")
    for line in trellis.logs("ml", run["id"], "train", follow=True):
        print(line)
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator

__all__ = ["Trellis", "TrellisError"]

FINISHED = {"succeeded", "failed", "cancelled"}
# Each log line is written after the instant it was printed at: `2026-12-05T01:55:10.379Z text`.
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")


class TrellisError(Exception):
    """An answer that is not a success: the status, the error's code and its message (which names the field at fault)."""

    def __init__(self, status: int, code: str, message: str, fields: list | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.fields = status, code, message, fields or []


class Trellis:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # -- requests --

    def _open(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json", timeout: float | None = None):
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                detail = json.loads(text).get("error", {})
            except ValueError:
                detail = {}
            raise TrellisError(error.code, detail.get("code", "error"), detail.get("message", text), detail.get("fields")) from None

    def request(self, method: str, path: str, json_body: Any = None) -> Any:
        """A call of the API (`path` under the base URL); the answer's JSON, or None when it has no body."""
        body = json.dumps(json_body).encode() if json_body is not None else None
        with self._open(method, path, body) as response:
            text = response.read().decode()
            return json.loads(text) if text else None

    @staticmethod
    def _quote(part: str) -> str:
        return urllib.parse.quote(part, safe="")

    # -- the API --

    def login(self, username: str, password: str) -> "Trellis":
        self.token = self.request("POST", "/api/v1/auth/login", {"username": username, "password": password})["token"]
        return self

    def apply(self, document: str | dict, project: str) -> dict:
        """Saves a pipeline: a file (YAML or JSON, sent as written) or a dict. Returns the saved version."""
        path = f"/api/v1/projects/{self._quote(project)}/pipelines"
        if isinstance(document, dict):
            return self.request("POST", path, document)
        with open(document, "rb") as file:
            data = file.read()
        content_type = "application/json" if document.endswith(".json") else "application/yaml"
        with self._open("POST", path, data, content_type) as response:
            return json.loads(response.read().decode())

    def start_run(self, project: str, pipeline: str, parameters: dict | None = None) -> dict:
        """Starts a run of the pipeline's current version; `parameters` are values for its `spec.parameters`."""
        body = {"parameters": parameters} if parameters else {}
        return self.request("POST", f"/api/v1/projects/{self._quote(project)}/pipelines/{self._quote(pipeline)}/runs", body)

    def run(self, run_id: str, project: str) -> dict:
        return self.request("GET", f"/api/v1/projects/{self._quote(project)}/runs/{self._quote(run_id)}")

    def wait(self, run_id: str, project: str, timeout: float = 3600, poll: float = 0.5) -> dict:
        """Polls the run until it has ended; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id, project)
            if run["state"] in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is still {run['state']} after {timeout} s")
            time.sleep(poll)

    def runs(self, project: str, pipeline: str | None = None, limit: int = 100) -> Iterator[dict]:
        """Every run of the project (of one pipeline), newest first, page after page."""
        cursor = None
        while True:
            query = {"limit": limit, **({"pipeline": pipeline} if pipeline else {}), **({"cursor": cursor} if cursor else {})}
            page = self.request("GET", f"/api/v1/projects/{self._quote(project)}/runs?{urllib.parse.urlencode(query)}")
            yield from page["runs"]
            cursor = page.get("next")
            if not cursor:
                return

    def logs(self, project: str, run_id: str, task: str, follow: bool = False, timestamps: bool = False) -> Iterator[str]:
        """A task's log lines (its latest attempt) as the task printed them (with `timestamps`, each after the instant
        it was printed at); with `follow`, as they are written until the task ends."""
        for line in self._log_lines(project, run_id, task, follow):
            yield line if timestamps else STAMP.sub("", line, count=1)

    def _log_lines(self, project: str, run_id: str, task: str, follow: bool) -> Iterator[str]:
        path = f"/api/v1/projects/{self._quote(project)}/runs/{self._quote(run_id)}/tasks/{self._quote(task)}/logs"
        if not follow:
            with self._open("GET", path) as response:
                yield from response.read().decode("utf-8", "replace").splitlines()
            return
        with self._open("GET", path + "?follow=true", timeout=24 * 3600) as response:
            event = "message"
            for raw in response:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: ") and event == "message":
                    yield line[len("data: "):]
                elif line.startswith("data: ") and event == "end":
                    return
                elif not line:
                    event = "message"
