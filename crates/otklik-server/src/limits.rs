//! The limits a hostile client meets: connections are served by hyper with a header-read timeout
//! (a half-sent or idle request is closed) and a cap on open connections (at the cap, new ones
//! wait in the listen queue instead of running the process out of file descriptors); every
//! request has a deadline; requests without a token or a live session are rate-limited per
//! address.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

use crate::problem::ApiError;

/// How long requests in flight may take to finish once the server is told to stop.
const DRAIN_FOR: Duration = Duration::from_secs(30);

/// The connection and request limits in force (from the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A client must send a request's headers within this time of starting it (or of the
    /// previous response, on a kept-alive connection), else the connection is closed.
    pub header_read_timeout: Duration,
    /// A request (body included) must be answered within this time, else it is a 408.
    pub request_timeout: Duration,
    /// Open client connections at most; more wait to be accepted.
    pub max_client_connections: usize,
    /// Requests without a token one address may make per minute (health probes aside).
    pub anonymous_requests_per_minute: u32,
}

/// Accepts connections until `shutdown` completes, then lets the requests in flight finish.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_client_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or the like: wait a moment rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let mut router = router.clone();
            async move { Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|never| match never {})) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_FOR, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after {} s were cut off", DRAIN_FOR.as_secs());
    }
    Ok(())
}

/// Middleware: a request not answered within the configured time is a 408.
pub(crate) async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout(format!("the request was not completed within {} s", limit.as_secs()))
            .into_response(),
    }
}

/// Middleware: a refusal sent before the request's body was read (too large, too slow) closes
/// the connection, so the client does not send its next request on a connection still
/// carrying the unread rest of this one.
pub(crate) async fn close_after_unread_body(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if matches!(response.status(), StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Per-address allowance for requests that carry no token.
pub(crate) struct AnonymousLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    per_minute: u32,
}

impl AnonymousLimiter {
    pub(crate) fn new(per_minute: u32) -> AnonymousLimiter {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).expect("at least one"));
        AnonymousLimiter { limiter: RateLimiter::keyed(quota), per_minute }
    }

    /// True when `address` may make one more anonymous request now.
    fn allow(&self, address: IpAddr) -> bool {
        // Forget addresses whose allowance is full again, so the table stays as small as the
        // set of addresses active within the last minute.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&address).is_ok()
    }
}

/// Middleware: requests without an `Authorization` header (except the health probes) are
/// limited per client address; over the limit they are a 429 with `Retry-After`.
pub(crate) async fn anonymous_rate_limit(
    State(limiter): State<Arc<AnonymousLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let probe = matches!(request.uri().path(), "/healthz" | "/readyz");
    // A token's holder, or a person signed in to the workspace, is not anonymous.
    let anonymous = !request.headers().contains_key(header::AUTHORIZATION)
        && request.extensions().get::<crate::web::workspace::KnownSession>().is_none();
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    if let (false, true, Some(address)) = (probe, anonymous, address)
        && !limiter.allow(address)
    {
        let mut response = ApiError::TooManyRequests(format!(
            "more than {} requests a minute without a token from this address; try again shortly",
            limiter.per_minute
        ))
        .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anonymous_allowance_is_per_address() {
        let limiter = AnonymousLimiter::new(3);
        let first: IpAddr = [127, 0, 0, 1].into();
        let second: IpAddr = [127, 0, 0, 2].into();
        assert!((0..3).all(|_| limiter.allow(first)));
        assert!(!limiter.allow(first));
        assert!(limiter.allow(second));
    }
}
