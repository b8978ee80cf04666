// An echo server on Go's net/http: one of the oracles of
// tests/oracle/differential.py. Every request it reads is answered with what
// it read, so the test can compare that with what groundup's parser reads
// from the same bytes.
//
//	go run .      prints "listening PORT", then serves
//
// Each answer is 200 with an empty body and an X-Echo header holding the
// reading as base64 JSON: {method, target, version, host, headers, body,
// trailers, seq}. The header, not the body, so that a HEAD request's reading
// comes back too. Go hands a handler an interpreted request, not the bytes:
// the header fields are a map (names canonicalized, order kept only among
// values of one name), Host is taken out into its own field, and so are the
// framing fields. The test compares what survives that. Byte strings are
// written as Latin-1 (one code point per byte), as the test prints everyone's
// readings. `seq` counts the requests read on the connection, 1 for the
// first. A request net/http refuses gets its own answer (400, 431, 501,
// 505, ...) and the connection closes; a body that turns out malformed while
// it is read is answered 400 here.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
)

type reading struct {
	Method   string      `json:"method"`
	Target   string      `json:"target"`
	Version  string      `json:"version"`
	Host     string      `json:"host"`
	Headers  [][2]string `json:"headers"`
	Body     string      `json:"body"`
	Trailers [][2]string `json:"trailers"`
	Seq      int         `json:"seq"`
}

type seqKey struct{}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	server := &http.Server{
		Handler: http.HandlerFunc(echo),
		// Else the server answers `OPTIONS *` itself, unseen by the handler.
		DisableGeneralOptionsHandler: true,
		// A counter per connection, for `seq`.
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, seqKey{}, new(int))
		},
	}
	panic(server.Serve(listener))
}

func echo(w http.ResponseWriter, r *http.Request) {
	seq := r.Context().Value(seqKey{}).(*int)
	*seq++
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.Header().Set("Connection", "close")
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	encoded, err := json.Marshal(reading{
		Method:   latin1(r.Method),
		Target:   latin1(r.RequestURI),
		Version:  latin1(r.Proto),
		Host:     latin1(r.Host),
		Headers:  pairs(r.Header),
		Body:     latin1(string(body)),
		Trailers: pairs(r.Trailer),
		Seq:      *seq,
	})
	if err != nil {
		panic(err)
	}
	w.Header().Set("X-Echo", base64.StdEncoding.EncodeToString(encoded))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// The fields as (name, value) pairs, sorted by name; a map has no order.
func pairs(header http.Header) [][2]string {
	names := make([]string, 0, len(header))
	for name := range header {
		names = append(names, name)
	}
	sort.Strings(names)
	out := [][2]string{}
	for _, name := range names {
		for _, value := range header[name] {
			out = append(out, [2]string{latin1(name), latin1(value)})
		}
	}
	return out
}

// Each byte as the code point of the same value: JSON strings are UTF-8,
// and a byte that is not valid UTF-8 would otherwise come out as U+FFFD.
func latin1(bytes string) string {
	runes := make([]rune, len(bytes))
	for i := 0; i < len(bytes); i++ {
		runes[i] = rune(bytes[i])
	}
	return string(runes)
}
