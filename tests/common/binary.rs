//! The real `groundup` binary as a child process, for tests that need what
//! only a process has: its own descriptor limit, or a `kill -9`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A running server process; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every line it logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary on the embedded store in `data_dir`, on a free port,
    /// optionally under `ulimit -n descriptors`; returns once it listens.
    pub fn start(data_dir: &Path, descriptors: Option<u32>) -> ServerProcess {
        ServerProcess::start_with(data_dir, descriptors, &[])
    }

    /// The same, with `extra` arguments on its command line.
    pub fn start_with(data_dir: &Path, descriptors: Option<u32>, extra: &[&str]) -> ServerProcess {
        let limit = descriptors.map_or(String::new(), |n| format!("ulimit -n {n} && "));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{limit}exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_groundup"))
            .args(["--store", "embedded", "--listen", "127.0.0.1:0", "--dev"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sh starts groundup");
        let (listening, heard) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    // Up to the first byte an address cannot hold: a space in the text
                    // log, a quote in the JSON one.
                    let end = rest
                        .find(|c: char| !(c.is_ascii_hexdigit() || ".:[]".contains(c)))
                        .unwrap_or(rest.len());
                    let _ = listening.send(rest[..end].parse().ok());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let Ok(Some(addr)) = heard.recv_timeout(super::PATIENCE) else {
            let _ = child.kill();
            panic!("the server did not say where it listens");
        };
        ServerProcess { child, addr, log }
    }

    /// `kill -9`: no shutdown, no flush, no destructors.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
