//! docs/http.md's access table (route × role) and `chitra::http::routes()` say the same thing:
//! every route the API serves is in the table exactly once, with exactly the roles its `Access`
//! allows (or `public` for every role when it needs no token), and the table names no route that
//! is not served. `tests/http_auth.rs` sends every route × every role to the server and checks it
//! does what `routes()` says, so the table, the code and the behaviour cannot drift apart.
//!
//! How the table is read (the way a person reads it):
//! - the header row names the role columns; a cell is `public`, `✓`, `own` (allowed, for the
//!   caller's own resources only) or empty;
//! - the method column applies to the paths of the row; a path cell may hold several groups
//!   separated by `;`, and a group after the first starts with its own method(s)
//!   (`` `/v1/chain/verify`; GET `/v1/chain/export` ``);
//! - paths are the backticked items starting with `/`; a query (`?...`) or an optional part
//!   (`[...]`) is not part of the path;
//! - a path that does not start with `/v1/`, after the first of its group, is relative: it
//!   continues the last full path, below it when that ends in a `{parameter}` (`/v1/batches/{id}`,
//!   `/review`), else beside it (`/v1/beneficiaries/{id}/corrections`, `/route`).

use std::collections::{BTreeMap, BTreeSet};

use chitra::http::{routes, Access, Role};

const DOC: &str = include_str!("../docs/http.md");

/// One route as the table states it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Documented {
    public: bool,
    roles: BTreeSet<String>,
    /// The table's line, for messages.
    line: usize,
}

/// Marks a role cell may hold, and whether each allows the role.
fn allows(cell: &str, line: usize) -> bool {
    match cell {
        "✓" | "own" => true,
        "" => false,
        other => panic!("docs/http.md line {line}: unknown mark {other:?} in a role column"),
    }
}

/// The path without a query or an optional part.
fn bare(path: &str) -> &str {
    let end = path.find(['?', '[']).unwrap_or(path.len());
    &path[..end]
}

/// What a relative path continues: the path itself when it ends in a `{parameter}`, else its
/// parent.
fn base_of(path: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.starts_with('{') {
        path.to_owned()
    } else {
        path[..path.rfind('/').unwrap_or(0)].to_owned()
    }
}

/// Every (method, path) of the path cell of one row.
fn paths_of(methods: &str, cell: &str, line: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, group) in cell.split(';').enumerate() {
        let (own_methods, rest) = group.split_once('`').unwrap_or((group, ""));
        let methods = if i == 0 {
            methods
        } else {
            assert!(
                !own_methods.trim().is_empty(),
                "docs/http.md line {line}: a path group after `;` must name its method"
            );
            own_methods
        };
        let methods: Vec<String> = methods
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        let mut base: Option<String> = None;
        // Backticked items are the odd pieces of "before`item`between`item`...".
        let items = format!("`{rest}");
        for item in items.split('`').skip(1).step_by(2) {
            if !item.starts_with('/') {
                continue;
            }
            let item = bare(item);
            let path = match &base {
                Some(b) if !item.starts_with("/v1/") => format!("{b}{item}"),
                _ => {
                    base = Some(base_of(item));
                    item.to_owned()
                }
            };
            for m in &methods {
                out.push((m.clone(), path.clone()));
            }
        }
    }
    out
}

/// The access table of docs/http.md, by (method, path).
fn documented(doc: &str) -> BTreeMap<(String, String), Documented> {
    let start = doc
        .find("\n## Access\n")
        .expect("docs/http.md has an Access section");
    let section = &doc[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    let first_line = doc[..start + 1].lines().count() + 1;
    let mut rows = section
        .lines()
        .enumerate()
        .map(|(i, l)| (first_line + i, l))
        .skip_while(|(_, l)| !l.starts_with("| method | path |"))
        .take_while(|(_, l)| l.starts_with('|'));
    let (_, header) = rows.next().expect("the access table has a header row");
    let cells = |l: &str| -> Vec<String> {
        let l = l.trim().trim_start_matches('|').trim_end_matches('|');
        l.split('|').map(|c| c.trim().to_owned()).collect()
    };
    let roles: Vec<String> = cells(header)[2..].to_vec();
    let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(
        roles, names,
        "the access table's role columns are Role::ALL, in order"
    );
    let mut table = BTreeMap::new();
    for (line, row) in rows {
        let c = cells(row);
        if c[0].starts_with("---") {
            continue;
        }
        assert_eq!(c.len(), 2 + roles.len(), "docs/http.md line {line}: {row}");
        let marks = &c[2..];
        let public = marks.iter().all(|m| m == "public");
        assert!(
            public || marks.iter().all(|m| m != "public"),
            "docs/http.md line {line}: public for some roles only"
        );
        let allowed: BTreeSet<String> = if public {
            BTreeSet::new()
        } else {
            roles
                .iter()
                .zip(marks)
                .filter(|(_, m)| allows(m, line))
                .map(|(r, _)| r.clone())
                .collect()
        };
        let paths = paths_of(&c[0], &c[1], line);
        assert!(!paths.is_empty(), "docs/http.md line {line}: no path");
        for key in paths {
            let doc = Documented {
                public,
                roles: allowed.clone(),
                line,
            };
            if let Some(before) = table.insert(key.clone(), doc) {
                panic!(
                    "docs/http.md lines {} and {line} both list {} {}",
                    before.line, key.0, key.1
                );
            }
        }
    }
    table
}

/// Every way the table and `routes()` disagree, in words.
fn disagreements(doc: &str) -> Vec<String> {
    let mut table = documented(doc);
    let mut out = Vec::new();
    for route in routes() {
        let key = (route.method.to_string(), route.path.to_owned());
        let Some(d) = table.remove(&key) else {
            out.push(format!(
                "{} {} is served but not in the table",
                key.0, key.1
            ));
            continue;
        };
        let (public, roles) = match route.access {
            Access::Public => (true, BTreeSet::new()),
            Access::Roles(_) => (
                false,
                Role::ALL
                    .iter()
                    .filter(|r| route.access.allows(**r))
                    .map(|r| r.name().to_owned())
                    .collect(),
            ),
        };
        if (d.public, &d.roles) != (public, &roles) {
            out.push(format!(
                "{} {} (line {}): the table says {}, the code {}",
                key.0,
                key.1,
                d.line,
                if d.public {
                    "public".to_owned()
                } else {
                    format!("{:?}", d.roles)
                },
                if public {
                    "public".to_owned()
                } else {
                    format!("{roles:?}")
                },
            ));
        }
    }
    for ((method, path), d) in table {
        out.push(format!(
            "{method} {path} (line {}) is in the table but not served",
            d.line
        ));
    }
    out
}

#[test]
fn the_access_table_in_docs_is_the_route_table() {
    let problems = disagreements(DOC);
    assert!(
        problems.is_empty(),
        "docs/http.md's access table and routes() disagree:\n{}",
        problems.join("\n")
    );
    assert_eq!(documented(DOC).len(), routes().len());
}

#[test]
fn a_drift_either_way_is_caught() {
    // A role taken away in the docs, a route the docs forget, one they invent.
    let enrol = "| POST | `/v1/beneficiaries` (enrol, with route and entitlements) | ✓ |";
    assert!(DOC.contains(enrol), "the test's anchor moved");
    let doc = DOC
        .replace(
            enrol,
            "| POST | `/v1/beneficiaries` (enrol, with route and entitlements) |  |",
        )
        .replace("`/v1/breaks/{seq}/resolve`", "`/v1/breaks/{seq}/settle`");
    let problems = disagreements(&doc);
    let said = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(said("POST /v1/beneficiaries (line"), "{problems:?}");
    assert!(
        said("POST /v1/breaks/{seq}/resolve is served but not in the table"),
        "{problems:?}"
    );
    assert!(said("POST /v1/breaks/{seq}/settle (line"), "{problems:?}");
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn relative_paths_and_method_groups_are_read_as_a_person_reads_them() {
    let row = |m: &str, p: &str| paths_of(m, p, 0);
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect()
    };
    assert_eq!(
        row(
            "GET",
            "`/v1/batches`, `/v1/batches/{id}`, `/review`, `/reconciliation`"
        ),
        pairs(&[
            ("GET", "/v1/batches"),
            ("GET", "/v1/batches/{id}"),
            ("GET", "/v1/batches/{id}/review"),
            ("GET", "/v1/batches/{id}/reconciliation"),
        ])
    );
    assert_eq!(
        row(
            "POST",
            "`/v1/beneficiaries/{id}/corrections`, `/hold`, `/hold/clear`, `/erasure`"
        ),
        pairs(&[
            ("POST", "/v1/beneficiaries/{id}/corrections"),
            ("POST", "/v1/beneficiaries/{id}/hold"),
            ("POST", "/v1/beneficiaries/{id}/hold/clear"),
            ("POST", "/v1/beneficiaries/{id}/erasure"),
        ])
    );
    assert_eq!(
        row("GET, POST", "`/v1/tokens`; DELETE `/v1/tokens/{principal}`"),
        pairs(&[
            ("GET", "/v1/tokens"),
            ("POST", "/v1/tokens"),
            ("DELETE", "/v1/tokens/{principal}"),
        ])
    );
    assert_eq!(
        row(
            "GET",
            "`/healthz`, `/readyz`, `/v1/beneficiaries?citizen_id=&name=`, `/v1/beneficiaries/{id}[?history=true]` (see `docs/x.md`)"
        ),
        pairs(&[
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("GET", "/v1/beneficiaries"),
            ("GET", "/v1/beneficiaries/{id}"),
        ])
    );
}
