//! Page render times for `chitra bench web`: the whole app in-process (router, edge layer,
//! session, the page's reads and its template), each page requested as a signed-in browser
//! would, timed from request to the last byte of the body.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use tower::ServiceExt;

use crate::http::AppState;

/// One page's timings.
#[derive(Debug, Clone)]
pub struct PageTiming {
    pub path: String,
    pub principal: String,
    pub status: u16,
    pub bytes: usize,
    /// Every sample, sorted.
    pub samples: Vec<Duration>,
}

impl PageTiming {
    pub fn median(&self) -> Duration {
        self.samples[self.samples.len() / 2]
    }

    pub fn max(&self) -> Duration {
        self.samples.last().copied().unwrap_or_default()
    }
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<String>, usize) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .collect();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .map(|b| b.len())
        .unwrap_or(0);
    (status, cookies, body)
}

/// Signs in with `token` through the sign-in form: the session cookie.
async fn sign_in(app: &axum::Router, token: &str) -> Option<String> {
    let req = Request::get("/sign-in").body(Body::empty()).ok()?;
    let res = app.clone().oneshot(req).await.ok()?;
    let pre = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(super::session::PRE_SESSION_COOKIE))?
        .split(';')
        .next()?
        .to_owned();
    let secret = pre.split_once('=')?.1.to_owned();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/sign-in")
        .header(header::COOKIE, &pre)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}&csrf={secret}")))
        .ok()?;
    let (_, cookies, _) = send(app, req).await;
    cookies
        .into_iter()
        .find(|c| c.starts_with(super::session::SESSION_COOKIE) && !c.ends_with('='))
}

/// Times each `(token, path)` `samples` times, the first request included, as a server that
/// has been up a little while serves them: the app is built and its warm-up started (`warm`:
/// the search index, the newest batches' reviews), and let finish before the first request, so the
/// `max` shows whether a first view still pays for a computation.
pub async fn render_times(
    state: AppState,
    pages: &[(&str, String)],
    samples: usize,
) -> Vec<PageTiming> {
    let app = crate::http::app(state.clone());
    super::warm::start(&state);
    super::warm::settled(&state).await;
    let mut out = Vec::new();
    for (token, path) in pages {
        let principal = state
            .tokens
            .authenticate(token)
            .map_or_else(|| "?".to_owned(), |c| c.principal.to_string());
        let Some(cookie) = sign_in(&app, token).await else {
            out.push(PageTiming {
                path: path.clone(),
                principal,
                status: 401,
                bytes: 0,
                samples: vec![Duration::ZERO],
            });
            continue;
        };
        let get = || {
            Request::get(path.as_str())
                .header(header::COOKIE, &cookie)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .expect("a valid request")
        };
        let (mut status, mut bytes) = (0, 0);
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples.max(1) {
            let started = Instant::now();
            let (s, _, b) = send(&app, get()).await;
            times.push(started.elapsed());
            (status, bytes) = (s.as_u16(), b);
        }
        times.sort();
        out.push(PageTiming {
            path: path.clone(),
            principal,
            status,
            bytes,
            samples: times,
        });
    }
    out
}
