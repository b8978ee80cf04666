//! Running out of file descriptors, with the real binary.
//!
//! Every accepted connection is a file descriptor, and a process may hold only
//! so many (`ulimit -n`). At the limit, `accept` fails with `EMFILE` at once,
//! every time, while the connection waits in the kernel's backlog; a server
//! that retries in a tight loop burns a core and logs a flood, and one that
//! gives up stops serving for good. Ours sleeps, doubling the pause up to a
//! second, and accepts again when descriptors come back.
//!
//! The test starts `groundup` under `ulimit -n` [`DESCRIPTORS`], opens far more
//! connections than that, each sending one request, and checks that some are
//! answered, then that the server backs off instead of failing, and that every
//! waiting connection is answered as the answered ones are closed.

mod common;

use std::time::Duration;

use common::Client;
use common::binary::ServerProcess;
use common::store_support::TempDir;
use tokio::net::TcpStream;

/// The server's descriptor limit: a few for the runtime, the store and the
/// listener, and the rest for connections.
const DESCRIPTORS: u32 = 48;
const CONNECTIONS: usize = 120;
/// How long a connection that got no answer yet is given before the test
/// treats it as waiting in the backlog (it is asked again in the next round).
const ANSWER_WINDOW: Duration = Duration::from_millis(1500);
/// Rounds of "close the answered ones, read the rest" before the test calls
/// the server stuck. Each round frees at least one descriptor.
const MAX_ROUNDS: usize = 20;

#[tokio::test]
async fn out_of_descriptors_accept_backs_off_and_recovers() {
    let data = TempDir::new();
    let mut server = ServerProcess::start(data.path(), Some(DESCRIPTORS));
    let mut waiting = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut client = Client::from_stream(TcpStream::connect(server.addr).await.unwrap());
        client
            .send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            .await;
        waiting.push(client);
    }

    let mut answered_per_round = Vec::new();
    let mut answered = Vec::new();
    while !waiting.is_empty() {
        assert!(
            answered_per_round.len() < MAX_ROUNDS,
            "{} connections never answered; answered per round: {answered_per_round:?}",
            waiting.len()
        );
        // Closing the answered connections gives their descriptors back.
        answered.clear();
        let mut reads = tokio::task::JoinSet::new();
        for mut client in waiting {
            reads.spawn(async move {
                let response = tokio::time::timeout(ANSWER_WINDOW, client.response()).await;
                (client, response.ok().map(|response| response.status))
            });
        }
        let mut still_waiting = Vec::new();
        while let Some(read) = reads.join_next().await {
            match read.unwrap() {
                (client, Some(status)) => {
                    assert_eq!(status, 200);
                    answered.push(client);
                }
                (client, None) => still_waiting.push(client),
            }
        }
        answered_per_round.push(answered.len());
        waiting = still_waiting;
    }
    drop(answered);

    assert!(
        answered_per_round[0] < CONNECTIONS,
        "the descriptor limit was never reached: {answered_per_round:?}"
    );
    assert!(
        answered_per_round.len() > 1,
        "waiting connections were answered after others closed"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server is still running"
    );
    let mut fresh = Client::from_stream(TcpStream::connect(server.addr).await.unwrap());
    fresh.assert_usable().await;

    let backoffs = server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("accept failed; backing off"))
        .count();
    assert!(backoffs > 0, "the server logged its back-off");
    println!(
        "{CONNECTIONS} connections against ulimit -n {DESCRIPTORS}: answered per round \
         {answered_per_round:?}, {backoffs} back-off log lines"
    );
}
