//! Every limit the HTTP edge enforces, each named with its unit, in one place.
//!
//! The values are the defaults `chitra serve` runs with; tests build smaller ones with struct
//! update syntax. Limits of the library itself (text lengths, status report parsing, group sizes)
//! stay where they are enforced and are listed in `docs/http.md`.

/// The limits of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest JSON request body accepted (413 above it).
    pub request_body_bytes_max: usize,
    /// Largest bank status report upload accepted (413 above it); a million-line pain.002 is
    /// about 250 MiB.
    pub status_report_bytes_max: usize,
    /// Largest roster (CSV of enrolments) upload accepted (413 above it); the parser's own
    /// limit, `roster::ROSTER_BYTES_MAX`, is the same.
    pub roster_bytes_max: usize,
    /// Largest sum of header names and values of one request (431 above it). hyper's own read
    /// buffer is sized from it too, so a larger head is cut off before it is parsed in full.
    pub request_headers_bytes_max: usize,
    /// Most headers one request may carry (431 above it).
    pub request_headers_count_max: usize,
    /// Time a request may take from its head being read to its response (503 after it).
    pub request_timeout_ms: u64,
    /// Time a heavy job (batch compute, release with files, status ingest, verify, export) may
    /// take; such routes get this instead of `request_timeout_ms`.
    pub job_timeout_ms: u64,
    /// Time a client has to send a request head once connected (the connection closes after).
    pub request_head_timeout_ms: u64,
    /// Most items in one page of a listing; a larger `limit` is refused (400).
    pub page_size_max: usize,
    /// Items in a page when the caller does not say.
    pub page_size_default: usize,
    /// Open connections at once; further connections wait in the kernel's accept queue.
    pub connections_max: usize,
    /// Heavy jobs running at once; more get 429 with `Retry-After`.
    pub jobs_concurrent_max: usize,
    /// Longest search text (name) accepted, in characters.
    pub search_text_chars_max: usize,
    /// Time the server waits for in-flight requests after SIGTERM or ctrl-c before it exits.
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            request_body_bytes_max: 1 << 20,
            status_report_bytes_max: 512 << 20,
            roster_bytes_max: crate::roster::ROSTER_BYTES_MAX,
            request_headers_bytes_max: 16 << 10,
            request_headers_count_max: 64,
            request_timeout_ms: 30_000,
            job_timeout_ms: 30 * 60_000,
            request_head_timeout_ms: 10_000,
            page_size_max: 1_000,
            page_size_default: 100,
            connections_max: 1_024,
            jobs_concurrent_max: 2,
            search_text_chars_max: 100,
            shutdown_grace_ms: 30_000,
        }
    }
}

impl Limits {
    /// Each limit with its name and value, for the startup log and `docs/http.md`.
    pub fn table(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("request_body_bytes_max", self.request_body_bytes_max as u64),
            (
                "status_report_bytes_max",
                self.status_report_bytes_max as u64,
            ),
            (
                "request_headers_bytes_max",
                self.request_headers_bytes_max as u64,
            ),
            (
                "request_headers_count_max",
                self.request_headers_count_max as u64,
            ),
            ("request_timeout_ms", self.request_timeout_ms),
            ("job_timeout_ms", self.job_timeout_ms),
            ("request_head_timeout_ms", self.request_head_timeout_ms),
            ("page_size_max", self.page_size_max as u64),
            ("page_size_default", self.page_size_default as u64),
            ("connections_max", self.connections_max as u64),
            ("jobs_concurrent_max", self.jobs_concurrent_max as u64),
            ("search_text_chars_max", self.search_text_chars_max as u64),
            ("shutdown_grace_ms", self.shutdown_grace_ms),
        ]
    }
}
