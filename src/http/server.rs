//! Serving `app()` on a socket: hyper's HTTP/1.1 connection builder (so the head's size and
//! read time are bounded before a request reaches the router), at most `connections_max`
//! connections at once, and a graceful shutdown that lets in-flight requests finish.
//!
//! hyper is told to parse as many headers as its read buffer can hold
//! (`head_headers_count_parse_max`), not `request_headers_count_max`: hyper's own refusal is a
//! 431 without a body, so the count is enforced by the edge middleware, whose refusal is a
//! problem document.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::{app, AppState};

/// Serves until `shutdown` completes, then stops accepting, waits up to `shutdown_grace_ms` for
/// open requests to finish, and returns. The ledger flushes everything it acknowledged anyway.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = state.limits;
    // The dashboard's warm-up (search index, batch reviews) runs beside the server.
    super::web::warm::start(&state);
    let service = TowerToHyperService::new(app(state));
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.connections_max));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.request_head_timeout_ms))
        .max_buf_size(limits.head_read_buffer_bytes_max())
        .max_headers(limits.head_headers_count_parse_max());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = http.serve_connection(TokioIo::new(stream), service.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for open requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(Duration::from_millis(limits.shutdown_grace_ms)) => {
            tracing::warn!("shutdown_grace_ms passed with requests still open; stopping");
        }
    }
    Ok(())
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
