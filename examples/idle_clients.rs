//! The idle crowd for `benches/run`'s memory scenario: opens many keep-alive connections to a
//! server, sends one `GET /health` on each and reads its whole response, then holds them all
//! open, idle, so the harness can read the server's resident memory with every connection
//! accepted, served once and waiting for the next request (the state a browser's idle
//! connections leave a server in).
//!
//! ```text
//! idle_clients ADDR COUNT
//! ```
//!
//! Prints `READY <count>` on stdout once every connection has had its response, then waits until
//! stdin reaches end of file (the harness closes it) and exits, closing them all. Exits with
//! status 1, saying why on stderr, if a connection fails or an answer is not `200`: the number
//! would not mean what the harness reports.
//!
//! Connections are opened one after another: each is one ephemeral port, so COUNT must stay
//! below the size of `net.ipv4.ip_local_port_range` (28 232 by default), which this checks
//! first, and the process needs COUNT file descriptors (the harness raises `ulimit -n`).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

/// A response this long without its end is not the one-line health answer.
const MAX_RESPONSE: usize = 4096;

/// How long one connection may take to be answered, so a stuck server fails the run
/// instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("idle_clients: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(count)) = (args.next(), args.next()) else {
        return Err("usage: idle_clients ADDR COUNT".into());
    };
    let count: usize = count
        .parse()
        .map_err(|_| format!("COUNT must be a whole number, not {count:?}"))?;
    check_ports(count)?;
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut held = Vec::with_capacity(count);
    for n in 0..count {
        let stream = open(&addr, request.as_bytes())
            .map_err(|error| format!("connection {} of {count}: {error}", n + 1))?;
        held.push(stream);
    }
    println!("READY {}", held.len());
    std::io::stdout()
        .flush()
        .map_err(|error| format!("stdout: {error}"))?;
    // Hold the connections until the harness has read the server's memory and closes stdin.
    let mut sink = String::new();
    while std::io::stdin()
        .lock()
        .read_line(&mut sink)
        .map_err(|error| format!("stdin: {error}"))?
        > 0
    {
        sink.clear();
    }
    Ok(())
}

/// Refuses a count the ephemeral port range cannot supply, naming the setting.
fn check_ports(count: usize) -> Result<(), String> {
    let path = "/proc/sys/net/ipv4/ip_local_port_range";
    let Ok(range) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let bounds: Vec<usize> = range
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    if let [low, high] = bounds[..]
        && high + 1 - low < count
    {
        return Err(format!(
            "{count} connections need as many ephemeral ports, and {path} offers {low}-{high}"
        ));
    }
    Ok(())
}

/// Connects, sends the request and reads one whole `200` response with its
/// `Content-Length` body; returns the still open connection.
fn open(addr: &str, request: &[u8]) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(addr).map_err(|error| error.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|error| error.to_string())?;
    stream
        .write_all(request)
        .map_err(|error| error.to_string())?;
    let mut response = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    loop {
        let n = stream.read(&mut buf).map_err(|error| error.to_string())?;
        if n == 0 {
            return Err("the server closed the connection before answering".into());
        }
        response.extend_from_slice(&buf[..n]);
        if let Some(end) = complete(&response)? {
            if !response.starts_with(b"HTTP/1.1 200 ") {
                let line = response.split(|&b| b == b'\r').next().unwrap_or_default();
                return Err(format!("answered {}", String::from_utf8_lossy(line)));
            }
            if end != response.len() {
                return Err("more bytes than one response".into());
            }
            return Ok(stream);
        }
        if response.len() > MAX_RESPONSE {
            return Err(format!("no complete response in {MAX_RESPONSE} bytes"));
        }
    }
}

/// The length of the whole response once its head and `Content-Length` body are in.
fn complete(response: &[u8]) -> Result<Option<usize>, String> {
    let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&response[..head_end]);
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or("a response without Content-Length")?;
    let end = head_end + 4 + length;
    Ok((response.len() >= end).then_some(end))
}
