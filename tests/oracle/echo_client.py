"""The client side of the echo oracles (tests/oracle/node/echo.js and
tests/oracle/go/echo.go): start one, send it a connection's bytes, and read
back what it made of them.

An echo server answers every request it reads with `200` and the reading in
an `X-Echo` header (base64 JSON), and every request it refuses with its own
error status. So the answers on one connection, in order, are the requests
the server read, and then why it stopped: a refusal, a close (the last request
did not let the connection persist), or nothing (it waits for more bytes: the
bytes ended mid-request, or between two). Nothing is a wait, so each
connection is read until it closes or stays quiet for `QUIET` seconds;
connections run side by side to keep the total short.
"""

import base64
import json
import socket
import subprocess

QUIET = 0.5
CONNECT_TIMEOUT = 5


class EchoServer:
    """A running echo server: `command` must print "listening PORT" first."""

    def __init__(self, name, command):
        self.name = name
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.process.kill()
            raise RuntimeError(f"{name} echo server did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self):
        self.process.kill()
        self.process.wait()

    def read_connection(self, data):
        """{"requests": [...], "end": {...}}, as examples/parse_dump.rs prints."""
        received, closed = exchange(self.port, data)
        return readings(received, closed)


def exchange(port, data):
    """Every byte the server sends back for `data`, and whether it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT) as sock:
        sock.sendall(data)
        sock.settimeout(QUIET)
        received = bytearray()
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return bytes(received), False
            except ConnectionResetError:
                return bytes(received), True
            if not chunk:
                return bytes(received), True
            received += chunk


def readings(received, closed):
    requests = []
    for status, headers in responses(received):
        if 100 <= status < 200:
            continue  # 100 Continue: the body is still to come
        if status != 200:
            end = {"verdict": "reject", "status": status}
            return {"requests": requests, "end": end}
        requests.append(json.loads(base64.b64decode(headers["x-echo"])))
    return {"requests": requests, "end": {"verdict": "closed" if closed else "open"}}


def responses(data):
    """(status, headers) of each response in `data`, bodies skipped."""
    at = 0
    while at < len(data):
        end = data.find(b"\r\n\r\n", at)
        if end < 0:
            raise ValueError(f"a response head is cut short: {data[at:]!r}")
        lines = data[at:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        at = end + 4
        yield status, headers
        at = skip_body(data, at, status, headers)


def skip_body(data, at, status, headers):
    if 100 <= status < 200:
        return at
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            line_end = data.index(b"\r\n", at)
            size = int(data[at:line_end].split(b";")[0], 16)
            at = line_end + 2 + size + 2
            if size == 0:
                return at
    if "content-length" in headers:
        return at + int(headers["content-length"])
    return len(data)  # no length: the body runs to the close
