"""Who schemathesis's generated requests are: a schemathesis auth provider.

`tests/api/run` starts a server and points schemathesis at it with
`SCHEMATHESIS_HOOKS=schemathesis_hooks`; the first time credentials are
fetched, the accounts below are registered. Every case then carries
credentials the server accepts, so the checks reach past the 401 into what
each operation does:

- the post writes alternate between the two ways in: a bearer token (from
  `POST /api/token`) and the session cookie with its CSRF token, so both
  paths through `src/app/authenticate.rs` are exercised;
- the account routes take the cookie only, and get it with its CSRF token;
- the three routes that end sessions (`/api/logout`, `/api/logout-all`,
  `/api/password`) get a session of their own, logged in for that one case
  on a second account, so they cannot log the main account out from under
  the cases that follow.

The main account's password is none of the spec's examples, so nothing a
case sends can change it. The second account starts with the example
`current_password` of `POST /api/password`, so that example really changes
it (and its answer is checked); logging in then tries the example's
`new_password` too. The example account `ada` is registered up front with the
example password, so the login and token examples succeed as well.
"""

import itertools
import os

import requests
import schemathesis

BASE = os.environ["GROUNDUP_API_BASE"]
EXAMPLE_PASSWORD = "correct horse battery"
MAIN = ("st-main", ["main account, not an example"])
SCRATCH = ("st-scratch", [EXAMPLE_PASSWORD, "battery staple horse correct"])
EXAMPLE = ("ada", [EXAMPLE_PASSWORD])
SESSION_COOKIE = "__Host-session"
SESSION_ENDING = {"/api/logout", "/api/logout-all", "/api/password"}
BEARER_TAKING = {("POST", "/api/posts"), ("PATCH", "/api/posts/{id}"), ("DELETE", "/api/posts/{id}")}


def register(account):
    """Creates the account; one that exists already (a rerun) is fine."""
    username, passwords = account
    answer = requests.post(
        f"{BASE}/api/register", json={"username": username, "password": passwords[0]}, timeout=30
    )
    if answer.status_code not in (201, 409):
        raise RuntimeError(f"register {username}: {answer.status_code} {answer.text}")


def log_in(account):
    """A fresh session: (session id, CSRF token)."""
    username, passwords = account
    for password in passwords:
        answer = requests.post(
            f"{BASE}/api/login", json={"identifier": username, "password": password}, timeout=30
        )
        if answer.status_code != 401:
            break
    answer.raise_for_status()
    # The cookie is `Secure`, which a cookie jar would not send back over
    # plain http; it is read from the header and sent by hand instead.
    set_cookie = answer.headers["set-cookie"]
    name, _, rest = set_cookie.partition("=")
    if name != SESSION_COOKIE:
        raise RuntimeError(f"unexpected cookie: {set_cookie}")
    return rest.split(";", 1)[0], answer.json()["csrf_token"]


def bearer_token(account):
    username, passwords = account
    answer = requests.post(
        f"{BASE}/api/token", json={"identifier": username, "password": passwords[0]}, timeout=30
    )
    answer.raise_for_status()
    return answer.json()["token"]


@schemathesis.auth(refresh_interval=300)
class Accounts:
    """Fetched once per five minutes (a token lives fifteen)."""

    def __init__(self):
        self.turn = itertools.count()

    def get(self, case, context):
        for account in (MAIN, SCRATCH, EXAMPLE):
            register(account)
        session, csrf = log_in(MAIN)
        return {"session": session, "csrf": csrf, "token": bearer_token(MAIN)}

    def set(self, case, data, context):
        headers = case.headers = case.headers or {}
        cookies = case.cookies = case.cookies or {}
        path, method = case.operation.path, case.method.upper()
        if path in SESSION_ENDING:
            session, csrf = log_in(SCRATCH)
        elif (method, path) in BEARER_TAKING and next(self.turn) % 2 == 0:
            headers["Authorization"] = f"Bearer {data['token']}"
            return
        else:
            session, csrf = data["session"], data["csrf"]
        cookies[SESSION_COOKIE] = session
        headers["X-CSRF-Token"] = csrf
