//! The socket side of the server, in process: at most `connections_max` connections are served
//! at once (the next waits until one closes), and a shutdown lets an open request finish.

mod common;

use std::time::Duration;

use chitra::http::{server, AppState, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn health(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_and_shutdown_is_graceful() {
    let api = common::http::Api::new();
    let limits = Limits {
        connections_max: 1,
        ..Limits::default()
    };
    let state = AppState::new(
        api.ledger.clone(),
        common::http::tokens(),
        limits,
        common::fixtures::settings(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    // The first connection holds the only slot (idle, keep-alive).
    let mut first = TcpStream::connect(addr).await.unwrap();
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = first.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    // The second is accepted by the kernel but not served while the first is open.
    let mut second = TcpStream::connect(addr).await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(300), health(&mut second)).await;
    assert!(waiting.is_err(), "served beyond connections_max");
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let mut out = String::new();
        second.read_to_string(&mut out).await.unwrap();
        out
    })
    .await
    .expect("served once the first connection closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Shutdown: a connection in the middle of a request still gets its answer.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    third.write_all(b"Connection: close\r\n\r\n").await.unwrap();
    let mut out = String::new();
    third.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out:?}");
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("the server stops once open requests are done")
        .unwrap()
        .unwrap();
}
