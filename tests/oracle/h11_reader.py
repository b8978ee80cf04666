"""h11 as an oracle: what h11, as a server, reads from one connection's bytes.

h11 is a sans-IO HTTP/1.1 implementation in Python, written apart from every
other parser here. It reads events (a request head, body data, the end of a
message) and will not start on the next request until the server has answered
this one, so after each request this reader answers it, with an empty 200, and
asks for the next cycle, exactly as a server on h11 would. (A CONNECT request
is answered 501: a 2xx would switch the connection to a tunnel.)
"""

import h11


def latin1(data):
    return data.decode("latin-1")


def pairs(headers):
    return [[latin1(name), latin1(value)] for name, value in headers]


def read_connection(data):
    """{"requests": [...], "end": {...}} in the shape of examples/parse_dump.rs."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    requests = []
    request, body = None, b""
    try:
        while True:
            event = conn.next_event()
            if event in (h11.NEED_DATA, h11.PAUSED):
                return {"requests": requests, "end": {"verdict": "open"}}
            if isinstance(event, h11.Request):
                request, body = event, b""
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                requests.append({
                    "method": latin1(request.method),
                    "target": latin1(request.target),
                    "version": "HTTP/" + latin1(request.http_version),
                    "headers": pairs(request.headers.raw_items()),
                    "body": latin1(body),
                    "trailers": pairs(event.headers.raw_items()),
                })
                status = 501 if request.method == b"CONNECT" else 200
                conn.send(h11.Response(status_code=status, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                if conn.our_state is h11.MUST_CLOSE:
                    return {"requests": requests, "end": {"verdict": "closed"}}
                conn.start_next_cycle()
    except h11.RemoteProtocolError as error:
        end = {"verdict": "reject", "status": error.error_status_hint, "error": str(error)}
        return {"requests": requests, "end": end}
