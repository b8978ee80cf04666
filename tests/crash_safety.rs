//! A post the server answered 201 for survives `kill -9` of the whole server.
//!
//! `tests/store_durability.rs` proves this for the embedded store alone; this
//! is the same promise one layer up, through the real binary and its HTTP
//! API. The test starts `groundup --store embedded --data-dir <tmp>` on a
//! free port, takes a bearer token, and lets several clients create posts as
//! fast as the server answers. Once enough posts are acknowledged it kills the
//! server with SIGKILL while the clients still have requests in flight, starts
//! it again on the same directory, and reads back every acknowledged post by
//! the id its 201 carried: each must be there with its exact title and body.
//! Posts whose request was cut off may or may not have landed; that is the
//! contract of an unanswered write, and the test only counts them.
//!
//! The check fails if the server ever answers before the write is committed:
//! the kill lands at an arbitrary point, so an acknowledgement sent ahead of
//! the commit is eventually an id the restarted server cannot find.

#[path = "common/store_support.rs"]
mod store_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use store_support::TempDir;

/// Kill-and-restart rounds.
const ROUNDS: usize = 3;
/// Clients creating posts at once.
const CLIENTS: usize = 4;
/// Acknowledged posts per round before the kill.
const ACKS_BEFORE_KILL: usize = 40;
/// A bound against hanging on a read, a start-up or a round; never a
/// performance check.
const PATIENCE: Duration = Duration::from_secs(30);
const PASSWORD: &str = "correct horse battery";
/// Every post of the test's account, in one response.
const LIST: &str =
    "GET /api/posts?author=crash&limit=100000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/// The server process and the address it reported.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts the binary on `dir` and waits for its "listening on" line.
    fn start(dir: &TempDir) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_groundup"))
            .arg("--store")
            .arg("embedded")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--listen", "127.0.0.1:0", "--dev"])
            .env_remove("MONGODB_URI")
            .env_remove("MONGO_CLIENT_URL")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server binary");
        // The log goes to stdout; stderr is drained too so a full pipe can
        // never stall the server.
        let (found, address) = mpsc::channel();
        for output in [
            Box::new(child.stdout.take().expect("piped stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped stderr")),
        ] {
            let found = found.clone();
            thread::spawn(move || {
                for line in BufReader::new(output).lines() {
                    let Ok(line) = line else { return };
                    if let Some(addr) = listening_address(&line) {
                        let _ = found.send(addr);
                    }
                }
            });
        }
        let addr = match address.recv_timeout(PATIENCE) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("the server never said where it listens");
            }
        };
        Server { child, addr }
    }

    /// SIGKILL: no shutdown code runs, nothing is flushed.
    fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in `… listening on http://127.0.0.1:PORT`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// One request on its own connection (`Connection: close`), read to EOF.
/// `None` when the exchange did not complete: the server died mid-request.
fn exchange(addr: SocketAddr, request: &str) -> Option<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(PATIENCE)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).ok()?;
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(head) = response.parse(&bytes).ok()? else {
        return None;
    };
    let length: usize = response
        .headers
        .iter()
        .find(|field| field.name.eq_ignore_ascii_case("content-length"))
        .and_then(|field| std::str::from_utf8(field.value).ok()?.parse().ok())?;
    let body = bytes.get(head..head + length)?;
    Some((response.code?, serde_json::from_slice(body).ok()?))
}

fn request(method: &str, path: &str, extra: &str, json: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    )
}

/// A bearer token for the account, registering it on first use.
fn token(addr: SocketAddr, register: bool) -> String {
    let account = format!(r#"{{"username":"crash","password":"{PASSWORD}"}}"#);
    if register {
        let created = exchange(addr, &request("POST", "/api/register", "", &account));
        assert_eq!(created.map(|(status, _)| status), Some(201));
    }
    let login = format!(r#"{{"identifier":"crash","password":"{PASSWORD}"}}"#);
    let (status, body) =
        exchange(addr, &request("POST", "/api/token", "", &login)).expect("a token");
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("token field").to_owned()
}

/// What one round of clients saw.
#[derive(Default)]
struct Outcome {
    /// id → (title, body) for every 201.
    acknowledged: HashMap<String, (String, String)>,
    /// Titles whose request got no answer.
    cut_off: Vec<String>,
}

/// One client: creates posts until a request goes unanswered.
fn client(addr: SocketAddr, token: &str, round: usize, number: usize, outcome: &Mutex<Outcome>) {
    let auth = format!("Authorization: Bearer {token}\r\n");
    for n in 0.. {
        let title = format!("round {round} client {number} post {n}");
        // A body of varying length, so a torn or stale record cannot match.
        let body = format!("{title}: {}", "z".repeat(64 + n % 512));
        let json = serde_json::json!({ "title": title, "body": body }).to_string();
        match exchange(addr, &request("POST", "/api/posts", &auth, &json)) {
            Some((201, answer)) => {
                let id = answer["id"].as_str().expect("201 carries an id").to_owned();
                let mut outcome = outcome.lock().expect("no client panicked");
                outcome.acknowledged.insert(id, (title, body));
            }
            Some((status, answer)) => panic!("create answered {status}: {answer}"),
            None => {
                outcome
                    .lock()
                    .expect("no client panicked")
                    .cut_off
                    .push(title);
                return;
            }
        }
    }
}

/// Runs the clients, kills the server once `ACKS_BEFORE_KILL` posts are
/// acknowledged, and returns what the clients saw.
fn round(server: Server, token: &str, round: usize) -> Outcome {
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|number| {
            let (outcome, token, addr) = (Arc::clone(&outcome), token.to_owned(), server.addr);
            thread::spawn(move || client(addr, &token, round, number, &outcome))
        })
        .collect();
    let waited = std::time::Instant::now();
    loop {
        let seen = outcome
            .lock()
            .expect("no client panicked")
            .acknowledged
            .len();
        if seen >= ACKS_BEFORE_KILL {
            break;
        }
        assert!(
            waited.elapsed() < PATIENCE,
            "only {seen} posts acknowledged; is the server stuck?"
        );
        thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    for client in clients {
        client.join().expect("client thread");
    }
    Arc::try_unwrap(outcome)
        .ok()
        .expect("clients are done")
        .into_inner()
        .expect("no client panicked")
}

#[test]
fn acknowledged_posts_survive_sigkill_of_the_server() {
    let dir = TempDir::new();
    let mut acknowledged: HashMap<String, (String, String)> = HashMap::new();
    let mut cut_off: Vec<String> = Vec::new();
    let mut server = Server::start(&dir);
    let mut token_now = token(server.addr, true);
    for number in 0..ROUNDS {
        let outcome = round(server, &token_now, number);
        acknowledged.extend(outcome.acknowledged);
        cut_off.extend(outcome.cut_off);

        server = Server::start(&dir);
        let mut found = 0;
        for (id, (title, body)) in &acknowledged {
            let get =
                format!("GET /api/posts/{id} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            let (status, post) = exchange(server.addr, &get).expect("the restarted server answers");
            assert_eq!(
                status, 200,
                "acknowledged post {id} ({title}) is gone: {post}"
            );
            assert_eq!(post["title"].as_str(), Some(title.as_str()), "post {id}");
            assert_eq!(post["body"].as_str(), Some(body.as_str()), "post {id}");
            found += 1;
        }
        // Cut-off posts that landed anyway: committed, answer lost.
        let stored = list_titles(server.addr, LIST);
        let landed = cut_off
            .iter()
            .filter(|title| stored.contains(*title))
            .count();
        assert_eq!(
            stored.len(),
            acknowledged.len() + landed,
            "every stored post is either acknowledged or one whose answer was cut off"
        );
        println!(
            "round {number}: acknowledged {} (total {}), found {found}, cut off {}, \
             cut off but landed {landed}",
            acknowledged_in_round(&acknowledged, number),
            acknowledged.len(),
            cut_off.len(),
        );
        // Tokens are signed with a key made at start-up: a new server, a new token.
        token_now = token(server.addr, false);
    }
    server.kill();
}

/// The acknowledged posts of one round, by their titles.
fn acknowledged_in_round(acknowledged: &HashMap<String, (String, String)>, round: usize) -> usize {
    let prefix = format!("round {round} ");
    acknowledged
        .values()
        .filter(|(title, _)| title.starts_with(&prefix))
        .count()
}

/// The titles in a streamed (chunked) list response.
fn list_titles(addr: SocketAddr, request: &str) -> Vec<String> {
    let mut stream = TcpStream::connect(addr).expect("connect for the list");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream.write_all(request.as_bytes()).expect("send the list");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read the list");
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut fields);
    let Ok(httparse::Status::Complete(head)) = response.parse(&bytes) else {
        panic!("no list response");
    };
    assert_eq!(response.code, Some(200));
    let body = dechunk(&bytes[head..]);
    let posts: Vec<serde_json::Value> = serde_json::from_slice(&body).expect("a JSON array");
    posts
        .iter()
        .map(|post| post["title"].as_str().expect("title").to_owned())
        .collect()
}

/// The payload of a chunked body (no extensions, no trailers: ours sends none).
fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes
            .windows(2)
            .position(|pair| pair == b"\r\n")
            .expect("chunk size line");
        let size = std::str::from_utf8(&bytes[..line_end])
            .ok()
            .and_then(|hex| usize::from_str_radix(hex, 16).ok())
            .expect("hex chunk size");
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size + 2..];
    }
}
