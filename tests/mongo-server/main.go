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
//	ferretdb-test -port 27017 -counts 127.0.0.1:27018   # also: commands so far, over HTTP
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
	serialize := flag.Bool("serialize", true, "run one command at a time (see serialize.go); false = raw FerretDB")
	verbose := flag.Bool("v", false, "log every request at debug level")
	ping := flag.Bool("ping", false, "do not serve: send one MongoDB ping to the port and exit 0 if it answers ok:1")
	counts := flag.String("counts", "", "also serve, over HTTP on this address, how many commands were forwarded (needs -serialize)")
	flag.Parse()

	if *ping {
		os.Exit(pingServer(*port))
	}
	if err := run(*port, *dataDir, *serialize, *verbose, *counts); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-test: %v\n", err)
		os.Exit(1)
	}
}

func run(port int, dataDir string, serialize, verbose bool, counts string) error {
	// Errors only: FerretDB logs every failed command (a duplicate key, say)
	// as a multi-line WARN dump, and the store tests provoke such failures
	// on purpose; the log is read when the server itself misbehaves.
	level := slog.LevelError
	if verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The SQLite handler wants a `file:` URL naming a directory that already
	// exists, with a trailing slash; each MongoDB database becomes one
	// SQLite file in it. An absolute path keeps it independent of the cwd.
	abs, err := filepath.Abs(dataDir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/"}).String()

	// Loopback only: the test server must never be reachable from outside.
	public := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	listener := ferretdb.ListenerConfig{TCP: public}
	var sock string
	if serialize {
		// FerretDB listens on a private Unix socket; our proxy owns the port.
		// One fixed name per port, so a killed server's stale socket is
		// simply replaced on the next start instead of piling up.
		sock = filepath.Join(os.TempDir(), fmt.Sprintf("ferretdb-test-%d.sock", port))
		_ = os.Remove(sock)
		defer os.Remove(sock)
		listener = ferretdb.ListenerConfig{Unix: sock}
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	// SIGTERM (from `.ci/mongo-server stop`) and SIGINT (Ctrl-C) cancel the
	// context; Run then closes the listener, the open connections and the
	// SQLite files before returning, so a restart finds consistent data.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if serialize {
		ln, err := net.Listen("tcp", public) // fails at once if the port is taken
		if err != nil {
			return err
		}
		go serveSerialized(ctx, ln, sock)
		if counts != "" {
			countLn, err := net.Listen("tcp", counts)
			if err != nil {
				return err
			}
			context.AfterFunc(ctx, func() { countLn.Close() })
			go serveCounts(countLn)
		}
	}

	// Run blocks until ctx is cancelled.
	return f.Run(ctx)
}

// pingServer sends a real MongoDB `ping` command (an OP_MSG, the same thing
// a driver sends) rather than only checking that the TCP port is open: the
// port can be open before the backend answers. It uses the wire client that
// FerretDB itself depends on, so it adds no dependency.
func pingServer(port int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	uri := fmt.Sprintf("mongodb://127.0.0.1:%d/", port)
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	conn, err := wireclient.Connect(ctx, uri, quiet)
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
