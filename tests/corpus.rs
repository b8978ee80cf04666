//! The request-smuggling and parser corpus: every file under `tests/corpus/`
//! is one request, sent as raw bytes to the real application, with the status
//! it must get and whether the connection must close after it.
//!
//! Request smuggling happens when two HTTP parsers in a chain (a proxy and the
//! server behind it) disagree about where one request ends and the next
//! begins. Each case here comes from a published class of such disagreements
//! (the `source:` line names it), and the expectation is what this server must
//! do so that it can never be the parser that reads a request differently:
//! refuse anything ambiguous with a 4xx and close, or accept it in the one way
//! the RFCs allow.
//!
//! For a case that keeps the connection open, the runner then sends
//! `GET /health` on the same connection and requires exactly one `200` and
//! nothing more: proof that the server's idea of where the request ended is
//! the right one, and that no hidden second request was smuggled through. For
//! a case that closes, any byte after the response (a second response) fails
//! it. The file format is described in `tests/corpus/README.md`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Client, TestServer};
use groundup::app::AppConfig;
use groundup::http::Limits;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The corpus may grow, never silently shrink.
const MIN_CASES: usize = 150;

/// One corpus file.
#[derive(Debug)]
struct Case {
    name: String,
    status: u16,
    close: bool,
    /// How many responses the request bytes must produce (pipelined cases).
    responses: usize,
    /// For `/echo`: the body the server must have decoded (first response).
    body: Option<Vec<u8>>,
    bytes: Vec<u8>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_case_gets_its_expected_answer() {
    let cases = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"));
    assert!(
        cases.len() >= MIN_CASES,
        "{} cases, expected at least {MIN_CASES}",
        cases.len()
    );
    // Short deadlines, so the cases whose request never completes get their
    // 408 quickly.
    let limits = Limits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = TestServer::app(AppConfig::new().unwrap(), limits).await;

    let total = cases.len();
    let mut runs = tokio::task::JoinSet::new();
    for case in cases {
        let addr = server.addr;
        runs.spawn(async move {
            let name = case.name.clone();
            // A panic inside the client (a malformed response, a timeout)
            // is this case's failure, not the whole test's.
            let outcome = tokio::spawn(async move { run(addr, &case).await }).await;
            match outcome {
                Ok(result) => result.map_err(|why| format!("{name}: {why}")),
                Err(panic) => Err(format!("{name}: {panic}")),
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(result) = runs.join_next().await {
        if let Err(failure) = result.unwrap() {
            failures.push(failure);
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("corpus: all {total} cases passed");
}

/// Sends one case and checks what came back.
async fn run(addr: std::net::SocketAddr, case: &Case) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything (a 414
    // does not wait for the rest of the line), so a failed write is fine.
    let _ = stream.write_all(&case.bytes).await;
    let mut client = Client::from_stream(stream);
    let head_only = case.bytes.starts_with(b"HEAD ");
    for index in 0..case.responses {
        let mut response = if head_only {
            client.head_response().await
        } else {
            client.response().await
        };
        while (100..200).contains(&response.status) {
            response = client.response().await;
        }
        if response.status != case.status {
            return Err(format!(
                "status {} instead of {}: {}",
                response.status,
                case.status,
                response.text()
            ));
        }
        if let Some(expected) = case.body.as_ref().filter(|_| index == 0) {
            let echoed = response.json();
            let body = echoed["body"].as_str().unwrap_or_default().as_bytes();
            if body != expected.as_slice() {
                return Err(format!(
                    "body {:?} instead of {:?}",
                    String::from_utf8_lossy(body),
                    String::from_utf8_lossy(expected)
                ));
            }
        }
    }
    if case.close {
        if !client.is_closed().await {
            return Err("the connection stayed open".into());
        }
        return Ok(());
    }
    client
        .send(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await;
    let follow_up = client.response().await;
    if follow_up.status != 200 {
        return Err(format!(
            "the connection is out of step: the next request got {}",
            follow_up.status
        ));
    }
    if !client.is_closed().await {
        return Err("the connection stayed open after Connection: close".into());
    }
    Ok(())
}

/// Every `*.http` file under `dir`, parsed; panics naming a malformed file.
fn load(dir: &Path) -> Vec<Case> {
    let mut paths = Vec::new();
    collect(dir, &mut paths);
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path
                .strip_prefix(dir)
                .unwrap()
                .with_extension("")
                .display()
                .to_string();
            let text = std::fs::read_to_string(path).unwrap();
            parse(&name, &text).unwrap_or_else(|why| panic!("{}: {why}", path.display()))
        })
        .collect()
}

fn collect(dir: &Path, paths: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, paths);
        } else if path.extension().is_some_and(|ext| ext == "http") {
            paths.push(path);
        }
    }
}

/// Parses one case: `# key: value` lines, then the escaped request.
fn parse(name: &str, text: &str) -> Result<Case, String> {
    let mut case = Case {
        name: name.to_owned(),
        status: 0,
        close: false,
        responses: 1,
        body: None,
        bytes: Vec::new(),
    };
    let mut request = String::new();
    let mut has_source = false;
    for line in text.lines() {
        if !request.is_empty() || !line.starts_with('#') {
            request.push_str(line);
            continue;
        }
        let (key, value) = line[1..]
            .split_once(':')
            .ok_or_else(|| format!("not a `# key: value` line: {line}"))?;
        let value = value.trim();
        match key.trim() {
            "source" => has_source = !value.is_empty(),
            "note" => {}
            "expect" => {
                let (status, connection) = value
                    .split_once(' ')
                    .ok_or("expect: <status> close|keep-alive")?;
                case.status = status.parse().map_err(|_| "expect: bad status")?;
                case.close = match connection {
                    "close" => true,
                    "keep-alive" => false,
                    other => return Err(format!("expect: `{other}` is not close|keep-alive")),
                };
            }
            "responses" => case.responses = value.parse().map_err(|_| "responses: a number")?,
            "body" => case.body = Some(unescape(value)?),
            other => return Err(format!("unknown key `{other}`")),
        }
    }
    if !has_source {
        return Err("no `# source:` line".into());
    }
    if case.status == 0 {
        return Err("no `# expect:` line".into());
    }
    case.bytes = unescape(&request)?;
    if case.bytes.is_empty() {
        return Err("no request bytes".into());
    }
    Ok(case)
}

/// Turns the escaped text of a case into bytes: `\r \n \t \v \f \0 \\`,
/// `\xHH`, and `\[N]c` for the character `c` repeated `N` times.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if !c.is_ascii() {
                return Err(format!("non-ASCII `{c}`: write it as \\xHH"));
            }
            bytes.push(c as u8);
            continue;
        }
        match chars.next() {
            Some('r') => bytes.push(b'\r'),
            Some('n') => bytes.push(b'\n'),
            Some('t') => bytes.push(b'\t'),
            Some('v') => bytes.push(0x0b),
            Some('f') => bytes.push(0x0c),
            Some('0') => bytes.push(0),
            Some('\\') => bytes.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad \\x{hex}"))?;
                bytes.push(byte);
            }
            Some('[') => {
                let count: String = chars.by_ref().take_while(|&c| c != ']').collect();
                let count: usize = count.parse().map_err(|_| format!("bad \\[{count}]"))?;
                let repeated = chars.next().ok_or("\\[N] at the end")?;
                bytes.extend(std::iter::repeat_n(repeated as u8, count));
            }
            other => return Err(format!("unknown escape \\{other:?}")),
        }
    }
    Ok(bytes)
}
