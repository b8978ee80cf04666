#!/usr/bin/env python3
"""Mutated HTTP/1.1 requests, generated from a fixed seed, for the differential test.

tests/oracle/differential.py sends every case to groundup's parser and to three
independent ones (h11, Node's llhttp, Go's net/http) and compares what each
reads from the bytes. The request corpus (tests/corpus/) holds the cases
someone thought of; this module adds many more small variations of ordinary
requests, the places where two parsers that each look correct still part ways.

    python3 tests/oracle/mutations.py            prints how many cases of each kind
    python3 tests/oracle/mutations.py OUT_DIR    also writes one file per case

How a case is made
------------------
1. A kind is drawn. Kinds come in rounds: each round holds every kind once,
   in a fresh order, so all kinds get about the same number of cases.
2. A base request is picked among those the kind can start from. There are
   ten, each an ordinary request held as parts: the request line (method,
   target, version), the field lines in order (name, colon, value, line
   end), and a body: none, a Content-Length body, or chunks (size,
   extension, data) with trailer fields. Every line carries its own line
   end, so a mutation can change any one byte sequence of the request.
3. One case in five first gets a second, harmless mutation: the case of one
   field name changed. The kind's own mutation comes after it.
4. The kind's mutation changes the parts: it inserts bytes, replaces a
   value, adds or removes a field, or changes a line end.
5. The parts are written out as bytes, and the follow-up request is added:
   `GET /follow-up HTTP/1.1`, on the same connection. A parser that reads
   the first request's framing differently sees a different second request,
   or none; the follow-up is how a desync shows.
6. A case that repeats an earlier one byte for byte is dropped, and kinds
   are drawn until there are `count` cases. No case is over 8 KiB.

A case's name is `mutation/NNNN-KIND`. differential.py's list of known
differences (known-differences.toml) names a mutation by its kind, with one
pair of verdicts per oracle, so each kind is narrow: every case of one kind
asks the parsers the same question. Bytes inserted into a request are split
by the class of byte and by where they go. Kinds with the same rule but
different answers have been split, for example a NUL in a field value
(h11 refuses it) and an ESC (h11 lets it through).

Two bases are read differently before anything is changed: h11 closes every
HTTP/1.0 connection after one response, even with `Connection: keep-alive`,
and Go's server answers `OPTIONS *` itself. On most kinds that difference
would come first and hide the mutation's. So the HTTP/1.0 base is only used
by the `version-http10` kinds, whose subject it is, and `OPTIONS *` only by
`target-form`, which gives it another method. Byte-level kinds put their
bytes only into fields that carry no framing or routing (not Host,
Content-Length, Transfer-Encoding, Connection, ...): a byte in one of those
is a question about the length or the host, and those have kinds of their own.

Determinism
-----------
The same seed gives the same list, byte for byte, on every run and machine.
Every choice comes from one `random.Random(seed)`, never from the global
`random` module. Everything that is iterated is a list or tuple, never a
dict or set whose order could change, and nothing depends on `hash()` of a
string, which changes from run to run. (One set is used, to spot repeated
cases; it is only asked whether it holds a case, never iterated.)

Kinds
-----
| kind | what it probes |
|---|---|
| `ctl-in-name` | a control byte (NUL, ESC, DEL, ...) at the start, middle or end of a field name |
| `space-in-name` | SP or HTAB between two bytes of a field name |
| `space-before-colon` | SP or HTAB between a field name and its colon (RFC 9112 §5.1: must be refused) |
| `nonascii-in-name` | a byte 0x80-0xFF in a field name |
| `separator-in-name` | a visible non-token byte in a field name: `(`, `@`, `"`, `/`, ... |
| `field-line-shape` | a field line with an empty name (`: v`), or with no colon at all |
| `obs-fold` | a field value continued on a line that starts with SP or HTAB (RFC 9112 §5.2) |
| `crlf-in-value` | CRLF inside a value, its tail starting a line of its own (not a fold) |
| `name-case` | a field name in other letter case: valid, names are case-insensitive |
| `nul-vt-ff-in-value` | NUL, VT or FF in a value: controls that C's isspace or string ends treat specially |
| `ctl-in-value` | any other control byte (0x01-0x08, 0x0E-0x1F, DEL) in a value |
| `nonascii-in-value` | bytes 0x80-0xFF in a value: valid obs-text (RFC 9110 §5.5) |
| `htab-in-value` | HTAB between two visible bytes of a value: valid |
| `ws-around-value` | SP and HTAB before or after a value: valid OWS, not part of the value |
| `bare-cr-in-value` | a CR not followed by LF inside a value (RFC 9112 §2.2) |
| `bare-cr-line-end` | a line of the head or of a chunked body ending in CR alone |
| `bare-lf-line-end` | a line of the head or of the trailer section ending in LF alone (RFC 9112 §2.2: may be accepted) |
| `bare-lf-chunk-line` | a chunk-size line, or the end of a chunk's data, ending in LF alone |
| `cl-duplicate-equal` | two or three Content-Length fields with the same value (RFC 9112 §6.3: may be collapsed or refused) |
| `cl-list-equal` | one Content-Length holding a list of equal values, `7, 7` |
| `cl-duplicate-different` | two lengths that differ, in two fields or one list: always an error |
| `cl-leading-zeros` | a Content-Length with leading zeros, `0007`: valid 1*DIGIT |
| `cl-not-digits` | a Content-Length that is not 1*DIGIT: sign, space between digits, hex, `7.0`, letters, empty |
| `cl-and-te` | Content-Length added to a chunked request (RFC 9112 §6.3: TE wins, or refuse) |
| `te-chunked-twice` | chunked applied twice: `chunked, chunked`, or in two fields |
| `te-coding-before-chunked` | another coding before chunked: `gzip, chunked`, or in two fields |
| `te-not-chunked` | a final coding that is not chunked: `identity`, `gzip`, `chunked, gzip`, `"chunked"` |
| `te-case` | `Chunked`, `CHUNKED`: valid, codings are case-insensitive |
| `te-leading-comma` | an empty list element before chunked: `, chunked` (RFC 9110 §5.6.1: valid) |
| `te-trailing-comma` | an empty list element after chunked: `chunked,` (valid too) |
| `te-ctl` | NUL or VT inside or around the Transfer-Encoding value |
| `method-unknown` | a method that is a token but not a standard one: `FOO`, `get`, 40-99 tchars |
| `method-bad-byte` | a method with a non-token byte: `G@T`, `GET/` |
| `version-http10` | HTTP/1.0 without `Connection: keep-alive`: the connection ends after it (RFC 9112 §9.3) |
| `version-http10-keep-alive` | HTTP/1.0 with `Connection: keep-alive`: the connection may persist |
| `version-later-minor` | HTTP/1.2 to HTTP/1.9: read as HTTP/1.1 (RFC 9110 §2.5) |
| `version-other-major` | HTTP/0.9, HTTP/2.0, HTTP/3.0, ...: a version that is not HTTP/1 |
| `version-malformed` | not an HTTP-version: `HTTP/1.10`, `HTTP/01.1`, `HTTP/1`, `http/1.1`, trailing SP, missing |
| `target-absolute` | an http or https absolute-form target, with a Host that matches it or not: valid |
| `target-form` | a form the method may not use: another scheme, userinfo, `*` without OPTIONS, a fragment |
| `target-authority-get` | an authority-form target (`h:80`) with a method other than CONNECT |
| `target-connect` | CONNECT with an authority-form target: valid, asks for a tunnel |
| `target-malformed` | an empty target, or SP, HTAB or a control byte inside it |
| `target-nonascii` | a byte 0x80-0xFF in the target |
| `target-path-odd` | valid but unusual paths: `//double`, `/a/../b`, `%2F`, `;params`, an empty query |
| `target-bad-percent` | a `%` in the path not followed by two hex digits: `%zz`, `%4` |
| `host-missing` | an HTTP/1.1 request without Host, or with a look-alike (`X-Host`) only (RFC 9112 §3.2: 400) |
| `host-duplicate` | two Host fields, equal or not (RFC 9112 §3.2: 400) |
| `host-valid-odd` | valid but unusual Hosts: empty, `h:`, `h:8080`, `[::1]:80`, `h.`, an IPv4 address |
| `host-bad-byte` | a byte no host holds: SP, `@`, `/`, `?`, `#`, `\\`, `<`, ... |
| `host-bad-syntax` | legal bytes, broken shape: a port that is not digits, two ports, an unclosed `[` |
| `chunk-ext-valid` | chunk extensions by the grammar: `;a`, `;a=b`, `;a="q s"`, several, up to ~1 KiB in all |
| `chunk-ext-bws` | SP or HTAB between the chunk size and `;` (BWS, RFC 9112 §7.1.1: valid) |
| `chunk-ext-empty` | an extension with an empty name or value: `;=v`, `;a=` |
| `chunk-ext-invalid` | other broken extensions: bare `;`, `;;`, `;a b`, `;@`, an unterminated quote |
| `chunk-size-leading-zeros` | a chunk size with leading zeros, `000d`: valid |
| `chunk-size-hex-case` | a chunk size in upper-case hex, `D`: valid |
| `chunk-size-prefix` | a chunk size with `0x`, `0X`, `+` or `-` in front |
| `chunk-size-trailing-ws` | SP or HTAB after a chunk size, with no extension after it |
| `chunk-size-too-large` | a chunk size larger than every byte that follows: the parser must wait |
| `ctl-in-chunk-size` | a control byte before or after a chunk size |
| `ws-in-chunk-size` | SP or HTAB before a chunk size or between its digits |
"""

import hashlib
import itertools
import pathlib
import random
import sys
from dataclasses import dataclass, field
from typing import Callable

SEED = 1616
CRLF = b"\r\n"
FOLLOW_UP = b"GET /follow-up HTTP/1.1\r\nHost: h\r\n\r\n"
MAX_CASE_BYTES = 8 * 1024
SECOND_MUTATION_RATE = 0.2
# Draws allowed per case wanted: a kind that has run out of new cases is
# drawn again and again, and the loop must still end.
DRAWS_PER_CASE = 50

# Fields that frame the body, route the request or steer the connection.
MEANINGFUL_FIELDS = (b"host", b"content-length", b"transfer-encoding", b"connection",
                     b"expect", b"trailer", b"te", b"upgrade")

# Control bytes other than HTAB, LF and CR, which have kinds of their own.
# NUL, VT and FF are apart: NUL ends a C string, and VT and FF are whitespace
# to C's isspace and to Python's \s, so parsers built on those treat them
# unlike the other controls.
NUL_VT_FF = (0x00, 0x0B, 0x0C)
OTHER_CONTROLS = (0x01, 0x02, 0x07, 0x08, 0x0E, 0x10, 0x1B, 0x1F, 0x7F)
ALL_CONTROLS = NUL_VT_FF + OTHER_CONTROLS
# Visible ASCII that a token may not hold (RFC 9110 §5.6.2), except the
# colon, which in a field name would only end the name earlier.
SEPARATORS = b'()<>@,;\\"/[]?={}'
# What a token may hold (RFC 9110 §5.6.2 tchar), for made-up methods.
TCHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
WHITESPACE = (b" ", b"\t")
HEX_DIGITS = tuple(bytes([b]) for b in b"0123456789abcdefABCDEF")


# --- A request as parts ----------------------------------------------------

@dataclass
class Field:
    """One field line: name, colon (with the whitespace after it), value, line end."""
    name: bytes
    value: bytes
    colon: bytes = b": "
    end: bytes = CRLF

    def wire(self):
        return self.name + self.colon + self.value + self.end


@dataclass
class Chunk:
    """One chunk: its size line, then its data and the data's line end
    (which the last, zero-size chunk does not have)."""
    size: bytes
    data: bytes
    extension: bytes = b""
    size_end: bytes = CRLF
    data_end: bytes = CRLF


@dataclass
class Request:
    """A request as parts; `serialize` writes it out."""
    method: bytes
    target: bytes
    version: bytes | None  # None: the request line ends after the target
    fields: list[Field]
    body: bytes = b""  # written as it is after the head, when not chunked
    chunks: list[Chunk] | None = None  # a chunked body; the last is the zero-size chunk
    trailers: list[Field] = field(default_factory=list)
    line_end: bytes = CRLF  # ends the request line
    head_end: bytes = CRLF  # the empty line that ends the head
    body_end: bytes = CRLF  # the empty line that ends a chunked body


def request_line(request):
    parts = [request.method, request.target]
    if request.version is not None:
        parts.append(request.version)
    return b" ".join(parts) + request.line_end


def chunked_body(request):
    out = bytearray()
    last = len(request.chunks) - 1
    for index, chunk in enumerate(request.chunks):
        out += chunk.size + chunk.extension + chunk.size_end
        if index != last:
            out += chunk.data + chunk.data_end
    for trailer in request.trailers:
        out += trailer.wire()
    return bytes(out + request.body_end)


def serialize(request):
    head = request_line(request) + b"".join(f.wire() for f in request.fields) + request.head_end
    body = request.body if request.chunks is None else chunked_body(request)
    return head + body


# --- The base requests -----------------------------------------------------

CHUNKED_PAYLOAD = b"hello, chunked world"


def hex_size(data):
    return format(len(data), "x").encode("ascii")


def chunks_of(pieces):
    """A chunk for each piece of data, then the zero-size last chunk."""
    return [Chunk(hex_size(piece), piece) for piece in pieces] + [Chunk(b"0", b"")]


def length_field(body):
    return Field(b"Content-Length", str(len(body)).encode("ascii"))


def get_echo():
    return Request(b"GET", b"/echo?a=1", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"User-Agent", b"mutations/1.0"),
        Field(b"Accept", b"text/plain, */*"),
    ])


def post_json():
    body = b'{"a":1}'
    return Request(b"POST", b"/echo", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"Content-Type", b"application/json"),
        length_field(body),
    ], body=body)


def post_chunked():
    return Request(b"POST", b"/echo", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"Content-Type", b"text/plain"),
        Field(b"Transfer-Encoding", b"chunked"),
    ], chunks=chunks_of([CHUNKED_PAYLOAD[:7], CHUNKED_PAYLOAD[7:]]),
        trailers=[Field(b"X-Checksum", b"c0ffee")])


def put_empty():
    return Request(b"PUT", b"/api/posts/1", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"Content-Type", b"text/plain"),
        Field(b"Content-Length", b"0"),
    ])


def head_root():
    return Request(b"HEAD", b"/", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"Accept", b"text/html"),
    ])


def delete_post():
    return Request(b"DELETE", b"/api/posts/1", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"Authorization", b"Bearer t0ken"),
    ])


def options_asterisk():
    return Request(b"OPTIONS", b"*", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"User-Agent", b"mutations/1.0"),
    ])


def get_absolute():
    return Request(b"GET", b"http://h/abs?x=1", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"Accept", b"*/*"),
    ])


def post_expect():
    body = b"name=value&x=1"
    return Request(b"POST", b"/echo", b"HTTP/1.1", [
        Field(b"Host", b"h"),
        Field(b"Content-Type", b"application/x-www-form-urlencoded"),
        Field(b"Expect", b"100-continue"),
        length_field(body),
    ], body=body)


def get_http10():
    return Request(b"GET", b"/echo", b"HTTP/1.0", [
        Field(b"Host", b"h"),
        Field(b"User-Agent", b"mutations/1.0"),
        Field(b"Connection", b"keep-alive"),
    ])


BASES = (get_echo, post_json, post_chunked, put_empty, head_root, delete_post,
         options_asterisk, get_absolute, post_expect, get_http10)


# --- Which bases a kind starts from ----------------------------------------
# "Plain" bases are the eight that every parser reads alike; the module
# docstring says why the other two are kept for the kinds about them.

def named(request, name):
    """The fields called `name` (lower case), in any case."""
    return [f for f in request.fields if f.name.lower() == name]


def is_plain(request):
    return request.version == b"HTTP/1.1" and request.target != b"*"


def is_chunked(request):
    return is_plain(request) and request.chunks is not None


def has_content_length(request):
    return is_plain(request) and bool(named(request, b"content-length"))


def is_origin_form(request):
    return is_plain(request) and request.target.startswith(b"/")


def is_bodiless_origin_form(request):
    has_body = bool(named(request, b"content-length")) or request.chunks is not None
    return is_origin_form(request) and not has_body


def is_http10_candidate(request):
    """The HTTP/1.0 base, and the plain bases HTTP/1.0 can carry (no chunks)."""
    return request.version == b"HTTP/1.0" or (is_plain(request) and request.chunks is None)


def is_target_form_candidate(request):
    return is_origin_form(request) or request.target == b"*"


# --- Helpers the mutations share -------------------------------------------

def insert(rng, text, piece, where):
    """`text` with `piece` at its start, its end, or between two of its bytes
    (at its end when it has fewer than two)."""
    if where == "start":
        return piece + text
    if where == "end" or len(text) < 2:
        return text + piece
    at = rng.randrange(1, len(text))
    return text[:at] + piece + text[at:]


def anywhere(rng):
    return rng.choice(("start", "middle", "end"))


def byte(value):
    return bytes([value])


def recase(rng, text):
    """`text` with the case of some of its letters flipped, never unchanged."""
    letters = [i for i, b in enumerate(text) if chr(b).isalpha()]
    flipped = bytearray(text)
    for i in rng.sample(letters, rng.randrange(1, len(letters) + 1)):
        flipped[i] ^= 0x20  # ASCII upper and lower case differ in this one bit
    return bytes(flipped)


def random_whitespace(rng):
    return b"".join(rng.choice(WHITESPACE) for _ in range(rng.randrange(1, 4)))


def ordinary_field(rng, request):
    """A field with no framing or routing meaning, to put bytes into (every
    base has one: User-Agent, Accept, Content-Type or Authorization)."""
    return rng.choice([f for f in request.fields if f.name.lower() not in MEANINGFUL_FIELDS])


def add_field(rng, request, new):
    request.fields.insert(rng.randrange(len(request.fields) + 1), new)


def content_length(request):
    return named(request, b"content-length")[0]


def transfer_encoding(request):
    return named(request, b"transfer-encoding")[0]


def host_field(request):
    return named(request, b"host")[0]


def set_length_body(request, body):
    request.body = body
    content_length(request).value = str(len(body)).encode("ascii")


def rechunk(rng, request, first_size=None):
    """Splits the chunked payload into one to three chunks at random, so the
    chunk kinds meet many sizes; `first_size` fixes the first chunk's size."""
    cuts = sorted(rng.sample(range(1, len(CHUNKED_PAYLOAD)), rng.randrange(0, 3)))
    if first_size is not None:
        cuts = [first_size] + [cut for cut in cuts if cut > first_size]
    edges = [0] + cuts + [len(CHUNKED_PAYLOAD)]
    request.chunks = chunks_of([CHUNKED_PAYLOAD[a:b] for a, b in zip(edges, edges[1:])])


def data_chunks(request):
    """The chunks that carry data: all but the zero-size last one."""
    return request.chunks[:-1]


def origin_part(target):
    """The path and query of a target, in origin-form or absolute-form."""
    if b"://" not in target:
        return target
    rest = target.split(b"://", 1)[1]
    slash = rest.find(b"/")
    return b"/" if slash < 0 else rest[slash:]


def path_end(target):
    """Where the path of an origin-form target ends: at the query, if any."""
    query = target.find(b"?")
    return len(target) if query < 0 else query


# --- The mutations, one function per kind ----------------------------------
# Each changes `request` in place; `rng` makes every choice.

# Field lines

def ctl_in_name(rng, request):
    target = ordinary_field(rng, request)
    target.name = insert(rng, target.name, byte(rng.choice(ALL_CONTROLS)), anywhere(rng))


def space_in_name(rng, request):
    target = ordinary_field(rng, request)
    target.name = insert(rng, target.name, rng.choice(WHITESPACE), "middle")


def space_before_colon(rng, request):
    target = ordinary_field(rng, request)
    target.colon = random_whitespace(rng) + target.colon


def nonascii_in_name(rng, request):
    target = ordinary_field(rng, request)
    target.name = insert(rng, target.name, byte(rng.randrange(0x80, 0x100)), anywhere(rng))


def separator_in_name(rng, request):
    target = ordinary_field(rng, request)
    target.name = insert(rng, target.name, byte(rng.choice(SEPARATORS)), anywhere(rng))


def field_line_shape(rng, request):
    shape = rng.choice(("empty-name", "new-empty-name", "no-colon"))
    if shape == "empty-name":
        ordinary_field(rng, request).name = b""
    elif shape == "new-empty-name":
        add_field(rng, request, Field(b"", rng.choice((b"v", b"value", b"x=1"))))
    else:
        ordinary_field(rng, request).colon = rng.choice((b" ", b"", b"\t"))


def obs_fold(rng, request):
    target = ordinary_field(rng, request)
    fold = CRLF + rng.choice((b" ", b"\t", b"  "))
    if rng.random() < 0.5:
        target.value = insert(rng, target.value, fold, "middle")
    else:
        target.value += fold + rng.choice((b"continued", b"more", b"x"))


def crlf_in_value(rng, request):
    # The byte after the CRLF must not be whitespace: that would be obs-fold.
    target = ordinary_field(rng, request)
    cuts = [i for i in range(1, len(target.value)) if target.value[i:i + 1] not in WHITESPACE]
    at = rng.choice(cuts)
    target.value = target.value[:at] + CRLF + target.value[at:]


def name_case(rng, request):
    target = rng.choice(request.fields)
    target.name = recase(rng, target.name)


# Field values

def nul_vt_ff_in_value(rng, request):
    target = ordinary_field(rng, request)
    target.value = insert(rng, target.value, byte(rng.choice(NUL_VT_FF)), anywhere(rng))


def ctl_in_value(rng, request):
    target = ordinary_field(rng, request)
    target.value = insert(rng, target.value, byte(rng.choice(OTHER_CONTROLS)), anywhere(rng))


def nonascii_in_value(rng, request):
    target = ordinary_field(rng, request)
    piece = rng.choice((
        byte(rng.randrange(0x80, 0x100)),
        "é".encode("utf-8"),
        "€".encode("utf-8"),
        bytes(rng.randrange(0x80, 0x100) for _ in range(3)),
    ))
    target.value = insert(rng, target.value, piece, anywhere(rng))


def htab_in_value(rng, request):
    target = ordinary_field(rng, request)
    target.value = insert(rng, target.value, rng.choice((b"\t", b"\t\t", b" \t")), "middle")


def ws_around_value(rng, request):
    target = ordinary_field(rng, request)
    side = rng.choice(("leading", "trailing", "both"))
    if side != "trailing":
        target.value = random_whitespace(rng) + target.value
    if side != "leading":
        target.value = target.value + random_whitespace(rng)


# Line ends

# A line end is named by the part that holds it and the attribute it is in.

def head_line_ends(request):
    """The line ends of the head: the request line's, each field's, and the
    empty line's."""
    return [(request, "line_end"), (request, "head_end")] + [(f, "end") for f in request.fields]


def trailer_line_ends(request):
    """The line ends of a chunked body's trailer section, its empty last line included."""
    return [(request, "body_end")] + [(f, "end") for f in request.trailers]


def chunk_line_ends(request):
    """The line ends of each chunk-size line and of each chunk's data."""
    sizes = [(chunk, "size_end") for chunk in request.chunks]
    return sizes + [(chunk, "data_end") for chunk in data_chunks(request)]


def set_one_line_end(rng, places, end):
    owner, attribute = rng.choice(places)
    setattr(owner, attribute, end)


def bare_cr_in_value(rng, request):
    target = ordinary_field(rng, request)
    target.value = insert(rng, target.value, b"\r", "middle")


def bare_cr_line_end(rng, request):
    places = head_line_ends(request)
    if request.chunks is not None:
        rechunk(rng, request)
        places += chunk_line_ends(request) + trailer_line_ends(request)
    set_one_line_end(rng, places, b"\r")


def bare_lf_line_end(rng, request):
    # The trailer section is read as a head is, so its lines are here too.
    places = head_line_ends(request)
    if request.chunks is not None:
        places += trailer_line_ends(request)
    set_one_line_end(rng, places, b"\n")


def bare_lf_chunk_line(rng, request):
    rechunk(rng, request)
    set_one_line_end(rng, chunk_line_ends(request), b"\n")


# Content-Length

def other_length(rng, request):
    """A length close to the body's, but not the body's."""
    length = len(request.body)
    return rng.choice([n for n in range(max(0, length - 3), length + 4) if n != length])


def length_list(rng, lengths):
    separator = rng.choice((b", ", b",", b" , ", b",\t"))
    return separator.join(str(n).encode("ascii") for n in lengths)


def cl_duplicate_equal(rng, request):
    for _ in range(rng.randrange(1, 3)):
        add_field(rng, request, Field(b"Content-Length", content_length(request).value))


def cl_list_equal(rng, request):
    copies = rng.randrange(2, 4)
    content_length(request).value = length_list(rng, [len(request.body)] * copies)


def cl_duplicate_different(rng, request):
    other = other_length(rng, request)
    if rng.random() < 0.5:
        add_field(rng, request, Field(b"Content-Length", str(other).encode("ascii")))
        return
    lengths = [len(request.body), other]
    rng.shuffle(lengths)
    content_length(request).value = length_list(rng, lengths)


def cl_leading_zeros(rng, request):
    # At most 8 zeros: h11 refuses lengths of more than 20 digits, a limit
    # that is a different question from whether zeros may lead.
    target = content_length(request)
    target.value = b"0" * rng.randrange(1, 9) + target.value


def space_between_digits(rng, request):
    # Only a length of ten or more has two digits to put a space between.
    # Spaces after a JSON or form body leave it the same kind of body.
    if len(request.body) < 10:
        set_length_body(request, request.body + b" " * rng.randrange(10 - len(request.body), 15))
    return insert(rng, content_length(request).value, rng.choice((b" ", b"  ", b"\t")), "middle")


def cl_not_digits(rng, request):
    length = str(len(request.body)).encode("ascii")
    shape = rng.choice(("sign", "space", "other"))
    if shape == "sign":
        value = rng.choice((b"+", b"-")) + length
    elif shape == "space":
        value = space_between_digits(rng, request)
    else:
        value = rng.choice((b"0x" + format(len(request.body), "x").encode("ascii"),
                            length + b".0", length + b"a", b"a" + length, b"seven",
                            "٧".encode("utf-8"), b""))
    content_length(request).value = value


def cl_and_te(rng, request):
    rechunk(rng, request)
    body = chunked_body(request)
    length = rng.choice((0, len(body), rng.randrange(1, len(body))))
    add_field(rng, request, Field(b"Content-Length", str(length).encode("ascii")))


# Transfer-Encoding

# Every Transfer-Encoding kind also splits the body afresh: that only adds
# variety, as the question is the field's.

def set_codings(rng, request, codings):
    """Transfer-Encoding `codings`: in one list, or one field for each."""
    te = transfer_encoding(request)
    if rng.random() < 0.5:
        te.value = rng.choice((b", ", b",")).join(codings)
        return
    te.value = codings[0]
    at = request.fields.index(te)
    for offset, coding in enumerate(codings[1:], start=1):
        request.fields.insert(at + offset, Field(te.name, coding))


def te_chunked_twice(rng, request):
    rechunk(rng, request)
    set_codings(rng, request, [b"chunked", b"chunked"])


def te_coding_before_chunked(rng, request):
    rechunk(rng, request)
    first = rng.choice((b"gzip", b"deflate", b"compress", b"identity", b"x-custom"))
    set_codings(rng, request, [first, b"chunked"])


def te_not_chunked(rng, request):
    rechunk(rng, request)
    if rng.random() < 0.3:
        set_codings(rng, request, [b"chunked", rng.choice((b"gzip", b"deflate", b"identity"))])
        return
    transfer_encoding(request).value = rng.choice(
        (b"identity", b"gzip", b"x-custom", b"chunkedx", b"xchunked", b"chunk", b"chunked-x",
         b'"chunked"', b'"Chunked"'))


def te_case(rng, request):
    rechunk(rng, request)
    transfer_encoding(request).value = recase(rng, b"chunked")


def te_leading_comma(rng, request):
    rechunk(rng, request)
    transfer_encoding(request).value = rng.choice(
        (b", chunked", b",chunked", b" ,chunked", b",,chunked", b", , chunked"))


def te_trailing_comma(rng, request):
    rechunk(rng, request)
    transfer_encoding(request).value = rng.choice(
        (b"chunked,", b"chunked, ", b"chunked, ,", b"chunked,,", b"chunked ,"))


def te_ctl(rng, request):
    rechunk(rng, request)
    te = transfer_encoding(request)
    te.value = insert(rng, te.value, rng.choice((b"\x00", b"\x0b")), anywhere(rng))


# The method

def method_unknown(rng, request):
    # No PURGE or MKCOL: llhttp knows those from WebDAV and caches, which is
    # another question than whether it reads a token it does not know.
    long_token = bytes(rng.choice(TCHARS) for _ in range(rng.randrange(40, 100)))
    request.method = rng.choice((b"FOO", b"BREW", b"X-METHOD", b"M!#", long_token,
                                 recase(rng, request.method)))


def method_bad_byte(rng, request):
    request.method = insert(rng, request.method, byte(rng.choice(SEPARATORS)), anywhere(rng))


# The version

def version_http10(rng, request):
    request.version = b"HTTP/1.0"
    for connection in named(request, b"connection"):
        request.fields.remove(connection)


def version_http10_keep_alive(rng, request):
    request.version = b"HTTP/1.0"
    if not named(request, b"connection"):
        add_field(rng, request, Field(b"Connection", rng.choice((b"keep-alive", b"Keep-Alive"))))


def version_later_minor(rng, request):
    request.version = b"HTTP/1." + str(rng.randrange(2, 10)).encode("ascii")


def version_other_major(rng, request):
    request.version = rng.choice((b"HTTP/0.9", b"HTTP/2.0", b"HTTP/3.0", b"HTTP/9.1", b"HTTP/2.1"))


def version_malformed(rng, request):
    request.version = rng.choice((b"HTTP/1.10", b"HTTP/01.1", b"HTTP/1", b"HTTP/1.1 ",
                                  b"HTTP/ 1.1", None, b"HTTP/1.1.1", b"HTTP/11", b"HTTP1.1",
                                  b"HTTP/1.x", recase(rng, b"HTTP") + b"/1.1"))


# The target

def target_absolute(rng, request):
    scheme = rng.choice((b"http", b"https", b"HTTP"))
    authority = rng.choice((b"h", b"h:80", b"H"))
    request.target = scheme + b"://" + authority + origin_part(request.target)
    if rng.random() < 0.4:
        # The target's authority wins over Host (RFC 9112 §3.2.2).
        host_field(request).value = rng.choice((b"other", b"h:81", b"other:80", b"x.example"))


def target_form(rng, request):
    if request.target == b"*":
        request.method = rng.choice((b"GET", b"HEAD", b"DELETE", b"POST"))
        return
    form = rng.choice(("scheme", "userinfo", "asterisk", "fragment"))
    if form == "scheme":
        scheme = rng.choice((b"ftp", b"ws", b"file", b"gopher", b"htt"))
        request.target = scheme + b"://h" + request.target
    elif form == "userinfo":
        userinfo = rng.choice((b"u@", b"u:p@", b"user:secret@", b"@"))
        request.target = b"http://" + userinfo + b"h" + request.target
    elif form == "asterisk":
        request.target = b"*"
    else:
        request.target += rng.choice((b"#f", b"#", b"#frag?x=1", b"#/a"))


def target_authority_get(rng, request):
    # Named hosts only: Go reads `h:80` as a URI with scheme `h`, but refuses
    # `127.0.0.1:80`, which cannot be a scheme; that is Go's URL parser, not
    # the question asked here.
    request.target = rng.choice((b"h:80", b"h:443", b"h:8080", b"example.com:80", b"a.b:1"))


def target_connect(rng, request):
    # Host names the same authority, as clients send it.
    authority = rng.choice((b"h:80", b"h:443", b"h:8080", b"example.com:443", b"127.0.0.1:80"))
    request.method = b"CONNECT"
    request.target = authority
    host_field(request).value = authority


def target_malformed(rng, request):
    # A SP only between two bytes of the target: one at its end would be a
    # second SP before the version, which llhttp allows, another question.
    shapes = ["empty", "tab", "control"]
    if len(request.target) > 1:
        shapes.append("space")
    shape = rng.choice(shapes)
    if shape == "empty":
        request.target = b""
    elif shape == "space":
        request.target = insert(rng, request.target, b" ", "middle")
    elif shape == "tab":
        request.target = insert(rng, request.target, b"\t", rng.choice(("middle", "end")))
    else:
        control = byte(rng.choice(ALL_CONTROLS))
        request.target = insert(rng, request.target, control, rng.choice(("middle", "end")))


def target_nonascii(rng, request):
    value = byte(rng.randrange(0x80, 0x100))
    request.target = insert(rng, request.target, value, rng.choice(("middle", "end")))


def target_path_odd(rng, request):
    request.target = rng.choice((b"//double", b"/a/../echo", b"/%2e%2e/echo", b"/echo%20x",
                                 b"/%41", b"/echo;p=1", b"/echo?", b"/echo?a=1&a=2", b"/~user",
                                 b"/echo?q=a/b?c", b"/%2F", b"/a//b", b"/./echo"))


def target_bad_percent(rng, request):
    # In the path: Go checks the escapes of a path but not of a query. Never
    # before a hex digit, which could complete `%4` into a valid `%4c`.
    bad = rng.choice((b"%zz", b"%", b"%4", b"%g0", b"%%"))
    path = request.target[:path_end(request.target)]
    query = request.target[len(path):]
    places = [i for i in range(1, len(path) + 1) if path[i:i + 1] not in HEX_DIGITS]
    at = rng.choice(places)
    request.target = path[:at] + bad + path[at:] + query


# Host

def host_missing(rng, request):
    host = host_field(request)
    if rng.random() < 0.5:
        request.fields.remove(host)
    else:
        # A field that only looks like Host is no Host.
        host.name = rng.choice((b"X-Host", b"Hosts", b"Host-Name", b"Ho-st", b"HTTP-Host"))


def host_duplicate(rng, request):
    add_field(rng, request, Field(b"Host", rng.choice((b"h", b"other", b"h:80", b"H"))))


def host_valid_odd(rng, request):
    target = host_field(request)
    target.value = rng.choice((b"", b"h:80", b"h:8080", b"h:", b"[::1]:80", b"[::1]",
                               b"127.0.0.1", b"127.0.0.1:80", b"h.", b"h.:80", b"H",
                               b"a-b.example", b"h:0"))
    if target.value == b"":
        target.colon = rng.choice((b":", b": "))


def host_bad_byte(rng, request):
    host_field(request).value = rng.choice((b"h h", b"user@h", b"h/p", b"h?x", b"h#x", b"h\\x",
                                            b"h<x", b"h{x", b"h|x", b'h"x', b"h^x"))


def host_bad_syntax(rng, request):
    host_field(request).value = rng.choice((b"h:x", b"h:80x", b"h:-1", b"h:80:80", b"[::1",
                                            b"a[b]", b"[::1]x", b"h:+80"))


# Chunk extensions

def valid_extension(rng):
    name = rng.choice((b"a", b"name", b"x-ext", b"n1", b"ext!"))
    value = rng.choice((None, b"b", b"1", b"token-value", b'"quoted value"', b'"a;b\\"c"', b'""'))
    return b";" + name if value is None else b";" + name + b"=" + value


def long_extension(rng):
    # Long, but under the 1 KiB a line's extensions may hold here (a limit
    # that is a question of its own, CVE-2023-39326).
    if rng.random() < 0.5:
        return b";x" * rng.randrange(100, 450)
    return b";a=" + b"v" * rng.randrange(300, 950)


def chunk_ext_valid(rng, request):
    rechunk(rng, request)
    chunk = rng.choice(request.chunks)
    if rng.random() < 0.2:
        chunk.extension = long_extension(rng)
    else:
        chunk.extension = b"".join(valid_extension(rng) for _ in range(rng.randrange(1, 4)))


def chunk_ext_bws(rng, request):
    rechunk(rng, request)
    rng.choice(request.chunks).extension = random_whitespace(rng) + valid_extension(rng)


def chunk_ext_empty(rng, request):
    rechunk(rng, request)
    rng.choice(request.chunks).extension = rng.choice(
        (b";=v", b";a=", b";=", b";a=1;b=", b";=x;a=1"))


def chunk_ext_invalid(rng, request):
    rechunk(rng, request)
    rng.choice(request.chunks).extension = rng.choice(
        (b";", b";;", b";a=b;", b";a b", b";@", b";a=@", b";a=b c", b';a="unterminated'))


# Chunk sizes

def chunk_size_leading_zeros(rng, request):
    # Six zeros at most: past 16 digits a size is a question of limits.
    rechunk(rng, request)
    chunk = rng.choice(request.chunks)
    chunk.size = b"0" * rng.randrange(1, 7) + chunk.size


def chunk_size_hex_case(rng, request):
    # A first chunk of 10 to 15 bytes has a size that is a hex letter.
    rechunk(rng, request, first_size=rng.randrange(10, 16))
    for chunk in request.chunks:
        chunk.size = chunk.size.upper()


def chunk_size_prefix(rng, request):
    rechunk(rng, request)
    chunk = rng.choice(request.chunks)
    chunk.size = rng.choice((b"0x", b"0X", b"+", b"-")) + chunk.size


def chunk_size_trailing_ws(rng, request):
    rechunk(rng, request)
    rng.choice(request.chunks).size += random_whitespace(rng)


def chunk_size_too_large(rng, request):
    # Larger than all the bytes after it, the follow-up included, so that no
    # parser can find the chunk's end: each must wait for more.
    rechunk(rng, request)
    chunk = rng.choice(data_chunks(request))
    length = len(chunked_body(request)) + len(FOLLOW_UP) + rng.randrange(1, 4096)
    chunk.size = format(length, "x").encode("ascii")


def ctl_in_chunk_size(rng, request):
    rechunk(rng, request)
    chunk = rng.choice(request.chunks)
    control = byte(rng.choice(ALL_CONTROLS))
    chunk.size = insert(rng, chunk.size, control, rng.choice(("start", "end")))


def ws_in_chunk_size(rng, request):
    # A first chunk of 16 bytes or more has a two-digit size, with a place
    # between its digits.
    rechunk(rng, request, first_size=rng.randrange(16, len(CHUNKED_PAYLOAD)))
    chunk = rng.choice(request.chunks)
    where = "middle" if len(chunk.size) > 1 and rng.random() < 0.5 else "start"
    chunk.size = insert(rng, chunk.size, rng.choice(WHITESPACE), where)


# --- The kinds -------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    name: str
    fits: Callable[[Request], bool]  # which base requests it can start from
    mutate: Callable[[random.Random, Request], None]


KINDS = (
    Kind("ctl-in-name", is_plain, ctl_in_name),
    Kind("space-in-name", is_plain, space_in_name),
    Kind("space-before-colon", is_plain, space_before_colon),
    Kind("nonascii-in-name", is_plain, nonascii_in_name),
    Kind("separator-in-name", is_plain, separator_in_name),
    Kind("field-line-shape", is_plain, field_line_shape),
    Kind("obs-fold", is_plain, obs_fold),
    Kind("crlf-in-value", is_plain, crlf_in_value),
    Kind("name-case", is_plain, name_case),
    Kind("nul-vt-ff-in-value", is_plain, nul_vt_ff_in_value),
    Kind("ctl-in-value", is_plain, ctl_in_value),
    Kind("nonascii-in-value", is_plain, nonascii_in_value),
    Kind("htab-in-value", is_plain, htab_in_value),
    Kind("ws-around-value", is_plain, ws_around_value),
    Kind("bare-cr-in-value", is_plain, bare_cr_in_value),
    Kind("bare-cr-line-end", is_plain, bare_cr_line_end),
    Kind("bare-lf-line-end", is_plain, bare_lf_line_end),
    Kind("bare-lf-chunk-line", is_chunked, bare_lf_chunk_line),
    Kind("cl-duplicate-equal", has_content_length, cl_duplicate_equal),
    Kind("cl-list-equal", has_content_length, cl_list_equal),
    Kind("cl-duplicate-different", has_content_length, cl_duplicate_different),
    Kind("cl-leading-zeros", has_content_length, cl_leading_zeros),
    Kind("cl-not-digits", has_content_length, cl_not_digits),
    Kind("cl-and-te", is_chunked, cl_and_te),
    Kind("te-chunked-twice", is_chunked, te_chunked_twice),
    Kind("te-coding-before-chunked", is_chunked, te_coding_before_chunked),
    Kind("te-not-chunked", is_chunked, te_not_chunked),
    Kind("te-case", is_chunked, te_case),
    Kind("te-leading-comma", is_chunked, te_leading_comma),
    Kind("te-trailing-comma", is_chunked, te_trailing_comma),
    Kind("te-ctl", is_chunked, te_ctl),
    Kind("method-unknown", is_origin_form, method_unknown),
    Kind("method-bad-byte", is_origin_form, method_bad_byte),
    Kind("version-http10", is_http10_candidate, version_http10),
    Kind("version-http10-keep-alive", is_http10_candidate, version_http10_keep_alive),
    Kind("version-later-minor", is_plain, version_later_minor),
    Kind("version-other-major", is_plain, version_other_major),
    Kind("version-malformed", is_plain, version_malformed),
    Kind("target-absolute", is_plain, target_absolute),
    Kind("target-form", is_target_form_candidate, target_form),
    Kind("target-authority-get", is_origin_form, target_authority_get),
    Kind("target-connect", is_bodiless_origin_form, target_connect),
    Kind("target-malformed", is_origin_form, target_malformed),
    Kind("target-nonascii", is_origin_form, target_nonascii),
    Kind("target-path-odd", is_origin_form, target_path_odd),
    Kind("target-bad-percent", is_origin_form, target_bad_percent),
    Kind("host-missing", is_origin_form, host_missing),
    Kind("host-duplicate", is_origin_form, host_duplicate),
    Kind("host-valid-odd", is_origin_form, host_valid_odd),
    Kind("host-bad-byte", is_origin_form, host_bad_byte),
    Kind("host-bad-syntax", is_origin_form, host_bad_syntax),
    Kind("chunk-ext-valid", is_chunked, chunk_ext_valid),
    Kind("chunk-ext-bws", is_chunked, chunk_ext_bws),
    Kind("chunk-ext-empty", is_chunked, chunk_ext_empty),
    Kind("chunk-ext-invalid", is_chunked, chunk_ext_invalid),
    Kind("chunk-size-leading-zeros", is_chunked, chunk_size_leading_zeros),
    Kind("chunk-size-hex-case", is_chunked, chunk_size_hex_case),
    Kind("chunk-size-prefix", is_chunked, chunk_size_prefix),
    Kind("chunk-size-trailing-ws", is_chunked, chunk_size_trailing_ws),
    Kind("chunk-size-too-large", is_chunked, chunk_size_too_large),
    Kind("ctl-in-chunk-size", is_chunked, ctl_in_chunk_size),
    Kind("ws-in-chunk-size", is_chunked, ws_in_chunk_size),
)


# --- Drawing the cases -----------------------------------------------------

def kind_rounds(rng):
    """Kinds to draw, without end: every kind once a round, in a new order
    each round, so the kinds get even shares."""
    while True:
        order = list(KINDS)
        rng.shuffle(order)
        yield from order


def draw(rng, kind):
    """One case of `kind`, as bytes."""
    request = rng.choice([base for base in (make() for make in BASES) if kind.fits(base)])
    if rng.random() < SECOND_MUTATION_RATE:
        name_case(rng, request)
    kind.mutate(rng, request)
    data = serialize(request) + FOLLOW_UP
    if len(data) > MAX_CASE_BYTES:
        # Past the limits of a head, a case asks about the limits instead.
        raise ValueError(f"a {kind.name} case of {len(data)} bytes, over {MAX_CASE_BYTES}")
    return data


def cases(seed=SEED, count=1200):
    """(name, kind, data) for `count` distinct cases, the same list for the same seed."""
    rng = random.Random(seed)
    out = []
    seen = set()
    for kind in itertools.islice(kind_rounds(rng), count * DRAWS_PER_CASE):
        if len(out) == count:
            break
        data = draw(rng, kind)
        if data in seen:
            continue
        seen.add(data)
        out.append((f"mutation/{len(out):04d}-{kind.name}", kind.name, data))
    return out


def undocumented_kinds():
    """Kinds missing from the table in the module docstring, which is where
    a reader learns what each one probes."""
    return [kind.name for kind in KINDS if f"| `{kind.name}` |" not in __doc__]


def main():
    missing = undocumented_kinds()
    if missing:
        sys.exit(f"kinds missing from the docstring's table: {', '.join(missing)}")
    all_cases = cases()
    digest = hashlib.sha256(b"".join(data for _, _, data in all_cases)).hexdigest()
    print(f"{len(all_cases)} cases of {len(KINDS)} kinds (seed {SEED}), sha256 {digest}")
    for kind in KINDS:
        count = sum(1 for _, name, _ in all_cases if name == kind.name)
        print(f"  {kind.name:26} {count}")
    if len(sys.argv) > 1:
        out = pathlib.Path(sys.argv[1])
        out.mkdir(parents=True, exist_ok=True)
        for name, _, data in all_cases:
            (out / name.replace("/", "-")).write_bytes(data)
        print(f"written to {out}")


if __name__ == "__main__":
    main()
