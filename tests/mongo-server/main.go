// Command ferretdb-test starts FerretDB (a MongoDB wire-protocol server
// backed by SQLite, pure Go) for groundup's store tests. No real `mongod`
// can be installed on our machines, so this stands in for it.
//
// We embed FerretDB as a library instead of building its own cmd/ferretdb:
// the library route does not need the generated build/version/version.txt
// that a plain `go install` of the FerretDB binary panics without (FerretDB
// only reads that file when FerretDB itself is the main module).
//
// Usage:
//
//	ferretdb-test -port 27017 -data-dir target/mongo-server/data   # serve
//	ferretdb-test -port 27017 -ping   # exit 0 if a server there answers a MongoDB ping
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/FerretDB/wire/wireclient"
)

func main() {
	port := flag.Int("port", 27017, "TCP port to listen on (127.0.0.1 only)")
	dataDir := flag.String("data-dir", "data", "directory for the SQLite files (created if missing)")
	verbose := flag.Bool("v", false, "log every request at debug level")
	ping := flag.Bool("ping", false, "do not serve: send one MongoDB ping to the port and exit 0 if it answers ok:1")
	flag.Parse()

	if *ping {
		os.Exit(pingServer(*port))
	}

	// Warnings and errors only: tests read stderr when something fails,
	// and per-request logs would drown that.
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The SQLite handler wants a `file:` URL naming a directory that already
	// exists, with a trailing slash; each MongoDB database becomes one
	// SQLite file in it. An absolute path keeps it independent of the cwd.
	abs, err := filepath.Abs(*dataDir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-test: data dir: %v\n", err)
		os.Exit(1)
	}
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/"}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		// Loopback only: the test server must never be reachable from outside.
		Listener:  ferretdb.ListenerConfig{TCP: net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-test: %v\n", err)
		os.Exit(1)
	}

	// SIGTERM (from `.ci/mongo-server stop`) and SIGINT (Ctrl-C) cancel the
	// context; Run then closes the listener, the open connections and the
	// SQLite files before returning, so a restart finds consistent data.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Run blocks until ctx is cancelled. A port already in use shows up in
	// ferretdb.New or here as a logged error; the start script notices that
	// the port never answers and prints our stderr.
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-test: %v\n", err)
		os.Exit(1)
	}
}

// pingServer sends a real MongoDB `ping` command (an OP_MSG, the same thing
// a driver sends) rather than only checking that the TCP port is open: the
// listener opens before the backend is ready to answer. It uses the wire
// client that FerretDB itself depends on, so it adds no dependency.
func pingServer(port int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	uri := fmt.Sprintf("mongodb://127.0.0.1:%d/", port)
	discard := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	conn, err := wireclient.Connect(ctx, uri, discard)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-test -ping: %v\n", err)
		return 1
	}
	defer conn.Close()

	if err := conn.Ping(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-test -ping: %v\n", err)
		return 1
	}
	return 0
}
