//! Issue 19 (13): slow, stalled, idle and surplus connections. Before, the server had no header
//! or body read timeout, no idle timeout and no connection cap: half-sent requests were held
//! forever (20k of them exhausted the file descriptors), and one of them kept a shutdown from
//! ever finishing. Each test talks raw HTTP/1.1 over a few sockets on 127.0.0.1, with timeouts
//! of a few hundred milliseconds configured for the test (blocking socket calls: the servers run
//! on their own runtimes).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rankforge_serve::ConnectionLimits;

use crate::support::*;

/// The short timeout the tests configure.
const SHORT: Duration = Duration::from_millis(300);
/// A timeout no test waits for.
const LONG: Duration = Duration::from_secs(30);
/// Slack for a loaded machine: what must happen after `SHORT` must happen before `SHORT + SLACK`.
const SLACK: Duration = Duration::from_secs(5);

fn limits(
    header: Duration,
    body: Duration,
    keep_alive: Duration,
    shutdown: Duration,
) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 16,
        header_read_timeout: header,
        body_read_timeout: body,
        keep_alive_timeout: keep_alive,
        shutdown_timeout: shutdown,
    }
}

fn reranker_server(connections: ConnectionLimits) -> TestServer {
    let mut config = loopback_config();
    config.reranker = Some(reranker_config());
    TestServer::start_with_connections(config, connections)
}

fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.addr).expect("connect")
}

enum ReadOutcome {
    Bytes(usize),
    Closed,
    TimedOut,
}

/// One read that gives up at `deadline`.
fn read_before(stream: &mut TcpStream, buffer: &mut [u8], deadline: Instant) -> ReadOutcome {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return ReadOutcome::TimedOut;
    }
    stream.set_read_timeout(Some(left)).unwrap();
    match stream.read(buffer) {
        Ok(0) => ReadOutcome::Closed,
        Ok(n) => ReadOutcome::Bytes(n),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            ReadOutcome::TimedOut
        }
        Err(_) => ReadOutcome::Closed,
    }
}

/// Reads until the server closes the connection (EOF or reset) and returns what it sent;
/// `Err` with what arrived so far if it is still open after `within`.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Result<String, String> {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match read_before(stream, &mut buffer, deadline) {
            ReadOutcome::Bytes(n) => received.extend_from_slice(&buffer[..n]),
            ReadOutcome::Closed => return Ok(String::from_utf8_lossy(&received).into_owned()),
            ReadOutcome::TimedOut => return Err(String::from_utf8_lossy(&received).into_owned()),
        }
    }
}

/// Reads one whole response (head and `content-length` body); `None` if it has not arrived
/// within `within` or the connection closed first.
fn read_response(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if body.len() >= length {
                return Some(text);
            }
        }
        match read_before(stream, &mut buffer, deadline) {
            ReadOutcome::Bytes(n) => received.extend_from_slice(&buffer[..n]),
            ReadOutcome::Closed | ReadOutcome::TimedOut => return None,
        }
    }
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_head_is_closed_after_the_header_timeout() {
    let server = reranker_server(limits(SHORT, LONG, LONG, LONG));
    let mut stream = connect(&server);
    let started = Instant::now();
    stream
        .write_all(b"POST /rerank HTTP/1.1\r\nHost: test\r\nContent-Ty")
        .unwrap();
    let closed = read_until_closed(&mut stream, SHORT + SLACK);
    let took = started.elapsed();
    let sent = closed.unwrap_or_else(|so_far| {
        panic!("a half-sent head is still open after {took:?} (got {so_far:?})")
    });
    assert!(sent.is_empty(), "closed without an answer, got {sent:?}");
    assert!(
        took >= SHORT - Duration::from_millis(50),
        "closed after {took:?}"
    );

    // The server still answers, and counted the timeout.
    let (status, text) = get_text(&server.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(metric(&text, "rankforge_header_timeouts_total") >= 1.0);
    server.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_body_is_answered_408_and_closed_after_the_body_timeout() {
    let server = reranker_server(limits(LONG, SHORT, LONG, LONG));
    let mut stream = connect(&server);
    let started = Instant::now();
    stream
        .write_all(
            b"POST /rerank HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"query\": \"q\", ",
        )
        .unwrap();
    let closed = read_until_closed(&mut stream, SHORT + SLACK);
    let took = started.elapsed();
    let answer = closed.unwrap_or_else(|so_far| {
        panic!("a half-sent body is still open after {took:?} (got {so_far:?})")
    });
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"error_type\":\"request_timeout\""),
        "{answer}"
    );
    assert!(
        took >= SHORT - Duration::from_millis(50),
        "answered after {took:?}"
    );

    // A body that arrives in time is served.
    let body = r#"{"query": "q", "texts": ["a", "b"]}"#;
    let (status, _) = post_raw(&server.url("/rerank"), body).await;
    assert_eq!(status, 200);
    server.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let server = reranker_server(limits(LONG, LONG, SHORT, LONG));
    let mut stream = connect(&server);
    // Kept alive between requests ...
    for _ in 0..2 {
        stream.write_all(HEALTH).unwrap();
        let response = read_response(&mut stream, SLACK)
            .expect("a /health answer on the kept-alive connection");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    // ... and closed once idle for the keep-alive timeout.
    let started = Instant::now();
    let closed = read_until_closed(&mut stream, SHORT + SLACK);
    let took = started.elapsed();
    assert!(
        closed.is_ok(),
        "an idle connection is still open after {took:?}"
    );
    assert!(
        took >= SHORT - Duration::from_millis(50),
        "closed after {took:?}"
    );

    // A connection that never sends anything is closed as well.
    let mut silent = connect(&server);
    assert!(read_until_closed(&mut silent, SHORT + SLACK).is_ok());
    server.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_above_the_cap_waits_until_one_closes() {
    let mut connections = limits(LONG, LONG, LONG, LONG);
    connections.max_connections = 3;
    let server = reranker_server(connections);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&server);
        stream.write_all(HEALTH).unwrap();
        let response = read_response(&mut stream, SLACK).expect("served");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        held.push(stream);
    }

    // The fourth: the kernel takes the connection, the server does not serve it.
    let mut fourth = connect(&server);
    fourth.write_all(HEALTH).unwrap();
    assert!(
        read_response(&mut fourth, Duration::from_millis(500)).is_none(),
        "a fourth connection was served with the cap at 3"
    );

    // One closes: the fourth is served.
    drop(held.remove(0));
    let response = read_response(&mut fourth, SLACK)
        .expect("the waiting connection is served once a slot frees");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // Another closes: a new client gets the slot.
    drop(held.remove(0));
    let response = client()
        .get(server.url("/metrics"))
        .timeout(SLACK)
        .send()
        .await
        .expect("/metrics on the freed slot");
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(metric(&text, "rankforge_open_connections") <= 3.0, "{text}");
    drop(held);
    drop(fourth);
    server.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drops_stalled_connections_at_the_deadline() {
    let mut server = reranker_server(limits(LONG, LONG, LONG, SHORT));
    // One client stalls in its request head, another in its body (a request in progress).
    let mut in_head = connect(&server);
    in_head
        .write_all(b"GET /health HTTP/1.1\r\nHost: te")
        .unwrap();
    let mut in_body = connect(&server);
    in_body
        .write_all(
            b"POST /rerank HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"query\"",
        )
        .unwrap();
    // And one is idle between requests: closed at once.
    let mut idle = connect(&server);
    idle.write_all(HEALTH).unwrap();
    read_response(&mut idle, SLACK).expect("served");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    server.begin_shutdown();
    assert!(
        read_until_closed(&mut idle, SLACK).is_ok(),
        "the idle connection is closed by the shutdown"
    );
    let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(server.stop().map_err(|e| e.to_string()));
    });
    let stopped = tokio::task::spawn_blocking(move || stopped_rx.recv_timeout(SHORT + SLACK))
        .await
        .unwrap();
    let took = started.elapsed();
    match stopped {
        Ok(result) => result.expect("the server stops cleanly"),
        Err(_) => panic!("the server has not stopped {took:?} after the shutdown signal"),
    }
    assert!(
        took >= SHORT - Duration::from_millis(50),
        "requests in progress got the shutdown timeout ({took:?})"
    );
    for (what, stream) in [("head", &mut in_head), ("body", &mut in_body)] {
        assert!(
            read_until_closed(stream, SLACK).is_ok(),
            "the connection stalled in its {what} is closed"
        );
    }
}
