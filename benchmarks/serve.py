"""What the benchmarks share: a private `trellis serve` (SQLite, a fresh data directory, a free port) and the API."""
import json, os, shutil, socket, subprocess, tempfile, time, urllib.request


def percentile(values, q):
    """The value below which a fraction `q` of `values` lie (the nearest rank)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"{}")


class Server:
    """`trellis serve --demo` from `bin_dir`, healthy, logged in as admin; stopped and its data removed on exit."""

    def __init__(self, bin_dir, environment=None):
        self.data = tempfile.mkdtemp(prefix="trellis-bench-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        log = open(os.path.join(self.data, "serve.log"), "w")
        self.process = subprocess.Popen(
            [os.path.join(bin_dir, "trellis"), "serve", "--port", str(port), "--data-dir", self.data, "--demo"],
            env={**os.environ, "TRELLIS_ADMIN_PASSWORD": "bench-password", "TRELLIS_LOG_LEVEL": "warning",
                 **(environment or {})},
            stdout=log, stderr=log)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        self.token = call(self.base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": "bench-password"})["token"]

    def call(self, method, path, body=None):
        return call(self.base, method, path, self.token, body)

    def __enter__(self):
        return self

    def __exit__(self, *error):
        self.process.terminate()
        self.process.wait(timeout=60)
        shutil.rmtree(self.data, ignore_errors=True)
