//! The accept loop and the HTTP/1.1 connections, with the limits of [`ConnectionLimits`]: at
//! most `max_connections` open (at the cap the loop stops accepting, so further clients wait in
//! the kernel's backlog instead of costing a file descriptor each), hyper's header read timeout,
//! an idle timeout for connections with no request in progress, and on shutdown a deadline
//! after which the connections still open are dropped. (The body read timeout is applied where
//! bodies are read, in [`crate::limits::ApiJson`].)

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::config::ConnectionLimits;
use crate::metrics::Metrics;

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, closes idle
/// connections, lets requests in progress finish for at most `limits.shutdown_timeout`, and
/// drops the connections still open after it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    'accept: loop {
        while connections.try_join_next().is_some() {}
        // A free slot first: at the cap, new clients stay in the listen backlog.
        let slot = tokio::select! {
            _ = &mut shutdown => break 'accept,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = loop {
            tokio::select! {
                _ = &mut shutdown => break 'accept,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => break stream,
                    Err(error) => accept_failed(error).await,
                },
            }
        };
        let _ = stream.set_nodelay(true);
        let open = OpenConnection::new(slot, &metrics);
        connections.spawn(serve_connection(
            stream,
            router.clone(),
            http.clone(),
            limits.keep_alive_timeout,
            stopped.clone(),
            open,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    let deadline = tokio::time::sleep(limits.shutdown_timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            joined = connections.join_next() => {
                if joined.is_none() {
                    break;
                }
            }
            _ = &mut deadline => {
                eprintln!(
                    "rankforge serve: {} connection(s) still open {:.1} s after the shutdown \
                     signal; closing them",
                    connections.len(),
                    limits.shutdown_timeout.as_secs_f64()
                );
                connections.shutdown().await;
                break;
            }
        }
    }
}

/// After a failed `accept`: a client that gave up is nothing; anything else (out of file
/// descriptors, above all) is reported and waited out, as hyper's and axum's loops do.
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    eprintln!("rankforge serve: accepting a connection failed: {error}; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One open connection: holds its slot and counts in `rankforge_open_connections`.
struct OpenConnection {
    _slot: OwnedSemaphorePermit,
    metrics: Metrics,
}

impl OpenConnection {
    fn new(slot: OwnedSemaphorePermit, metrics: &Metrics) -> Self {
        metrics.open_connections.inc();
        Self {
            _slot: slot,
            metrics: metrics.clone(),
        }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.open_connections.dec();
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    http: http1::Builder,
    keep_alive_timeout: Duration,
    mut stopped: watch::Receiver<bool>,
    open: OpenConnection,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        stream,
        activity: activity.clone(),
    });
    let service = Service {
        router: TowerToHyperService::new(router),
        activity: activity.clone(),
    };
    let connection = http.serve_connection(io, service);
    tokio::pin!(connection);
    // Once set, hyper closes the connection as soon as no request is in progress.
    let mut closing = false;
    loop {
        let idle_check = activity.idle_deadline(keep_alive_timeout);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    if error.is_timeout() {
                        open.metrics.header_timeouts.inc();
                    }
                }
                return;
            }
            _ = stopped.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tokio::time::sleep_until(idle_check.into()), if !closing => {
                if activity.idle_for() >= Some(keep_alive_timeout) {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// When a connection last moved bytes, and whether a request is in progress on it.
struct Activity {
    opened: Instant,
    /// Nanoseconds from `opened` to the last read, write or finished request.
    last: AtomicU64,
    requests: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: AtomicU64::new(0),
            requests: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let nanos = u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.store(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.opened + Duration::from_nanos(self.last.load(Ordering::Relaxed))
    }

    /// How long the connection has been idle; `None` while a request is in progress.
    fn idle_for(&self) -> Option<Duration> {
        (self.requests.load(Ordering::Relaxed) == 0).then(|| self.last().elapsed())
    }

    /// When to check next whether the connection has been idle for `timeout`.
    fn idle_deadline(&self, timeout: Duration) -> Instant {
        match self.idle_for() {
            Some(_) => self.last() + timeout,
            None => Instant::now() + timeout,
        }
    }
}

/// Marks a request in progress on its connection until dropped (answered or abandoned).
struct InProgress(Arc<Activity>);

impl InProgress {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::Relaxed);
        Self(activity.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.touch();
        self.0.requests.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The router as hyper's service, marking each request in progress while it is handled.
#[derive(Clone)]
struct Service {
    router: TowerToHyperService<Router>,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_progress = InProgress::new(&self.activity);
        let response = hyper::service::Service::call(&self.router, request);
        Box::pin(async move {
            let response = response.await;
            drop(in_progress);
            response
        })
    }
}

/// The client's socket, noting each read and write in its [`Activity`].
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
