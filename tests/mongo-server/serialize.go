package main

// Why this proxy exists: FerretDB v1's SQLite backend runs an update as
// "query the documents, apply the operators in Go, write them back" without
// a transaction (FerretDB issue #3040). Two concurrent `$inc`s on one
// document then lose updates, and two concurrent conditional updates
// ({_id, version: 3} -> {$set: {version: 4}}) can both report
// modifiedCount 1. Real MongoDB makes every single-document write atomic,
// and groundup's store relies on that, so the test server must too.
//
// The fix is blunt and enough for tests: a proxy on the public port that
// forwards one whole request at a time to FerretDB and waits for its reply
// before letting the next request (from any connection) through. FerretDB
// answers every request exactly once (it does not advertise streaming
// `hello` and ignores the moreToCome flag), so one request => one reply holds.

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// maxMessage is FerretDB's advertised maxMessageSizeBytes plus the header.
const maxMessage = 48_000_000 + 16

var oneAtATime sync.Mutex

// requests counts the messages forwarded to FerretDB: every command any
// client sent, for the benchmark's "database commands per request" (see
// serveCounts).
var requests atomic.Uint64

// serveCounts answers every HTTP request on ln with the number of commands
// forwarded so far, as one decimal line. A benchmark reads it before and
// after a run; the difference over the responses served is the commands each
// one cost (the drivers' own monitoring adds a few per ten seconds).
func serveCounts(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			// The request itself does not matter: read what came, answer, close.
			_, _ = conn.Read(make([]byte, 4096))
			body := strconv.FormatUint(requests.Load(), 10) + "\n"
			fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		}()
	}
}

func serveSerialized(ctx context.Context, ln net.Listener, sock string) {
	context.AfterFunc(ctx, func() { ln.Close() })
	for {
		client, err := ln.Accept()
		if err != nil {
			return // listener closed on shutdown
		}
		go proxy(ctx, client, sock)
	}
}

// proxy gives each client connection its own FerretDB connection, so that
// per-connection state (cursors, connectionId) behaves as without the proxy.
func proxy(ctx context.Context, client net.Conn, sock string) {
	defer client.Close()
	backend, err := net.Dial("unix", sock)
	if err != nil {
		return
	}
	defer backend.Close()
	// On shutdown, close both ends so FerretDB's Run (which waits for its
	// connections) can return.
	stop := context.AfterFunc(ctx, func() { client.Close(); backend.Close() })
	defer stop()

	fromClient, fromBackend := bufio.NewReader(client), bufio.NewReader(backend)
	for {
		req, err := readMessage(fromClient)
		if err != nil {
			return
		}
		requests.Add(1)
		oneAtATime.Lock()
		_, err = backend.Write(req)
		var reply []byte
		if err == nil {
			reply, err = readMessage(fromBackend)
		}
		oneAtATime.Unlock()
		if err != nil {
			return // FerretDB closed the connection (it does on a panic): so do we
		}
		if _, err = client.Write(reply); err != nil {
			return
		}
	}
}

// readMessage reads one wire-protocol message: every message starts with
// its total length as a little-endian int32 (the standard message header).
func readMessage(r *bufio.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(size[:])
	if n < 16 || n > maxMessage {
		return nil, fmt.Errorf("bad message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, size[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}
