//! The HTTP API (`chitra serve`): axum over the same writer and projections as the command line.
//!
//! `app(state)` is the whole API as one `Router`, which tests drive in-process and `server`
//! serves on a socket. Every route is declared once, in `routes()`, with its method, path, body
//! limit and who may call it; a guard applied after routing authenticates the bearer token,
//! checks the role, refuses a declared body above the route's limit before any of it is read,
//! and bounds the request's time. Handlers live in one file per resource group.
//!
//! Reads never block the async workers: the state is read on the blocking pool and the answer
//! waits (asynchronously) until what it saw is durable. Writes go to the writer with
//! `submit_many_async`; heavy jobs run on the blocking pool, at most `jobs_concurrent_max` at once.
//!
//! Only this module (and the CLI) knows axum.

pub mod auth;
mod batches;
mod beneficiaries;
mod chain;
mod department;
mod files;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod problem;
mod proofs;
mod reader;
mod reports;
pub mod search;
pub mod server;
mod support;
pub mod web;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;

pub use auth::{Caller, Role, Tokens};
pub use limits::{BodyLimit, Limits};
pub use problem::Problem;

use crate::ledger::Ledger;

/// Threads that serve state reads in batches (one lock acquisition for many requests).
const READER_THREADS: usize = 1;

/// A lock per (principal, Idempotency-Key) of a heavy job.
type JobKeys = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

/// Routes by method and path, as the guard looks them up.
type RouteTable = Arc<HashMap<(Method, &'static str), RouteInfo>>;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub ledger: Ledger,
    pub tokens: Tokens,
    pub limits: Limits,
    /// The data directory's configuration (paying departments, pay points), read at start.
    settings: Arc<crate::app::config::Settings>,
    pub metrics: metrics::HttpMetrics,
    pub search: search::Index,
    /// The dashboard's kept reviews and background warm-up (`web::warm`).
    pub web: web::warm::Warm,
    readers: reader::Readers,
    jobs: Arc<tokio::sync::Semaphore>,
    /// One lock per (principal, Idempotency-Key) of a heavy job in progress, so that concurrent
    /// retries of the same job wait for the first instead of computing it again.
    job_keys: std::sync::Mutex<JobKeys>,
}

impl AppState {
    pub fn new(
        ledger: Ledger,
        tokens: Tokens,
        limits: Limits,
        settings: crate::app::config::Settings,
    ) -> AppState {
        let readers = reader::Readers::start(&ledger, READER_THREADS);
        AppState(Arc::new(Inner {
            ledger,
            tokens,
            metrics: metrics::HttpMetrics::new(&routes()),
            search: search::Index::default(),
            web: web::warm::Warm::default(),
            readers,
            jobs: Arc::new(tokio::sync::Semaphore::new(limits.jobs_concurrent_max)),
            job_keys: std::sync::Mutex::new(HashMap::new()),
            limits,
            settings: Arc::new(settings),
        }))
    }

    pub fn ledger(&self) -> &Ledger {
        &self.0.ledger
    }

    pub fn settings(&self) -> Arc<crate::app::config::Settings> {
        Arc::clone(&self.0.settings)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (health, metrics, the OpenAPI document).
    Public,
    /// A token of one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub fn allows(&self, role: Role) -> bool {
        match self {
            Access::Public => true,
            Access::Roles(r) => r.contains(&role),
        }
    }
}

/// One route as served: the OpenAPI agreement test and the authorisation matrix walk these.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    /// True for heavy jobs, which get `job_timeout_ms` and count against `jobs_concurrent_max`.
    pub job: bool,
    /// True when the route appends to the chain (a write, for the matrix test).
    pub writes: bool,
    /// The largest body the route takes: a declared `Content-Length` above it is refused (413)
    /// before the body is read, and a body without one is cut off when it grows beyond it.
    pub body: BodyLimit,
}

struct Api {
    router: Router<AppState>,
    routes: Vec<RouteInfo>,
    /// The body limit of routes added without their own.
    json_body: BodyLimit,
}

#[derive(Clone, Copy)]
enum Kind {
    Read,
    Write,
    Job,
    /// A heavy job that reads only (verify, export).
    ReadJob,
}

impl Api {
    /// A route whose body is JSON (or nothing), up to `request_body_bytes_max`.
    fn add<H, T>(
        self,
        method: Method,
        path: &'static str,
        access: Access,
        kind: Kind,
        handler: H,
    ) -> Api
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let body = self.json_body;
        self.add_with_body_limit(method, path, access, kind, body, handler)
    }

    /// Like `add`, with its own body limit (roster and status report uploads).
    fn add_with_body_limit<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        kind: Kind,
        body: BodyLimit,
        handler: H,
    ) -> Api
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        // The guard refuses a declared length above the limit; this layer makes axum's body
        // extractors cut off a body sent without one (chunked) at the same limit.
        self.router = self.router.route(
            path,
            on(filter, handler).layer(DefaultBodyLimit::max(body.bytes_max)),
        );
        self.routes.push(RouteInfo {
            method,
            path,
            access,
            job: matches!(kind, Kind::Job | Kind::ReadJob),
            writes: matches!(kind, Kind::Write | Kind::Job),
            body,
        });
        self
    }
}

use Role::*;

/// Reads of people: everyone but banks.
const READ_PEOPLE: &[Role] = &[Officer, Maker, Checker, Auditor];
/// Reads of finance: batches, payouts, breaks.
const READ_FINANCE: &[Role] = &[Maker, Checker, Auditor];
/// Reads of the chain and reference data: everyone but banks.
const READ_ALL: &[Role] = &[Officer, Maker, Checker, Auditor, Admin];
const AUDITOR: &[Role] = &[Auditor];
const ADMIN: &[Role] = &[Admin];
/// Proofs that reveal no record a bank may not see: the tree, consistency, a payment's own.
const PROOFS: &[Role] = &[Officer, Maker, Checker, Auditor, Admin, Bank];
/// Files: finance, auditors, and banks (their own only).
const FILES: &[Role] = &[Maker, Checker, Auditor, Bank];

/// A route that submits the named command may be called by exactly the roles the ledger lets
/// issue it (`domain::access`), so the edge and the ledger cannot disagree.
fn writes(command: &'static str) -> Access {
    Access::Roles(crate::domain::access::roles_for_name(command))
}

fn build(limits: &Limits) -> Api {
    use Kind::*;
    let api = Api {
        router: Router::new(),
        routes: Vec::new(),
        json_body: limits.json_body(),
    };
    let (get, post, delete) = (Method::GET, Method::POST, Method::DELETE);
    let r = |roles| Access::Roles(roles);
    api
        // Operations.
        .add(
            get.clone(),
            "/healthz",
            Access::Public,
            Read,
            chain::healthz,
        )
        .add(get.clone(), "/readyz", Access::Public, Read, chain::readyz)
        .add(
            get.clone(),
            "/metrics",
            Access::Public,
            Read,
            chain::metrics,
        )
        .add(
            get.clone(),
            "/v1/openapi.json",
            Access::Public,
            Read,
            openapi::serve,
        )
        // Beneficiaries.
        .add(
            post.clone(),
            "/v1/beneficiaries",
            writes("enrol"),
            Write,
            beneficiaries::enrol,
        )
        .add(
            get.clone(),
            "/v1/beneficiaries",
            r(READ_PEOPLE),
            Read,
            beneficiaries::search,
        )
        .add_with_body_limit(
            post.clone(),
            "/v1/rosters",
            writes("import_roster"),
            Job,
            limits.roster_body(),
            beneficiaries::roster,
        )
        .add(
            get.clone(),
            "/v1/beneficiaries/{id}",
            r(READ_PEOPLE),
            Read,
            beneficiaries::show,
        )
        .add(
            post.clone(),
            "/v1/beneficiaries/{id}/corrections",
            writes("correct_details"),
            Write,
            beneficiaries::correct,
        )
        .add(
            post.clone(),
            "/v1/beneficiaries/{id}/route",
            writes("set_payment_route"),
            Write,
            beneficiaries::set_route,
        )
        .add(
            post.clone(),
            "/v1/beneficiaries/{id}/death",
            writes("record_death"),
            Write,
            beneficiaries::record_death,
        )
        .add(
            post.clone(),
            "/v1/beneficiaries/{id}/hold",
            writes("hold_for_review"),
            Write,
            beneficiaries::hold,
        )
        .add(
            post.clone(),
            "/v1/beneficiaries/{id}/hold/clear",
            writes("clear_review"),
            Write,
            beneficiaries::clear_hold,
        )
        .add(
            post.clone(),
            "/v1/beneficiaries/{id}/erasure",
            writes("erase_personal_data"),
            Write,
            beneficiaries::erase,
        )
        .add(
            get.clone(),
            "/v1/beneficiaries/{id}/due",
            r(READ_PEOPLE),
            Read,
            beneficiaries::due,
        )
        // Entitlement decisions.
        .add(
            post.clone(),
            "/v1/beneficiaries/{id}/entitlements",
            writes("grant_entitlement"),
            Write,
            beneficiaries::grant,
        )
        .add(
            get.clone(),
            "/v1/entitlements/{id}",
            r(READ_PEOPLE),
            Read,
            beneficiaries::entitlement,
        )
        .add(
            post.clone(),
            "/v1/entitlements/{id}/adjustments",
            writes("adjust_entitlement"),
            Write,
            beneficiaries::adjust,
        )
        .add(
            post.clone(),
            "/v1/entitlements/{id}/suspensions",
            writes("suspend_entitlement"),
            Write,
            beneficiaries::suspend,
        )
        .add(
            post.clone(),
            "/v1/entitlements/{id}/resumptions",
            writes("resume_entitlement"),
            Write,
            beneficiaries::resume,
        )
        .add(
            post.clone(),
            "/v1/entitlements/{id}/terminations",
            writes("terminate_entitlement"),
            Write,
            beneficiaries::terminate,
        )
        // Rate schedules.
        .add(
            get.clone(),
            "/v1/rate-schedules",
            r(READ_ALL),
            Read,
            chain::rate_schedules,
        )
        .add(
            post.clone(),
            "/v1/rate-schedules",
            writes("enact_rate_schedule"),
            Write,
            chain::enact_rate_schedule,
        )
        // Batches.
        .add(
            post.clone(),
            "/v1/batches",
            writes("open_batch"),
            Write,
            batches::open,
        )
        .add(
            get.clone(),
            "/v1/batches",
            r(READ_FINANCE),
            Read,
            batches::list,
        )
        .add(
            get.clone(),
            "/v1/batches/{id}",
            r(READ_FINANCE),
            Read,
            batches::show,
        )
        .add(
            post.clone(),
            "/v1/batches/{id}/compute",
            writes("compute_batch"),
            Job,
            batches::compute,
        )
        .add(
            get.clone(),
            "/v1/batches/{id}/review",
            r(READ_FINANCE),
            Read,
            batches::review,
        )
        .add(
            post.clone(),
            "/v1/batches/{id}/approve",
            writes("approve_batch"),
            Write,
            batches::approve,
        )
        .add(
            post.clone(),
            "/v1/batches/{id}/release",
            writes("release_batch"),
            Job,
            batches::release,
        )
        .add(
            post.clone(),
            "/v1/batches/{id}/cancel",
            writes("cancel_batch"),
            Write,
            batches::cancel,
        )
        .add(
            post.clone(),
            "/v1/batches/{id}/close",
            writes("close_batch"),
            Write,
            batches::close,
        )
        .add(
            get.clone(),
            "/v1/batches/{id}/reconciliation",
            r(READ_FINANCE),
            Read,
            batches::reconciliation,
        )
        .add(
            get.clone(),
            "/v1/batches/{id}/files",
            r(FILES),
            Read,
            files::of_batch,
        )
        .add(
            get.clone(),
            "/v1/breaks",
            r(READ_FINANCE),
            Read,
            batches::breaks,
        )
        .add(
            post.clone(),
            "/v1/breaks/{seq}/resolve",
            writes("resolve_break"),
            Write,
            batches::resolve_break,
        )
        // Payment files and bank status.
        .add(get.clone(), "/v1/files", r(FILES), Read, files::list)
        .add(get.clone(), "/v1/files/{id}", r(FILES), Read, files::show)
        .add(
            get.clone(),
            "/v1/files/{id}/content",
            r(FILES),
            Write,
            files::download,
        )
        .add_with_body_limit(
            post.clone(),
            "/v1/status-reports",
            writes("ingest_status_report"),
            Job,
            limits.status_report_body(),
            files::upload_status,
        )
        // Payout projections.
        .add(
            get.clone(),
            "/v1/payouts",
            r(READ_FINANCE),
            Read,
            batches::payouts,
        )
        // The chain.
        .add(get.clone(), "/v1/chain", r(READ_ALL), Read, chain::status)
        .add(
            post.clone(),
            "/v1/chain/verify",
            r(AUDITOR),
            ReadJob,
            chain::verify,
        )
        .add(
            get.clone(),
            "/v1/chain/export",
            r(AUDITOR),
            ReadJob,
            chain::export,
        )
        .add(post.clone(), "/v1/backup", r(ADMIN), ReadJob, chain::backup)
        // Tokens.
        .add(
            get.clone(),
            "/v1/tokens",
            r(ADMIN),
            Read,
            chain::list_tokens,
        )
        .add(post.clone(), "/v1/tokens", r(ADMIN), Read, chain::add_token)
        .add(
            delete,
            "/v1/tokens/{principal}",
            r(ADMIN),
            Read,
            chain::revoke_token,
        )
        // Proofs over the Merkle tree (docs/proofs.md): the chain's readers, and banks for the
        // tree, consistency and their own payments.
        .add(
            get.clone(),
            "/v1/proofs/tree",
            r(PROOFS),
            Read,
            proofs::tree,
        )
        .add(
            get.clone(),
            "/v1/proofs/inclusion/{seq}",
            r(READ_ALL),
            Read,
            proofs::inclusion,
        )
        .add(
            get.clone(),
            "/v1/proofs/checkpoints",
            r(PROOFS),
            Read,
            proofs::checkpoints,
        )
        .add(
            get.clone(),
            "/v1/proofs/consistency",
            r(PROOFS),
            Read,
            proofs::consistency,
        )
        .add(
            get.clone(),
            "/v1/payments/{id}/proof",
            r(PROOFS),
            Read,
            proofs::payment,
        )
        .add(
            get.clone(),
            "/v1/payments/{id}/receipt",
            r(PROOFS),
            Read,
            proofs::receipt,
        )
        // The department's reads (issue 12).
        .add(
            get.clone(),
            "/v1/schemes",
            r(READ_ALL),
            Read,
            reports::schemes,
        )
        .add(
            get.clone(),
            "/v1/figures",
            r(READ_ALL),
            ReadJob,
            reports::figures,
        )
        .add(
            get.clone(),
            "/v1/calendar",
            r(READ_ALL),
            Read,
            reports::calendar,
        )
        // Funds and identity checks (issue 12).
        .add(
            post.clone(),
            "/v1/funds/allocations",
            writes("allocate_funds"),
            Write,
            department::allocate,
        )
        .add(
            get.clone(),
            "/v1/funds",
            r(READ_FINANCE),
            Read,
            department::funds,
        )
        .add_with_body_limit(
            post.clone(),
            "/v1/identity-checks",
            writes("record_identity_check"),
            Job,
            limits.identity_check_body(),
            department::record_check,
        )
        .add(
            post.clone(),
            "/v1/identity-checks/mode",
            writes("set_identity_check_mode"),
            Write,
            department::set_mode,
        )
}

/// Every route the API serves, with who may call it.
pub fn routes() -> Vec<RouteInfo> {
    build(&Limits::default()).routes
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    let Api { router, routes, .. } = build(&state.limits);
    let table: RouteTable = Arc::new(
        routes
            .into_iter()
            .map(|r| ((r.method.clone(), r.path), r))
            .collect(),
    );
    router
        .route_layer(middleware::from_fn_with_state(
            (state.clone(), table),
            guard,
        ))
        // The dashboard (issue 13): pages under `/`, signed in by session cookie, not guarded
        // by the bearer token.
        .merge(web::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    // A browser (asking for HTML) outside the API gets the dashboard's page; every API client
    // gets the problem document.
    let path = uri.path();
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if browser && path != "/v1" && !path.starts_with("/v1/") {
        web::not_found(&headers, path)
    } else {
        Problem::not_found("no such route (the API lives under /v1)").into_response()
    }
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "the path exists but not with this method",
    )
}

/// The principal of a request, on its response, for the request log.
#[derive(Clone)]
struct LoggedPrincipal(String);

/// Outermost: the header limits, then metrics and the request log (route, status, latency and
/// principal; never a token, a citizen ID or an account number, so never the URI's query).
async fn edge(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let headers = req.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    let res = if header_bytes > state.limits.request_headers_bytes_max
        || headers.len() > state.limits.request_headers_count_max
    {
        Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!(
                "the request's headers exceed request_headers_bytes_max ({} bytes) or request_headers_count_max ({})",
                state.limits.request_headers_bytes_max, state.limits.request_headers_count_max
            ),
        )
        .into_response()
    } else {
        next.run(req).await
    };
    let latency = started.elapsed();
    let route = res
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .or(route)
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let status = res.status().as_u16();
    state
        .metrics
        .observe(method.as_str(), &route, status, latency);
    let principal = res
        .extensions()
        .get::<LoggedPrincipal>()
        .map_or("-", |p| p.0.as_str());
    let problem = res
        .extensions()
        .get::<problem::ProblemCode>()
        .map_or("", |p| p.0.as_str());
    tracing::info!(
        target: "chitra::http::request",
        method = %method,
        route = %route,
        status,
        latency_ms = latency.as_secs_f64() * 1e3,
        principal,
        problem,
        "request"
    );
    res
}

/// After routing: authenticates and authorises by the route's `Access`, and bounds its time.
async fn guard(
    State((state, table)): State<(AppState, RouteTable)>,
    mut req: Request,
    next: Next,
) -> Response {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .cloned()
        .expect("route_layer runs on matched routes");
    let Some(info) = table.get(&(req.method().clone(), matched.as_str())) else {
        // A route added without an entry would be a bug; refuse rather than serve it open.
        return with_path(Problem::forbidden("any").into_response(), matched);
    };
    let mut principal = None;
    if let Access::Roles(_) = info.access {
        let caller = match req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::bearer)
            .and_then(|t| state.tokens.authenticate(t))
        {
            Some(c) => c,
            None => {
                let mut res = Problem::unauthenticated().into_response();
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"chitra\""),
                );
                return with_path(res, matched);
            }
        };
        principal = Some(caller.principal.to_string());
        if !info.access.allows(caller.role) {
            let mut res = Problem::forbidden(caller.role.name()).into_response();
            res.extensions_mut()
                .insert(LoggedPrincipal(caller.principal.to_string()));
            return with_path(res, matched);
        }
        req.extensions_mut().insert(caller);
    }
    // Before the body is read and before a job slot is taken: a client that declares more than
    // the route takes is answered now, not after waiting for bytes it may never send (hyper
    // then closes the connection instead of reading the body, and sends no 100 Continue).
    if let Some(declared) = declared_length(&req) {
        if declared > info.body.bytes_max as u64 {
            let mut res = Problem::too_large(info.body.name, info.body.bytes_max).into_response();
            if let Some(p) = principal {
                res.extensions_mut().insert(LoggedPrincipal(p));
            }
            return with_path(res, matched);
        }
    }
    let (limit_name, ms) = if info.job {
        ("job_timeout_ms", state.limits.job_timeout_ms)
    } else {
        ("request_timeout_ms", state.limits.request_timeout_ms)
    };
    let mut res = match tokio::time::timeout(Duration::from_millis(ms), next.run(req)).await {
        Ok(res) => res,
        Err(_) => Problem::timeout(limit_name, ms).into_response(),
    };
    if let Some(p) = principal {
        res.extensions_mut().insert(LoggedPrincipal(p));
    }
    with_path(res, matched)
}

/// The request's `Content-Length`, when it declares one (hyper has refused an invalid one).
fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn with_path(mut res: Response, matched: MatchedPath) -> Response {
    res.extensions_mut().insert(matched);
    res
}
