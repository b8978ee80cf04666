// An echo server on Node's `http` module, whose parser is llhttp, in its
// strict mode (the default: `insecureHTTPParser` is off). It is one of the
// oracles of tests/oracle/differential.py: every request it reads is
// answered with what it read, so the test can compare that with what
// groundup's parser reads from the same bytes.
//
//     node tests/oracle/node/echo.js      prints "listening PORT", then serves
//
// Each answer is `200` with an empty body and an `X-Echo` header holding the
// reading as base64 JSON: {method, target, version, headers, body, trailers,
// seq}. The header, not the body, so that a HEAD request's reading comes back
// too. Byte strings are Latin-1 (one code point per byte), as Node decodes
// header bytes and as the test prints everyone's readings. `seq` counts the
// requests read on the connection, 1 for the first. A request Node refuses
// gets Node's own answer (400, 431, ...) and the connection closes.

"use strict";

const http = require("node:http");

const server = http.createServer({ insecureHTTPParser: false }, (req, res) => {
  const seq = (req.socket.echoSeq = (req.socket.echoSeq || 0) + 1);
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const reading = {
      method: req.method,
      target: req.url,
      version: "HTTP/" + req.httpVersion,
      headers: pairs(req.rawHeaders),
      body: Buffer.concat(chunks).toString("latin1"),
      trailers: pairs(req.rawTrailers),
      seq,
    };
    res.writeHead(200, {
      "X-Echo": Buffer.from(JSON.stringify(reading), "utf8").toString("base64"),
      "Content-Length": "0",
    });
    res.end();
  });
});

// rawHeaders is a flat list, name, value, name, value, ...
function pairs(flat) {
  const out = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
