#!/usr/bin/env python3
"""The corpus file format (see README.md here), read from Python.

tests/oracle/differential.py imports it to feed the cases to the parser
oracles, and .ci/fuzz runs it to turn every case into a raw seed for the
parse_request fuzz target, so the fuzzer starts from every smuggling shape
the corpus knows:

    python3 tests/corpus/corpus.py OUT_DIR

writes one file per case, named after it (`chunked/simple` becomes
`corpus-chunked-simple`), holding exactly the bytes the case sends.
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ESCAPES = {"r": b"\r", "n": b"\n", "t": b"\t", "v": b"\x0b", "f": b"\x0c", "0": b"\x00", "\\": b"\\"}


def unescape(text):
    """The escaped request text of a case, as the bytes it stands for."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode("ascii")
            i += 1
            continue
        kind = text[i + 1]
        if kind in ESCAPES:
            out += ESCAPES[kind]
            i += 2
        elif kind == "x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        elif kind == "[":
            close = text.index("]", i)
            out += text[close + 1].encode("ascii") * int(text[i + 2 : close])
            i = close + 2
        else:
            raise ValueError(f"unknown escape \\{kind}")
    return bytes(out)


def load_case(path):
    """The request bytes of one case file: every line after the `#` block."""
    request = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if request or not line.startswith("#"):
            request.append(line)
    return unescape("".join(request))


def cases(corpus=HERE):
    """(name, bytes) for every case under `corpus`, sorted by name."""
    for path in sorted(corpus.rglob("*.http")):
        yield str(path.relative_to(corpus).with_suffix("")), load_case(path)


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, data in cases():
        (out / ("corpus-" + name.replace("/", "-"))).write_bytes(data)
        count += 1
    print(f"{count} corpus cases written to {out}")


if __name__ == "__main__":
    main()
