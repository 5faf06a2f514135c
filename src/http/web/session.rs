//! Dashboard sessions: a person signs in with their API token once and gets a session cookie
//! (`HttpOnly`, `SameSite=Strict`, `Secure` when served over TLS). The server keeps, per
//! session, the token's hash (asked again on every request, so revoking the token ends the
//! session), a CSRF token every form must carry, the language, and when it was last used.
//! Sessions live in memory: a restart signs everyone out, which is the safe direction.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use rand::RngCore;

use super::i18n::Lang;
use crate::http::auth::{token_hash, Caller, Tokens};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "chitra_session";
/// The sign-in form's cookie, whose value the form echoes (CSRF before a session exists).
pub const PRE_SESSION_COOKIE: &str = "chitra_pre";
/// A session unused this long ends (an office laptop left signed in).
pub const SESSION_IDLE_MS: u64 = 30 * 60 * 1000;
/// The language cookie's name (readable before sign-in, so the sign-in page speaks it).
pub const LANG_COOKIE: &str = "chitra_lang";

/// One signed-in person.
#[derive(Clone)]
pub struct Session {
    pub id: String,
    pub caller: Caller,
    /// The value every form of this session posts back.
    pub csrf: String,
    token: blake3::Hash,
    last_seen: Instant,
}

pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::chain::hex(&bytes)
}

impl Sessions {
    pub fn new(idle_ms: u64) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle: Duration::from_millis(idle_ms),
        }
    }

    /// Signs in with a token: a new session, or `None` for a token nobody holds.
    pub fn sign_in(&self, tokens: &Tokens, token: &str) -> Option<Session> {
        let hash = token_hash(token.trim());
        let caller = tokens.authenticate_hash(&hash)?;
        let session = Session {
            id: random_hex(),
            caller,
            csrf: random_hex(),
            token: hash,
            last_seen: Instant::now(),
        };
        let mut map = self.map.lock().expect("sessions lock");
        let idle = self.idle;
        map.retain(|_, s| s.last_seen.elapsed() < idle);
        map.insert(session.id.clone(), session.clone());
        Some(session)
    }

    /// The session of a request's cookie, if it is live and its token still valid.
    pub fn of(&self, tokens: &Tokens, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut map = self.map.lock().expect("sessions lock");
        let live = map
            .get(id)
            .is_some_and(|s| s.last_seen.elapsed() < self.idle);
        let valid = live
            && map
                .get(id)
                .and_then(|s| tokens.authenticate_hash(&s.token))
                .is_some();
        if !valid {
            map.remove(id);
            return None;
        }
        let s = map.get_mut(id)?;
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    pub fn sign_out(&self, id: &str) {
        self.map.lock().expect("sessions lock").remove(id);
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// True when the request reached us over TLS (directly or through a proxy that says so), in
/// which case cookies are marked `Secure`.
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value of a session (or, with `None`, the one that ends it).
pub fn session_cookie(session: Option<&Session>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match session {
        Some(s) => format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            s.id
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).expect("a cookie of hex digits is a valid header")
}

/// The `Set-Cookie` value that remembers a language for a year.
pub fn lang_cookie(lang: Lang, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict{secure}",
        lang.code()
    ))
    .expect("a language code is a valid header")
}

/// The `Set-Cookie` value of the sign-in form's secret (empty: the one that ends it).
pub fn pre_session_cookie(secret: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let age = if secret.is_empty() { "; Max-Age=0" } else { "" };
    HeaderValue::from_str(&format!(
        "{PRE_SESSION_COOKIE}={secret}; Path=/sign-in; HttpOnly; SameSite=Strict{age}{secure}"
    ))
    .expect("hex digits are a valid header")
}

/// Whether a posted CSRF value is the session's.
pub fn csrf_ok(session: &Session, presented: &str) -> bool {
    same_secret(&session.csrf, presented)
}

/// Two secrets compared in constant time.
pub fn same_secret(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
