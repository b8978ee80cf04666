#!/usr/bin/env python3
"""The differential test: groundup's HTTP/1.1 parser against three others.

Where two parsers read the same bytes differently (one accepts what the other
refuses, they see different fields or a different body, or they disagree on
where one request ends and the next begins), a chain of the two, a proxy in
front of a server, is a request-smuggling risk. So every case is read by
groundup's parser (examples/parse_dump.rs) and by three independent oracles:

  h11        Python, sans-IO                      tests/oracle/h11_reader.py
  node       Node's http (llhttp, strict mode)    tests/oracle/node/echo.js
  go         Go's net/http                        tests/oracle/go/echo.go

The cases are the request corpus (tests/corpus/) and a fixed-seed list of
mutated requests (tests/oracle/mutations.py), each of those followed by a
second request on the same connection, so a disagreement about framing shows
up as a different second request.

Each side's reading of a connection is a list of requests and an end (`open`:
waiting for more bytes; `closed`: a request that ends the connection;
`reject`: a refusal). Two readings are compared step by step; at the first
step where they differ the pair of verdicts (ours, theirs), such as
(reject, accept), must be listed in known-differences.toml for that oracle,
with the reason. A step where both accept a request but read it differently
can never be listed: that is a bug, on one side or the other. A listed
difference that no longer happens fails too, so the list stays true.

    python3 tests/oracle/differential.py --parse-dump PATH --go-echo PATH

needs h11 (requirements.txt), `node` on the PATH and the built Go echo server
(`go build -o PATH ./tests/oracle/go`).
"""

import argparse
import concurrent.futures
import json
import pathlib
import subprocess
import sys
import tomllib
from urllib.parse import urlsplit

import h11

HERE = pathlib.Path(__file__).resolve().parent
ORACLES = ("h11", "node", "go")
# Values whose case carries no meaning; h11 lowercases them, so all compare lowercased.
CASELESS_VALUES = {"transfer-encoding", "connection", "expect"}
# Go's Request interprets these itself: Host (`Request.Host`), and the framing
# fields, which it takes out of the header map. Their effect is compared
# through the host, the body and the next request instead.
GO_INTERPRETS = {"host", "transfer-encoding", "content-length"}

# The corpus format is read by tests/corpus/corpus.py, beside the cases, and
# neither import may leave bytecode caches in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE.parent / "corpus"))
from corpus import cases as corpus_cases  # noqa: E402
import echo_client  # noqa: E402
import h11_reader  # noqa: E402
import mutations  # noqa: E402


def all_cases():
    """(name, listing key, bytes): corpus cases listed by name, mutations by kind."""
    out = [(name, name, data) for name, data in corpus_cases(HERE.parent / "corpus")]
    out += [(name, f"mutation/{kind}", data) for name, kind, data in mutations.cases()]
    return out


def groundup_readings(parse_dump, cases):
    """Every case through examples/parse_dump.rs, in one process."""
    lines = "".join(data.hex() + "\n" for _, _, data in cases)
    run = subprocess.run([parse_dump, "--lines"], input=lines, capture_output=True,
                         text=True, check=True)
    # Split on "\n" alone: splitlines() also splits on U+0085 and U+2028,
    # which a Latin-1 byte string may hold and JSON leaves unescaped.
    return [json.loads(line) for line in run.stdout.split("\n")[:-1]]


def processed_version(version):
    """RFC 9110 §2.5: a later minor version of a major version a recipient
    speaks is processed as the highest minor version it speaks, 1.1 here;
    some oracles report the version as sent."""
    major, _, minor = version.removeprefix("HTTP/").partition(".")
    if major == "1" and minor.isdigit() and int(minor) > 1:
        return "HTTP/1.1"
    return version


def fields(pairs):
    return [[name.lower(), value.lower() if name.lower() in CASELESS_VALUES else value]
            for name, value in pairs]


def effective_host(request):
    """The host a request is for (RFC 9112 §3.2.2, §3.2.3): an absolute-form
    target's authority, CONNECT's authority-form target, else the Host field;
    what Go reports as Request.Host."""
    if request["method"] == "CONNECT":
        return request["target"]
    if "://" in request["target"]:
        return urlsplit(request["target"]).netloc
    hosts = [value for name, value in request["headers"] if name.lower() == "host"]
    return hosts[0] if hosts else ""


def view(request, oracle):
    """The parts of a request reading that `oracle` exposes, comparably."""
    common = {
        "method": request["method"],
        "target": request["target"],
        "version": processed_version(request["version"]),
        "body": request["body"],
    }
    if oracle != "go":
        return common | {"headers": fields(request["headers"]),
                         "trailers": fields(request["trailers"])}
    # Go's header map keeps the order of one name's values, not across names.
    def go_fields(pairs):
        kept = [pair for pair in fields(pairs) if pair[0] not in GO_INTERPRETS]
        return sorted(kept, key=lambda pair: pair[0])
    host = request["host"] if "host" in request else effective_host(request)
    return common | {"host": host, "headers": go_fields(request["headers"]),
                     "trailers": go_fields(request["trailers"])}


def steps(reading, oracle):
    """A reading as a list of steps: ("accept", view) per request, then the end."""
    out = [("accept", view(request, oracle)) for request in reading["requests"]]
    return out + [(reading["end"]["verdict"], None)]


def first_difference(ours, theirs, oracle):
    """None when the readings agree, else (step, our verdict, theirs, details)."""
    for step, (mine, other) in enumerate(zip(steps(ours, oracle), steps(theirs, oracle))):
        if mine == other:
            continue
        if mine[0] == other[0] == "accept":
            details = {key: (mine[1][key], other[1][key])
                       for key in mine[1] if mine[1][key] != other[1][key]}
            return step, "reading", "reading", details
        return step, mine[0], other[0], None
    return None


def describe(reading):
    end = reading["end"]
    text = f"{len(reading['requests'])} request(s), then {end['verdict']}"
    if end["verdict"] == "reject":
        text += f" {end['status']}"
        if "error" in end:
            text += f" ({end['error']})"
    return text


def read_all(oracle, cases, go_echo):
    if oracle == "h11":
        return [h11_reader.read_connection(data) for _, _, data in cases]
    command = ["node", str(HERE / "node" / "echo.js")] if oracle == "node" else [go_echo]
    server = echo_client.EchoServer(oracle, command)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=48) as pool:
            return list(pool.map(server.read_connection, [data for _, _, data in cases]))
    finally:
        server.stop()


def compare(oracle, cases, ours, theirs, listing, reasons):
    """Prints the comparison with one oracle; returns whether it passes."""
    agree, documented, failures = 0, {}, []
    seen = set()
    for (name, key, _), mine, other in zip(cases, ours, theirs):
        difference = first_difference(mine, other, oracle)
        if difference is None:
            agree += 1
            continue
        step, verdict, their_verdict, details = difference
        listed = listing.get(key)
        pair = (verdict, their_verdict)
        if details is None and listed and (listed["ours"], listed["theirs"]) == pair:
            seen.add(key)
            documented.setdefault(listed["why"], []).append(name)
            continue
        failures.append((name, step, pair, details, describe(mine), describe(other)))
    stale = sorted(set(listing) - seen)

    print(f"\n{oracle}: {len(cases)} cases")
    print(f"  agree: {agree}")
    print(f"  differ, policy: {sum(map(len, documented.values()))}")
    for why, names in sorted(documented.items()):
        print(f"    {why}: {len(names)}")
    print(f"  differ, unexplained: {len(failures)}")
    print(f"  listed but not seen: {len(stale)}")
    for name, step, pair, details, mine, other in failures:
        print(f"\n  UNEXPLAINED {name} at step {step}: ours {pair[0]}, {oracle} {pair[1]}")
        print(f"    ours:    {mine}")
        print(f"    {oracle + ':':8} {other}")
        for field, (a, b) in (details or {}).items():
            print(f"    {field}: ours {a!r} | {oracle} {b!r}")
    for key in stale:
        print(f"\n  STALE {key}: listed for {oracle}, but no case differs that way")
    unknown = {entry["why"] for entry in listing.values()} - set(reasons)
    for why in sorted(unknown):
        print(f"\n  UNKNOWN REASON {why} in the {oracle} list")
    return not failures and not stale and not unknown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parse-dump", required=True, help="the built parse_dump example")
    parser.add_argument("--go-echo", required=True, help="the built Go echo server")
    parser.add_argument("--oracle", choices=ORACLES, action="append",
                        help="only these oracles (default: all three)")
    args = parser.parse_args()

    listing = tomllib.loads((HERE / "known-differences.toml").read_text(encoding="utf-8"))
    cases = all_cases()
    ours = groundup_readings(args.parse_dump, cases)
    corpus_count = sum(1 for name, key, _ in cases if name == key)
    print(f"{len(cases)} cases: {corpus_count} from the corpus, "
          f"{len(cases) - corpus_count} mutations (seed {mutations.SEED}); h11 {h11.__version__}")
    used = {entry["why"] for oracle in ORACLES for entry in listing.get(oracle, {}).values()}
    unused = sorted(set(listing["reasons"]) - used)
    for why in unused:
        print(f"UNUSED REASON {why}: no listed difference names it")
    passed = not unused
    for oracle in args.oracle or ORACLES:
        theirs = read_all(oracle, cases, args.go_echo)
        passed &= compare(oracle, cases, ours, theirs, listing.get(oracle, {}),
                          listing["reasons"])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
