"""Checks the reference deployment that tests/deploy/run starts: nginx on https://localhost:8443
in front of two groundup instances (127.0.0.1:8081 and :8082) on one MongoDB-wire server.

Everything goes through nginx over HTTPS, trusting only the certificate made for the run, each
request on a connection of its own (so nginx's round-robin spreads them), from a loopback
source address the case chooses (any 127.x.y.z is local). What must hold:

1. Register and log in; the session cookie is the __Host- one, Secure and HttpOnly.
2. Requests alternate between the instances (nginx's log names the upstream) and stay signed in.
3. Log out through one instance: the other refuses the cookie at the next request.
4. A bearer token issued through one instance is accepted by the other.
5. Six wrong guesses for one account, from six addresses, spread over both instances: the
   sixth is 429. The instance that refused logged the guesser's address, not nginx's.
6. /echo sees the client's address and https as the scheme, with nginx as the peer.
7. Stop one instance: the user stays signed in through the other.

Usage: python3 tests/deploy/check.py WORKDIR   (the directory tests/deploy/run made)
"""

import http.client
import json
import os
import re
import signal
import ssl
import sys
import time

WORK = sys.argv[1]
CONTEXT = ssl.create_default_context(cafile=os.path.join(WORK, "certs", "groundup.crt"))
ORIGIN = "https://localhost:8443"
PASSWORD = "correct horse battery"
INSTANCES = {"127.0.0.1:8081", "127.0.0.1:8082"}


def request(method, path, body=None, headers=None, source="127.0.0.1"):
    """One request through nginx from `source`; (status, headers, body)."""
    conn = http.client.HTTPSConnection(
        "localhost", 8443, context=CONTEXT, timeout=10, source_address=(source, 0)
    )
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, response.headers, payload


def log_lines():
    with open(os.path.join(WORK, "logs", "access.log")) as log:
        return log.readlines()


# nginx writes a request's log line after it has sent the answer, so the line can trail the
# answer the client has already read. Counting lines therefore waits for them to settle.


def upstreams_since(mark, count):
    """The instances that answered the `count` requests logged after `mark` lines of nginx's
    log, waiting (a few seconds at most) for their lines to be written."""
    deadline = time.monotonic() + 5
    lines = log_lines()[mark:]
    while len(lines) < count and time.monotonic() < deadline:
        time.sleep(0.02)
        lines = log_lines()[mark:]
    return [re.search(r"upstream=(\S+)", line).group(1) for line in lines]


def log_mark():
    """The log's length once the lines of the requests made so far are in it: no new line for
    a quarter of a second."""
    count = len(log_lines())
    settled = time.monotonic() + 0.25
    while time.monotonic() < settled:
        time.sleep(0.02)
        if (now := len(log_lines())) != count:
            count, settled = now, time.monotonic() + 0.25
    return count


def expect(condition, what):
    if not condition:
        raise SystemExit(f"deploy check failed: {what}")
    print(f"ok: {what}")


def login(name, source="127.0.0.1"):
    status, headers, body = request(
        "POST", "/api/login", {"identifier": name, "password": PASSWORD}, source=source
    )
    expect(status == 200, f"login as {name} answers 200 (got {status}: {body[:200]!r})")
    cookie = headers["Set-Cookie"]
    return cookie, cookie.split(";")[0]


def main():
    # 1. (grace is for 7., since 5. locks ada's account for a while)
    for name in ("ada", "grace"):
        status, _, body = request("POST", "/api/register", {"username": name, "password": PASSWORD})
        expect(status == 201, f"register through nginx answers 201 (got {status}: {body[:200]!r})")
    set_cookie, cookie = login("ada")
    expect(cookie.startswith("__Host-session="), "the session cookie has the __Host- prefix")
    expect("Secure" in set_cookie and "HttpOnly" in set_cookie, "the cookie is Secure and HttpOnly")

    # 2.
    mark = log_mark()
    for _ in range(4):
        status, _, body = request("GET", "/api/me", headers={"Cookie": cookie})
        expect(status == 200 and json.loads(body)["user"]["username"] == "ada", "signed in")
    answered = upstreams_since(mark, 4)
    expect(set(answered) == INSTANCES, f"both instances answered /api/me ({answered})")

    # 3.
    status, _, _ = request("POST", "/api/logout", headers={"Cookie": cookie, "Origin": ORIGIN})
    expect(status == 200, "logout answers 200")
    mark = log_mark()
    for _ in range(2):
        status, _, _ = request("GET", "/api/me", headers={"Cookie": cookie})
        expect(status == 401, "after logout, the cookie is refused")
    expect(set(upstreams_since(mark, 2)) == INSTANCES, "by both instances")

    # 4.
    status, _, body = request("POST", "/api/token", {"identifier": "ada", "password": PASSWORD})
    expect(status == 200, "a token is issued")
    bearer = {"Authorization": "Bearer " + json.loads(body)["token"]}
    mark = log_mark()
    for n in range(2):
        status, _, body = request("POST", "/api/posts", {"title": f"post {n}"}, headers=bearer)
        expect(status == 201, f"a post written with the token (got {status}: {body[:200]!r})")
    expect(set(upstreams_since(mark, 2)) == INSTANCES, "the token works on both instances")

    # 5.
    statuses = []
    mark = log_mark()
    for n in range(6):
        status, headers, _ = request(
            "POST",
            "/api/login",
            {"identifier": "ada", "password": "not the password"},
            source=f"127.70.0.{n + 1}",
        )
        statuses.append(status)
    expect(statuses == [401] * 5 + [429], f"five guesses checked, the sixth refused ({statuses})")
    expect(set(upstreams_since(mark, 6)) == INSTANCES, "the guesses went to both instances")
    logs = ""
    for port in (8081, 8082):
        with open(os.path.join(WORK, "logs", f"groundup-{port}.log")) as log:
            logs += log.read()
    expect(
        re.search(r"login refused.*client=127\.70\.0\.6|client=127\.70\.0\.6.*login refused", logs),
        "the refusing instance logged the guesser's address",
    )

    # 6.
    status, _, body = request("GET", "/echo", source="127.70.0.9")
    seen = json.loads(body)
    expect(seen["client"] == {"address": "127.70.0.9", "scheme": "https"}, f"/echo sees {seen['client']}")
    expect(seen["peer"].startswith("127.0.0.1:"), "with nginx as the peer")

    # 7.
    _, cookie = login("grace", source="127.70.1.1")
    with open(os.path.join(WORK, "groundup-8081.pid")) as pid:
        os.kill(int(pid.read()), signal.SIGTERM)
    time.sleep(0.5)
    for _ in range(4):
        status, _, _ = request("GET", "/api/me", headers={"Cookie": cookie})
        expect(status == 200, "with one instance stopped, still signed in")


if __name__ == "__main__":
    main()
