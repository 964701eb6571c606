//! triage's retry policy for API requests: explicit, bounded, and never a second copy
//! of a write that is not safe to repeat.
//!
//! kube's client retries 429/503/504 on its own by default (`Config::default_retry`:
//! up to 15 times, any method, waiting as long as the server's `Retry-After` says).
//! That would repeat a create or an unconditional delete whose first attempt the
//! server may already have applied (a 504 or a reset says nothing about that), so
//! [`super::connect`] turns it off and installs [`RetryPolicy`] instead:
//!
//! - what is retried: 429 Too Many Requests (after its `Retry-After`, capped at
//!   [`RETRY_AFTER_CAP`]), 503, 504, and a connection lost mid-request (reset, closed
//!   before the response). Never a 500, a 409 or any other answer, and never a request
//!   that ran out of its `--request-timeout`: the deadline is spent.
//! - which requests: reads (GET, and the access reviews, which the API server answers
//!   without storing anything), server-side dry runs (`dryRun=All`: nothing is
//!   persisted), and writes that carry a precondition that makes a repeat harmless
//!   (a DELETE with `preconditions.uid`/`resourceVersion`, a JSON patch that first
//!   `test`s `/metadata/resourceVersion`, a PUT with `metadata.resourceVersion`): if
//!   the first attempt was applied, the repeat fails with a conflict, which triage
//!   reads as "changed since read" and re-plans from (never overwrites). A create has
//!   no such precondition and is never retried.
//! - how often: at most [`MAX_RETRIES`] retries after the first attempt, waiting
//!   [`BACKOFF`] between them, and only while the wait still fits in the request
//!   deadline (`--request-timeout`, counted from the first attempt).
//!
//! [`decide`] is the whole policy as a pure function; the tower layer only classifies
//! the request and the failure and sleeps.

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body::Body as _;
use kube::client::Body;
use serde_json::Value;
use tokio::time::Instant;
use tower::BoxError;

/// Retries after the first attempt, at most.
pub const MAX_RETRIES: u32 = 3;

/// The wait before retry 1, 2, 3 when the server names none.
pub const BACKOFF: [Duration; MAX_RETRIES as usize] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// A server's `Retry-After` is honoured up to this long: a responder is waiting.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(5);

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with this status.
    Status(u16),
    /// The connection was reset or closed before a response came.
    ConnectionLost,
    /// No response within the request deadline.
    TimedOut,
    /// Anything else (TLS, refused connection, DNS): not transient.
    Other,
}

/// What a repeat of the request would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// A read, a dry run or an access review: repeating it changes nothing.
    Harmless,
    /// A write with a precondition: repeating an applied write fails with a conflict.
    Guarded,
    /// A write without a precondition (a create, an unconditional delete): a repeat
    /// could apply it twice or apply what the user never saw.
    Unsafe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp,
}

/// The policy: whether retry number `attempt + 1` (attempt 0 was the first try) of a
/// request that failed with `failure` is made, and after how long. `elapsed` is the
/// time since the first attempt, `deadline` the request timeout (`None`: no limit).
pub fn decide(
    failure: Failure,
    repeat: Repeat,
    attempt: u32,
    retry_after: Option<Duration>,
    elapsed: Duration,
    deadline: Option<Duration>,
) -> Decision {
    let transient = match failure {
        Failure::Status(code) => matches!(code, 429 | 503 | 504),
        Failure::ConnectionLost => true,
        Failure::TimedOut | Failure::Other => false,
    };
    if !transient || repeat == Repeat::Unsafe || attempt >= MAX_RETRIES {
        return Decision::GiveUp;
    }
    let wait = match (failure, retry_after) {
        (Failure::Status(429), Some(asked)) => asked.min(RETRY_AFTER_CAP),
        _ => BACKOFF[attempt as usize],
    };
    if deadline.is_some_and(|limit| elapsed + wait >= limit) {
        return Decision::GiveUp;
    }
    Decision::RetryAfter(wait)
}

/// How repeating this request would act, from its method, query and body.
pub fn classify_request(method: &Method, path_and_query: &str, body: Option<&[u8]>) -> Repeat {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Repeat::Harmless;
    }
    if query.split('&').any(|pair| pair == "dryRun=All") {
        return Repeat::Harmless;
    }
    // NB: access reviews are "create" only in name: the API server evaluates and
    // returns them, nothing is stored (authorization.k8s.io, authentication.k8s.io).
    if *method == Method::POST && path.ends_with("reviews") {
        return Repeat::Harmless;
    }
    let body: Option<Value> = body.and_then(|b| serde_json::from_slice(b).ok());
    // NB: a DELETE carries its dry run in the body (DeleteOptions.dryRun), not the query.
    let dry_run_in_body = body
        .as_ref()
        .and_then(|b| b.get("dryRun"))
        .and_then(Value::as_array)
        .is_some_and(|modes| modes.iter().any(|m| m == "All"));
    if dry_run_in_body {
        return Repeat::Harmless;
    }
    let text = |pointer: &str| {
        body.as_ref()
            .and_then(|b| b.pointer(pointer))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let guarded = match *method {
        Method::DELETE => text("/preconditions/uid") || text("/preconditions/resourceVersion"),
        Method::PUT => text("/metadata/resourceVersion"),
        Method::PATCH => body
            .as_ref()
            .and_then(Value::as_array)
            .and_then(|ops| ops.first())
            .is_some_and(|op| op["op"] == "test" && op["path"] == "/metadata/resourceVersion"),
        _ => false,
    };
    if guarded {
        Repeat::Guarded
    } else {
        Repeat::Unsafe
    }
}

/// A transport error sorted into the cases [`decide`] tells apart.
pub fn classify_error(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                TimedOut => Failure::TimedOut,
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    Failure::ConnectionLost
                }
                _ => Failure::Other,
            };
        }
        if let Some(hyper) = current.downcast_ref::<hyper::Error>() {
            if hyper.is_timeout() {
                return Failure::TimedOut;
            }
            if hyper.is_incomplete_message() || hyper.is_canceled() {
                return Failure::ConnectionLost;
            }
        }
        cause = current.source();
    }
    Failure::Other
}

/// `Retry-After` in seconds (RFC 9110 also allows a date; the API server sends seconds).
fn retry_after<B>(response: &Response<B>) -> Option<Duration> {
    response
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The bytes of a request body kube built in memory (every body kube sends is one
/// buffer, so one poll yields it), `None` for a streaming body.
fn body_bytes(body: &Body) -> Option<Vec<u8>> {
    let mut copy = body.try_clone()?;
    let mut context = Context::from_waker(Waker::noop());
    match std::pin::Pin::new(&mut copy).poll_frame(&mut context) {
        Poll::Ready(None) => Some(Vec::new()),
        Poll::Ready(Some(Ok(frame))) => frame.into_data().ok().map(|data| data.to_vec()),
        _ => None,
    }
}

/// [`decide`] as a tower retry policy, one per request (tower clones it per call).
#[derive(Clone)]
pub struct RetryPolicy {
    deadline: Option<Duration>,
    started: Option<Instant>,
    attempt: u32,
}

impl RetryPolicy {
    pub fn new(deadline: Option<Duration>) -> Self {
        Self {
            deadline,
            started: None,
            attempt: 0,
        }
    }
}

impl<Res> tower::retry::Policy<Request<Body>, Response<Res>, BoxError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Request<Body>,
        result: &mut Result<Response<Res>, BoxError>,
    ) -> Option<Self::Future> {
        let (failure, asked) = match result {
            Ok(response) if response.status().is_success() => return None,
            Ok(response) if response.status() == StatusCode::NOT_MODIFIED => return None,
            Ok(response) => (
                Failure::Status(response.status().as_u16()),
                retry_after(response),
            ),
            Err(error) => (classify_error(error.as_ref()), None),
        };
        let path = request
            .uri()
            .path_and_query()
            .map_or("", |p| p.as_str())
            .to_string();
        let body = body_bytes(request.body());
        let repeat = classify_request(request.method(), &path, body.as_deref());
        let elapsed = self.started.map_or(Duration::ZERO, |s| s.elapsed());
        match decide(failure, repeat, self.attempt, asked, elapsed, self.deadline) {
            Decision::RetryAfter(wait) => {
                self.attempt += 1;
                Some(tokio::time::sleep(wait))
            }
            Decision::GiveUp => None,
        }
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        // tower calls this on the layer's own policy for every new request (attempt 0:
        // its clock starts now; `get_or_insert` here once counted every request's
        // deadline from the first request the process sent, so no retry happened after
        // the first `--request-timeout` of a run), then on that request's copy before
        // each retry (attempt 1 and on: the same clock).
        if self.attempt == 0 {
            self.started = Some(Instant::now());
        }
        let body = request.body().try_clone()?;
        let mut copy = Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone())
            .version(request.version())
            .body(body)
            .ok()?;
        *copy.headers_mut() = request.headers().clone();
        *copy.extensions_mut() = request.extensions().clone();
        Some(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const DEADLINE: Option<Duration> = Some(Duration::from_secs(30));

    fn first(failure: Failure, repeat: Repeat) -> Decision {
        decide(failure, repeat, 0, None, Duration::ZERO, DEADLINE)
    }

    #[test]
    fn reads_are_retried_on_transient_failures_only() {
        for failure in [
            Failure::Status(429),
            Failure::Status(503),
            Failure::Status(504),
            Failure::ConnectionLost,
        ] {
            assert_eq!(
                first(failure, Repeat::Harmless),
                Decision::RetryAfter(BACKOFF[0]),
                "{failure:?}"
            );
        }
        for failure in [
            Failure::Status(500),
            Failure::Status(409),
            Failure::Status(404),
            Failure::Status(403),
            Failure::TimedOut,
            Failure::Other,
        ] {
            assert_eq!(
                first(failure, Repeat::Harmless),
                Decision::GiveUp,
                "{failure:?}"
            );
        }
    }

    #[test]
    fn a_write_without_a_precondition_is_never_retried() {
        for failure in [
            Failure::Status(429),
            Failure::Status(503),
            Failure::Status(504),
            Failure::ConnectionLost,
        ] {
            assert_eq!(first(failure, Repeat::Unsafe), Decision::GiveUp);
            assert_eq!(
                first(failure, Repeat::Guarded),
                Decision::RetryAfter(BACKOFF[0])
            );
        }
    }

    #[test]
    fn retries_are_bounded_in_number_and_by_the_deadline() {
        let retry = |attempt| {
            decide(
                Failure::Status(503),
                Repeat::Harmless,
                attempt,
                None,
                Duration::ZERO,
                DEADLINE,
            )
        };
        assert_eq!(retry(1), Decision::RetryAfter(BACKOFF[1]));
        assert_eq!(retry(2), Decision::RetryAfter(BACKOFF[2]));
        assert_eq!(retry(MAX_RETRIES), Decision::GiveUp);
        // The wait no longer fits in the request deadline.
        let late = decide(
            Failure::Status(503),
            Repeat::Harmless,
            0,
            None,
            Duration::from_millis(29_900),
            DEADLINE,
        );
        assert_eq!(late, Decision::GiveUp);
        // `--request-timeout 0`: only the count bounds it.
        let unlimited = decide(
            Failure::Status(503),
            Repeat::Harmless,
            0,
            None,
            Duration::from_secs(3600),
            None,
        );
        assert_eq!(unlimited, Decision::RetryAfter(BACKOFF[0]));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let asked = |secs| {
            decide(
                Failure::Status(429),
                Repeat::Harmless,
                0,
                Some(secs * S),
                Duration::ZERO,
                DEADLINE,
            )
        };
        assert_eq!(asked(2), Decision::RetryAfter(2 * S));
        assert_eq!(asked(600), Decision::RetryAfter(RETRY_AFTER_CAP));
        // Only a 429 says when to come back; a 503's header is not a promise.
        let unavailable = decide(
            Failure::Status(503),
            Repeat::Harmless,
            0,
            Some(2 * S),
            Duration::ZERO,
            DEADLINE,
        );
        assert_eq!(unavailable, Decision::RetryAfter(BACKOFF[0]));
    }

    #[test]
    fn requests_are_classified_by_method_query_and_precondition() {
        let repeat = |method: Method, path: &str, body: &str| {
            classify_request(&method, path, Some(body.as_bytes()))
        };
        let pods = "/api/v1/namespaces/n/pods";
        assert_eq!(repeat(Method::GET, pods, ""), Repeat::Harmless);
        assert_eq!(repeat(Method::POST, pods, "{}"), Repeat::Unsafe);
        assert_eq!(
            repeat(
                Method::POST,
                &format!("{pods}?dryRun=All&fieldManager=triage"),
                "{}"
            ),
            Repeat::Harmless
        );
        assert_eq!(
            repeat(
                Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                "{}"
            ),
            Repeat::Harmless
        );
        let cm = "/api/v1/namespaces/n/configmaps/lock";
        assert_eq!(
            repeat(
                Method::DELETE,
                cm,
                r#"{"propagationPolicy":"Background","preconditions":{"uid":"u-1","resourceVersion":"7"}}"#
            ),
            Repeat::Guarded
        );
        assert_eq!(
            repeat(Method::DELETE, cm, r#"{"propagationPolicy":"Background"}"#),
            Repeat::Unsafe
        );
        assert_eq!(
            repeat(Method::DELETE, cm, r#"{"dryRun":["All"]}"#),
            Repeat::Harmless
        );
        assert_eq!(
            repeat(
                Method::PATCH,
                cm,
                r#"[{"op":"test","path":"/metadata/resourceVersion","value":"7"},{"op":"remove","path":"/data/x"}]"#
            ),
            Repeat::Guarded
        );
        assert_eq!(
            repeat(Method::PATCH, cm, r#"[{"op":"remove","path":"/data/x"}]"#),
            Repeat::Unsafe
        );
        assert_eq!(
            repeat(
                Method::PUT,
                cm,
                r#"{"metadata":{"name":"lock","resourceVersion":"7"}}"#
            ),
            Repeat::Guarded
        );
        assert_eq!(
            repeat(Method::PUT, cm, r#"{"metadata":{"name":"lock"}}"#),
            Repeat::Unsafe
        );
    }

    #[test]
    fn transport_errors_are_sorted() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(classify_error(&reset), Failure::ConnectionLost);
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(classify_error(&timeout), Failure::TimedOut);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(classify_error(&refused), Failure::Other);
    }

    use tower::retry::Policy;

    /// As tower's `Retry` service drives the policy: `clone_request` on the layer's
    /// own policy for each new request, then a clone of it follows that request.
    fn send(layer: &mut RetryPolicy) -> (Request<Body>, RetryPolicy) {
        let request = Request::get("/api/v1/namespaces/ns/pods")
            .body(Body::empty())
            .unwrap();
        let _copy = Policy::<_, Response<()>, BoxError>::clone_request(layer, &request);
        (request, layer.clone())
    }

    #[tokio::test]
    async fn each_request_has_its_own_deadline() {
        let deadline = Duration::from_millis(500);
        let mut layer = RetryPolicy::new(Some(deadline));
        let _first = send(&mut layer);
        // Past the deadline, counted from the first request: a later request's own
        // deadline has not begun.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let (mut request, mut policy) = send(&mut layer);
        let throttled = || -> Result<Response<()>, BoxError> {
            Ok(Response::builder().status(503).body(()).unwrap())
        };
        assert!(
            policy.retry(&mut request, &mut throttled()).is_some(),
            "a 503 of a read {BACKOFF:?} into its own {deadline:?} is retried"
        );
        // The retry keeps the request's clock: its second wait (500 ms) would end past
        // the deadline.
        let _retry = Policy::<_, Response<()>, BoxError>::clone_request(&mut policy, &request);
        assert!(policy.retry(&mut request, &mut throttled()).is_none());
    }

    #[test]
    fn the_body_of_a_kube_request_is_read_without_consuming_it() {
        let body = Body::from(br#"{"preconditions":{"uid":"u"}}"#.to_vec());
        assert_eq!(
            body_bytes(&body).as_deref(),
            Some(&br#"{"preconditions":{"uid":"u"}}"#[..])
        );
        assert_eq!(body_bytes(&body).map(|b| b.len()), Some(29));
        assert_eq!(body_bytes(&Body::empty()), Some(Vec::new()));
    }
}
