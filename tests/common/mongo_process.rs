//! A private MongoDB-compatible server process for tests that stop and restart the
//! database: the FerretDB test binary built by `.ci/mongo-server build`, on a free port
//! with its own data directory.
//!
//! Tests find the binary through `GROUNDUP_MONGO_SERVER_BIN`, or at
//! `target/mongo-server/ferretdb-test` when `REQUIRE_MONGODB=1`; otherwise they print a
//! skip line and pass.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::store_support;

/// The test server binary, or `None` after printing a skip line.
pub fn server_binary(test: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GROUNDUP_MONGO_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mongo-server/ferretdb-test");
    if store_support::mongodb_required() {
        assert!(
            built.exists(),
            "{test}: REQUIRE_MONGODB=1 but {} is missing; run .ci/mongo-server build",
            built.display()
        );
        return Some(built);
    }
    println!("skipped {test}: set GROUNDUP_MONGO_SERVER_BIN to the FerretDB test server binary");
    None
}

/// A test server process on its own port and data directory; killed when dropped.
pub struct MongoProcess {
    binary: PathBuf,
    port: u16,
    data: store_support::TempDir,
    child: Option<Child>,
}

impl MongoProcess {
    pub fn new(binary: PathBuf) -> MongoProcess {
        // Port 0 asks the OS for a free port; we release it for the server to take.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        MongoProcess {
            binary,
            port,
            data: store_support::TempDir::new(),
            child: None,
        }
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    /// Starts the server on the same data directory and waits until it answers a ping.
    pub fn start(&mut self) {
        let child = Command::new(&self.binary)
            .args(["-port", &self.port.to_string(), "-data-dir"])
            .arg(self.data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("test server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "test server did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn answers_ping(&self) -> bool {
        Command::new(&self.binary)
            .args(["-ping", "-port", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Kills the server (SIGKILL: the harshest way for a database to go away).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MongoProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
