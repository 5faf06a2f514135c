//! Every limit the HTTP edge enforces, each named with its unit, in one place.
//!
//! The values are the defaults `chitra serve` runs with; tests build smaller ones with struct
//! update syntax. Limits of the library itself (text lengths, status report parsing, group sizes)
//! stay where they are enforced and are listed in `docs/http.md`.

/// Most read requests served under one acquisition of the state lock (`reader`).
pub const READ_BATCH_REQUESTS_MAX: usize = 256;
/// Most records a write response lists; a larger write (a batch computation) lists none and
/// says how many there were.
pub const RESPONSE_EVENTS_MAX: u32 = 100;
/// Most warnings and refusals listed in a roster's answer (all are counted).
pub const ROSTER_LISTED_MAX: usize = 100;
/// Rows of a long list (changes, communes, people left out) a dashboard page shows before it says
/// how many more there are; the API pages through all of them.
pub const WEB_PAGE_ROWS_MAX: usize = 200;
/// Largest JSON answer of an API handler a dashboard page reads back in-process (the auditors'
/// page: chain status, a proof of a few kilobytes).
pub const WEB_API_ANSWER_BYTES_MAX: usize = 1 << 20;
/// Computed batches whose review the dashboard keeps (`web::reviews`; a month has a few
/// batches per programme).
pub const REVIEW_CACHE_BATCHES_MAX: usize = 32;
/// Computed batches whose review the dashboard's warm-up (`web::warm`) computes when the server
/// starts, the newest first (the months staff are working on); an older batch's review is
/// started in the background by its first view, which says it is being prepared (one awaiting
/// approval waits for it: the approval binds what the checker saw). Batches computed while the
/// server runs all get theirs.
pub const WARM_AT_START_BATCHES_MAX: usize = 4;

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
    /// Largest identity-check answer file accepted (413 above it); the parser's own limit,
    /// `identity_check::IDENTITY_CHECK_BYTES_MAX`, is the same.
    pub identity_check_bytes_max: usize,
    /// Largest sum of header names and values of one request (431 above it). hyper's own read
    /// buffer is sized from it too (`head_read_buffer_bytes_max`), so a larger head is cut off
    /// before it is parsed in full.
    pub request_headers_bytes_max: usize,
    /// Most headers one request may carry (431 above it). Enforced by the edge middleware, not
    /// by hyper (see `head_headers_count_parse_max`), so that the 431 carries a problem body.
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
            roster_bytes_max: crate::formats::roster::ROSTER_BYTES_MAX,
            identity_check_bytes_max: crate::formats::identity_check::IDENTITY_CHECK_BYTES_MAX,
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

/// hyper's smallest read buffer (`max_buf_size` refuses less).
pub const HYPER_READ_BUFFER_BYTES_MIN: usize = 8192;

/// Room in hyper's read buffer, beyond `request_headers_bytes_max`, for the request line and
/// the header lines' framing (`: `, CRLF).
pub const HEAD_FRAMING_BYTES_MAX: usize = 4096;

/// The shortest header line hyper's parser accepts: a one-letter name, a colon and a bare LF
/// (`a:\n`).
pub const HEADER_LINE_BYTES_MIN: usize = 3;

/// The body limit of one route: the limit's name (the 413 names it) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    pub name: &'static str,
    pub bytes_max: usize,
}

impl Limits {
    /// The body limit of JSON routes (and of routes that take no body).
    pub fn json_body(&self) -> BodyLimit {
        BodyLimit {
            name: "request_body_bytes_max",
            bytes_max: self.request_body_bytes_max,
        }
    }

    /// The body limit of roster uploads.
    pub fn roster_body(&self) -> BodyLimit {
        BodyLimit {
            name: "roster_bytes_max",
            bytes_max: self.roster_bytes_max,
        }
    }

    /// The body limit of identity-check answer files.
    pub fn identity_check_body(&self) -> BodyLimit {
        BodyLimit {
            name: "identity_check_bytes_max",
            bytes_max: self.identity_check_bytes_max,
        }
    }

    /// The body limit of status report uploads.
    pub fn status_report_body(&self) -> BodyLimit {
        BodyLimit {
            name: "status_report_bytes_max",
            bytes_max: self.status_report_bytes_max,
        }
    }

    /// hyper's read buffer (`max_buf_size`): the largest request head it reads. hyper refuses a
    /// larger head itself, with a bare 431 and the connection closed (hyper 1 has no hook to give
    /// that answer a body); every head that fits gets to the edge middleware, which answers a
    /// head beyond `request_headers_bytes_max` or `request_headers_count_max` with a problem
    /// body.
    pub fn head_read_buffer_bytes_max(&self) -> usize {
        (self.request_headers_bytes_max + HEAD_FRAMING_BYTES_MAX).max(HYPER_READ_BUFFER_BYTES_MIN)
    }

    /// Most header lines hyper parses (`max_headers`): as many of the shortest lines as fit in
    /// its read buffer, so hyper never refuses, for their number, headers it could read; the
    /// edge middleware enforces `request_headers_count_max` with a problem body instead. (hyper
    /// then allocates its two index arrays, 32 bytes a header each, per request head; the lookup
    /// benchmark showed no difference in server CPU time per request.)
    pub fn head_headers_count_parse_max(&self) -> usize {
        self.head_read_buffer_bytes_max() / HEADER_LINE_BYTES_MIN
    }

    /// Each limit with its name and value, for the startup log and `docs/http.md`.
    pub fn table(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("request_body_bytes_max", self.request_body_bytes_max as u64),
            (
                "status_report_bytes_max",
                self.status_report_bytes_max as u64,
            ),
            ("roster_bytes_max", self.roster_bytes_max as u64),
            (
                "identity_check_bytes_max",
                self.identity_check_bytes_max as u64,
            ),
            (
                "request_headers_bytes_max",
                self.request_headers_bytes_max as u64,
            ),
            (
                "request_headers_count_max",
                self.request_headers_count_max as u64,
            ),
            (
                "head_read_buffer_bytes_max",
                self.head_read_buffer_bytes_max() as u64,
            ),
            (
                "head_headers_count_parse_max",
                self.head_headers_count_parse_max() as u64,
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

    /// These limits with the configuration's `[limits]` applied; an unknown name, a derived
    /// limit, zero, or a value too large for the machine is refused naming the key.
    pub fn with_overrides(
        mut self,
        overrides: &std::collections::BTreeMap<String, u64>,
    ) -> Result<Limits, String> {
        for (name, &value) in overrides {
            let key = format!("limits.{name}");
            if value == 0 {
                return Err(format!("{key}: must be at least 1"));
            }
            let size =
                || usize::try_from(value).map_err(|_| format!("{key}: {value} is too large"));
            match name.as_str() {
                "request_body_bytes_max" => self.request_body_bytes_max = size()?,
                "status_report_bytes_max" => self.status_report_bytes_max = size()?,
                "roster_bytes_max" => self.roster_bytes_max = size()?,
                "request_headers_bytes_max" => self.request_headers_bytes_max = size()?,
                "request_headers_count_max" => self.request_headers_count_max = size()?,
                "request_timeout_ms" => self.request_timeout_ms = value,
                "job_timeout_ms" => self.job_timeout_ms = value,
                "request_head_timeout_ms" => self.request_head_timeout_ms = value,
                "page_size_max" => self.page_size_max = size()?,
                "page_size_default" => self.page_size_default = size()?,
                "connections_max" => self.connections_max = size()?,
                "jobs_concurrent_max" => self.jobs_concurrent_max = size()?,
                "search_text_chars_max" => self.search_text_chars_max = size()?,
                "shutdown_grace_ms" => self.shutdown_grace_ms = value,
                _ => {
                    // The head_* limits are derived from the others and cannot be set.
                    let names: Vec<&str> = self
                        .table()
                        .into_iter()
                        .map(|(n, _)| n)
                        .filter(|n| !n.starts_with("head_"))
                        .collect();
                    return Err(format!(
                        "{key}: no such limit (the limits that can be set are: {})",
                        names.join(", ")
                    ));
                }
            }
        }
        if self.page_size_default > self.page_size_max {
            return Err("limits.page_size_default: larger than page_size_max".into());
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_parses_every_head_it_can_read_so_the_edge_answers_the_count() {
        for headers_bytes_max in [0, 1 << 10, 16 << 10, 64 << 10] {
            for count_max in [0, 64, 1_024, 5_000] {
                let l = Limits {
                    request_headers_bytes_max: headers_bytes_max,
                    request_headers_count_max: count_max,
                    ..Limits::default()
                };
                let buffer = l.head_read_buffer_bytes_max();
                assert!(buffer >= HYPER_READ_BUFFER_BYTES_MIN);
                assert!(buffer >= headers_bytes_max + HEAD_FRAMING_BYTES_MAX);
                // The most header lines a buffer-full head can hold, even without a request
                // line: hyper must parse them all, so that the edge answers every count.
                let lines_max = buffer / HEADER_LINE_BYTES_MIN;
                assert!(l.head_headers_count_parse_max() >= lines_max, "{l:?}");
                assert!(
                    l.head_headers_count_parse_max() > count_max || count_max >= lines_max,
                    "{l:?}"
                );
            }
        }
    }

    #[test]
    fn every_limit_is_in_the_table_once() {
        let table = Limits::default().table();
        let mut names: Vec<_> = table.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), table.len());
        for body in [
            Limits::default().json_body(),
            Limits::default().roster_body(),
            Limits::default().status_report_body(),
        ] {
            assert!(
                table.contains(&(body.name, body.bytes_max as u64)),
                "{body:?}"
            );
        }
    }
}
