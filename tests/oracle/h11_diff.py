#!/usr/bin/env python3
"""Differential oracle: every corpus case through h11 and through groundup's parser.

h11 is an independent, carefully written sans-IO HTTP/1.1 implementation in
Python. Where two parsers disagree about a request (one accepts what the other
refuses, or they read different headers or a different body), a chain of the
two is a smuggling risk, so every disagreement is either a bug to fix or a
deliberate choice, listed with its reason in known-differences.toml.

    python3 tests/oracle/h11_diff.py PARSE_DUMP [CORPUS_DIR]

PARSE_DUMP is the built `parse_dump` example (see examples/parse_dump.rs).
The script prints a report and exits non-zero when a disagreement is not
listed, or when a listed one no longer happens (so the list stays true).
"""

import json
import pathlib
import re
import subprocess
import sys
import tomllib

import h11

HERE = pathlib.Path(__file__).resolve().parent
CASELESS_VALUES = {"transfer-encoding", "connection", "expect"}

# The corpus format is read by tests/corpus/corpus.py, beside the cases;
# importing it must leave no bytecode cache in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE.parent / "corpus"))
from corpus import cases as corpus_cases


def latin1(data):
    return data.decode("latin-1")


def h11_verdict(data):
    """What h11, as a server, makes of the bytes: the first request only."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    request = None
    body = b""
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                return {"verdict": "incomplete"}
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return {
                    "verdict": "accept",
                    "method": latin1(request.method),
                    "target": latin1(request.target),
                    "version": "HTTP/" + latin1(request.http_version),
                    "headers": [[latin1(n), latin1(v)] for n, v in request.headers.raw_items()],
                    "body": latin1(body),
                    "trailers": [[latin1(n), latin1(v)] for n, v in event.headers.raw_items()],
                }
    except h11.RemoteProtocolError as error:
        return {"verdict": "reject", "status": error.error_status_hint, "error": str(error)}


def ours(parse_dump, data):
    run = subprocess.run([parse_dump], input=data, capture_output=True, check=True)
    return json.loads(run.stdout)


def normalized(verdict):
    """The parts both sides must agree on; field names compare case-insensitively."""
    if verdict["verdict"] != "accept":
        return {"verdict": verdict["verdict"]}
    def fields(pairs):
        # h11 lowercases the values of the fields it interprets itself;
        # their case carries no meaning, so compare them lowercased.
        return [
            [name.lower(), value.lower() if name.lower() in CASELESS_VALUES else value]
            for name, value in pairs
        ]

    return {
        "verdict": "accept",
        "method": verdict["method"],
        "target": verdict["target"],
        "version": processed_version(verdict["version"]),
        "headers": fields(verdict["headers"]),
        "body": verdict["body"],
        "trailers": fields(verdict["trailers"]),
    }


def processed_version(version):
    """The version a request is processed as. RFC 9110 §2.5: a recipient reads
    a later minor version of a major version it speaks as the highest minor
    version it speaks, 1.1 here, and h11 reports the version as sent."""
    major, _, minor = version.removeprefix("HTTP/").partition(".")
    if major == "1" and minor.isdigit() and int(minor) > 1:
        return "HTTP/1.1"
    return version


def describe(verdict):
    if verdict["verdict"] == "reject":
        return f"reject {verdict['status']} ({verdict['error']})"
    return verdict["verdict"]


def main():
    parse_dump = sys.argv[1]
    corpus = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else HERE.parent / "corpus"
    listing = tomllib.loads((HERE / "known-differences.toml").read_text(encoding="utf-8"))
    reasons, known = listing["reasons"], listing["differences"]

    agree, documented, undocumented, stale = [], [], [], []
    for name, data in corpus_cases(corpus):
        mine, theirs = ours(parse_dump, data), h11_verdict(data)
        same = normalized(mine) == normalized(theirs)
        listed = known.get(name)
        if same:
            agree.append(name)
            if listed:
                stale.append(name)
            continue
        pair = (mine["verdict"], theirs["verdict"])
        entry = (name, describe(mine), describe(theirs), normalized(mine), normalized(theirs))
        if listed and (listed["ours"], listed["h11"]) == pair:
            documented.append((entry, reasons[listed["why"]]))
        else:
            undocumented.append(entry)
    for name in known:
        if not (corpus / f"{name}.http").exists():
            stale.append(name)

    total = len(agree) + len(documented) + len(undocumented)
    print(f"h11 {h11.__version__} vs groundup on {total} corpus cases:")
    print(f"  agree: {len(agree)}")
    print(f"  differ, documented: {len(documented)}")
    print(f"  differ, undocumented: {len(undocumented)}")
    print(f"  documented but no longer differing: {len(stale)}")
    if documented:
        print("\nDocumented differences, by reason:")
        by_reason = {}
        for (name, mine, theirs, _, _), reason in documented:
            by_reason.setdefault(reason, []).append(f"{name}: ours {mine} | h11 {theirs}")
        for reason, cases in by_reason.items():
            print(f"\n  {reason}")
            for line in cases:
                print(f"    {line}")
    for name, mine, theirs, mine_full, theirs_full in undocumented:
        print(f"\nUNDOCUMENTED {name}:\n  ours: {mine}\n  h11:  {theirs}")
        if mine_full["verdict"] == theirs_full["verdict"] == "accept":
            for key in mine_full:
                if mine_full[key] != theirs_full[key]:
                    print(f"  {key}: ours {mine_full[key]!r} | h11 {theirs_full[key]!r}")
    for name in stale:
        print(f"\nSTALE {name}: listed in known-differences.toml, but the two agree (or the case is gone)")
    return 1 if undocumented or stale else 0


if __name__ == "__main__":
    sys.exit(main())
