#!/usr/bin/env python3
"""A node's kubelet, as far as the API server asks it for pods' logs, for the tests of scripts/with-kube.sh (which has
no kubelet): the API server proxies `GET pods/{pod}/log` to `https://{node address}:{port}/containerLogs/{ns}/{pod}/
{container}`; this answers from `DIR/{ns}/{pod}/{container}.log`, whose lines the test writes stamped as the kubelet
stamps them (`2026-12-05T10:00:00.123456789Z text`). `timestamps=true` keeps the stamps; `limitBytes` cuts the answer;
`follow=true` goes on sending what is appended until `{container}.done` exists beside the log, and then writes
`{container}.served` there (a test knows the whole followed log was sent).

    kubelet-logs.py DIR PORT_FILE    # serves on 127.0.0.1 (a port of its own, written to PORT_FILE), until killed
"""
import http.server
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT, PORT_FILE = sys.argv[1], sys.argv[2]


class Kubelet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "containerLogs" or any(p in ("", ".", "..") for p in parts):
            self.send_error(404)
            return
        query = urllib.parse.parse_qs(url.query)
        stamped = query.get("timestamps", ["false"])[0] == "true"
        follow = query.get("follow", ["false"])[0] == "true"
        limit = int(query.get("limitBytes", ["0"])[0]) or None
        log = os.path.join(ROOT, *parts[1:3], parts[3] + ".log")
        done = os.path.join(ROOT, *parts[1:3], parts[3] + ".done")
        if not os.path.exists(log):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        offset, sent = 0, 0
        while True:
            with open(log, "rb") as file:
                file.seek(offset)
                data = file.read()
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines(keepends=True):
                out = line if stamped else line.split(b" ", 1)[-1]
                if limit is not None:
                    out = out[: max(0, limit - sent)]
                if out:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(out), out))
                    self.wfile.flush()
                    sent += len(out)
            offset += end
            finished = not follow or (end == 0 and os.path.exists(done)) or (limit is not None and sent >= limit)
            if finished:
                break
            time.sleep(0.05)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if follow:
            open(os.path.join(ROOT, *parts[1:3], parts[3] + ".served"), "w").close()

    def log_message(self, *args):
        pass


def main():
    keys = tempfile.mkdtemp()
    cert, key = os.path.join(keys, "kubelet.crt"), os.path.join(keys, "kubelet.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Kubelet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(PORT_FILE + ".tmp", "w") as file:
        file.write(str(server.server_address[1]))
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
