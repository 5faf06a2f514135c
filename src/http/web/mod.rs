//! The web dashboard, served by `chitra serve` under `/` beside the API (`/v1`): server-rendered
//! HTML (askama templates in `templates/web/`), one stylesheet embedded in the binary, charts
//! as SVG, no script. Staff sign in with their API token, which is exchanged for a session
//! cookie (`session`); every form carries the session's CSRF token.
//!
//! The dashboard holds no rule and no workflow of its own: pages read the same views as the
//! CLI and the API (`app::views`, `domain::batch::review`), actions call the same workflow
//! steps (`app::batches`) or submit the same commands, and who may see or do what is the API's
//! route table (`may`), itself taken from `domain::access` for writes, so a page is open to
//! exactly the roles the API route it mirrors is open to, and the ledger still refuses any
//! command the role may not issue.

mod audit;
mod batches;
pub mod bench;
pub mod chart;
pub mod days;
mod files;
pub mod format;
pub mod i18n;
pub mod overview;
mod people;
pub mod reviews;
pub mod session;
mod verify;
pub mod warm;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{Access, AppState, Problem, Role};
use i18n::{Lang, Text};
use session::{Session, Sessions};

/// What the dashboard's handlers share: the API's state, the sessions, the kept reviews and
/// the auditors' verification.
#[derive(Clone)]
pub struct Web {
    pub app: AppState,
    pub sessions: Arc<Sessions>,
    pub reviews: Arc<reviews::Reviews>,
    /// The auditors' verification of the chain, one at a time (`verify`).
    pub verification: Arc<verify::Verification>,
}

/// The stylesheet, embedded (no CDN, no external font: offices often have no internet).
const STYLE_CSS: &str = include_str!("../../../templates/web/style.css");

/// The dashboard's routes, to be merged into `http::app` (they pass the edge layer, not the
/// API's bearer-token guard: a session cookie stands in for the token here).
pub fn router<S>(app: AppState) -> Router<S> {
    let web = Web {
        reviews: app.web.reviews.clone(),
        app,
        sessions: Arc::new(Sessions::new(session::SESSION_IDLE_MS)),
        verification: Arc::new(verify::Verification::default()),
    };
    let report_bytes_max = web.app.limits.status_report_bytes_max;
    Router::new()
        .route("/", get(home))
        .route("/files", get(files::list))
        .route("/files/{id}", get(files::show))
        .route("/files/{id}/download", post(files::download))
        .route(
            "/status-reports",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::max(report_bytes_max)),
        )
        .route("/assets/style.css", get(style))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/lang/{code}", get(switch_language))
        .route("/overview", get(overview::page_handler))
        .route("/audit", get(audit::page_handler))
        .route("/audit/verify", post(verify::start))
        .route("/audit/verification", get(verify::show))
        .route("/audit/export", post(audit::export))
        .route("/audit/proof", get(audit::proof))
        .route("/people", get(people::search))
        .route("/people/{id}", get(people::page_handler))
        .route("/batches", get(batches::list).post(batches::open))
        .route("/batches/{id}", get(batches::detail))
        .route("/batches/{id}/compute", post(batches::compute))
        .route("/batches/{id}/approve", post(batches::approve))
        .route("/batches/{id}/release", post(batches::release))
        .route("/batches/{id}/breaks/{seq}/resolve", post(batches::resolve))
        .with_state(web)
}

/// Whether a role may use the API route a page or action mirrors: the API's own table.
pub fn may(role: Role, method: &Method, api_path: &str) -> bool {
    static TABLE: OnceLock<HashMap<(Method, &'static str), Access>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        super::routes()
            .into_iter()
            .map(|r| ((r.method, r.path), r.access))
            .collect()
    });
    table
        .get(&(method.clone(), api_path))
        .is_some_and(|a| a.allows(role))
}

/// The language of a request: its cookie, else Vietnamese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    session::cookie(headers, session::LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or(Lang::Vi)
}

/// A signed-in request: its session and language. Without a live session the request is sent
/// to the sign-in page.
pub struct Signed {
    pub session: Session,
    pub lang: Lang,
    /// The path asked for, for the language switch to come back to.
    pub path: String,
}

impl FromRequestParts<Web> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        let lang = lang_of(&parts.headers);
        match web.sessions.of(&web.app.tokens, &parts.headers) {
            Some(session) => Ok(Signed {
                session,
                lang,
                path: parts.uri.path().to_owned(),
            }),
            None => Err(Redirect::to("/sign-in").into_response()),
        }
    }
}

impl Signed {
    pub fn t(&self) -> &'static Text {
        self.lang.text()
    }

    pub fn role(&self) -> Role {
        self.session.caller.role
    }

    pub fn layout(&self) -> Layout {
        let role = self.role();
        let nav = |api: &str| may(role, &Method::GET, api);
        Layout {
            t: self.t(),
            lang: self.lang,
            back: self.path.clone(),
            who: Some(Who {
                principal: self.session.caller.principal.to_string(),
                role: role.name(),
                csrf: self.session.csrf.clone(),
            }),
            nav_overview: nav("/v1/payouts"),
            nav_batches: nav("/v1/batches"),
            nav_people: nav("/v1/beneficiaries"),
            nav_files: nav("/v1/files"),
            nav_audit: may(role, &Method::POST, "/v1/chain/verify"),
            refresh: false,
        }
    }

    /// A page this role may not see, refused in the same words for every page.
    pub fn forbidden(&self) -> Response {
        self.message(StatusCode::FORBIDDEN, self.t().forbidden.to_owned())
    }

    /// A page that says one thing (a refusal, a result), with its status.
    pub fn message(&self, status: StatusCode, text: String) -> Response {
        let l = self.layout();
        let body = MessageBody {
            t: l.t,
            text: &text,
        };
        page(&l, status, l.t.refused, render(&body))
    }

    /// A refusal of the API's edge or of the ledger, in the words the API would use.
    pub fn problem(&self, p: Problem) -> Response {
        let b = p.body();
        let status = StatusCode::from_u16(b.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut text = b.detail.clone().unwrap_or_else(|| b.title.clone());
        if let Some(i) = &b.instance {
            text.push_str(&format!(" ({i})"));
        }
        self.message(status, text)
    }

    /// The refusal of a posted form that does not carry this session's CSRF token (`None`
    /// when it does).
    pub fn csrf_refusal(&self, presented: &str) -> Option<Response> {
        (!session::csrf_ok(&self.session, presented))
            .then(|| self.message(StatusCode::FORBIDDEN, self.t().csrf_refused.to_owned()))
    }
}

/// Who is signed in, as the header shows it.
pub struct Who {
    pub principal: String,
    pub role: &'static str,
    pub csrf: String,
}

/// What the frame of every page needs.
pub struct Layout {
    pub t: &'static Text,
    pub lang: Lang,
    pub back: String,
    pub who: Option<Who>,
    pub nav_overview: bool,
    pub nav_batches: bool,
    pub nav_people: bool,
    pub nav_files: bool,
    pub nav_audit: bool,
    /// Whether the page reloads itself every second (a verification's progress, a review
    /// being prepared).
    pub refresh: bool,
}

impl Layout {
    /// The frame of a page nobody is signed in to.
    fn anonymous(lang: Lang, back: &str) -> Layout {
        Layout {
            t: lang.text(),
            lang,
            back: back.to_owned(),
            who: None,
            nav_overview: false,
            nav_batches: false,
            nav_people: false,
            nav_files: false,
            nav_audit: false,
            refresh: false,
        }
    }

    pub fn other_lang(&self) -> &'static str {
        self.lang.other().code()
    }

    pub fn other_lang_name(&self) -> &'static str {
        self.lang.other().text().lang_name
    }
}

#[derive(Template)]
#[template(path = "web/layout.html")]
struct Frame<'a> {
    l: &'a Layout,
    title: &'a str,
    body: &'a str,
}

#[derive(Template)]
#[template(path = "web/message.html")]
struct MessageBody<'a> {
    t: &'static Text,
    text: &'a str,
}

/// A template's HTML. Rendering into a `String` fails only on a `fmt::Error` of a filter,
/// which no template here can raise; the message says so rather than panicking.
pub fn render(t: &impl Template) -> String {
    t.render()
        .unwrap_or_else(|e| format!("<p>the page could not be rendered: {e}</p>"))
}

/// A whole page: the frame around `body`, with the headers every page carries (no caching of
/// personal data, no framing, nothing loaded from elsewhere).
pub fn page(l: &Layout, status: StatusCode, title: &str, body: String) -> Response {
    let html = render(&Frame {
        l,
        title,
        body: &body,
    });
    html_response(status, html)
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// Unknown paths outside the API: a page, not JSON.
pub fn not_found(headers: &HeaderMap, path: &str) -> Response {
    let lang = lang_of(headers);
    let l = Layout::anonymous(lang, path);
    let body = render(&MessageBody {
        t: l.t,
        text: l.t.not_found,
    });
    page(&l, StatusCode::NOT_FOUND, l.t.not_found, body)
}

async fn style() -> Response {
    let mut res = STYLE_CSS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res
}

async fn home(State(web): State<Web>, headers: HeaderMap) -> Redirect {
    match web.sessions.of(&web.app.tokens, &headers) {
        Some(s) if s.caller.role == Role::Bank => Redirect::to("/files"),
        Some(s) if s.caller.role == Role::Officer => Redirect::to("/people"),
        Some(s) if s.caller.role == Role::Admin => Redirect::to("/audit"),
        Some(_) => Redirect::to("/overview"),
        None => Redirect::to("/sign-in"),
    }
}

#[derive(Template)]
#[template(path = "web/sign_in.html")]
struct SignInBody<'a> {
    t: &'static Text,
    csrf: &'a str,
    failed: bool,
}

/// The sign-in page. Before a session exists, its form is protected by a pre-session cookie
/// whose value the form must echo (so another site cannot sign a browser in as someone else).
async fn sign_in_page(headers: HeaderMap) -> Response {
    sign_in_form(&headers, StatusCode::OK, false)
}

fn sign_in_form(headers: &HeaderMap, status: StatusCode, failed: bool) -> Response {
    let lang = lang_of(headers);
    let l = Layout::anonymous(lang, "/sign-in");
    let csrf = session::random_hex();
    let body = render(&SignInBody {
        t: l.t,
        csrf: &csrf,
        failed,
    });
    let mut res = page(&l, status, l.t.sign_in, body);
    res.headers_mut().append(
        header::SET_COOKIE,
        session::pre_session_cookie(&csrf, session::over_tls(headers)),
    );
    res
}

#[derive(Deserialize)]
struct SignInForm {
    token: String,
    #[serde(default)]
    csrf: String,
}

async fn sign_in(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let expected = session::cookie(&headers, session::PRE_SESSION_COOKIE).unwrap_or("");
    if expected.is_empty() || !session::same_secret(expected, &form.csrf) {
        let l = Layout::anonymous(lang_of(&headers), "/sign-in");
        let body = render(&MessageBody {
            t: l.t,
            text: l.t.csrf_refused,
        });
        return page(&l, StatusCode::FORBIDDEN, l.t.refused, body);
    }
    let Some(s) = web.sessions.sign_in(&web.app.tokens, &form.token) else {
        return sign_in_form(&headers, StatusCode::UNAUTHORIZED, true);
    };
    tracing::info!(target: "chitra::http::web", principal = %s.caller.principal, "signed in");
    let tls = session::over_tls(&headers);
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, session::session_cookie(Some(&s), tls));
    res.headers_mut()
        .append(header::SET_COOKIE, session::pre_session_cookie("", tls));
    res
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

async fn sign_out(State(web): State<Web>, who: Signed, Form(form): Form<CsrfForm>) -> Response {
    if let Some(refused) = who.csrf_refusal(&form.csrf) {
        return refused;
    }
    web.sessions.sign_out(&who.session.id);
    let mut res = Redirect::to("/sign-in").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session::session_cookie(None, session::over_tls(&HeaderMap::new())),
    );
    res
}

#[derive(Deserialize)]
struct Back {
    #[serde(default)]
    back: Option<String>,
}

/// Remembers a language in a cookie and goes back to the page it was chosen on (a path of this
/// site only, never another host).
async fn switch_language(
    axum::extract::Path(code): axum::extract::Path<String>,
    headers: HeaderMap,
    Query(q): Query<Back>,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return not_found(&headers, "/lang");
    };
    let back = q
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let mut res = Redirect::to(&back).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session::lang_cookie(lang, session::over_tls(&headers)),
    );
    res
}
