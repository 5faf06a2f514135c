//! Tidy tests, in the spirit of rust-analyzer's: the invariants of ARCHITECTURE.md checked on the
//! source text, so that a claim no test checks cannot drift. Each rule is a function over the
//! tree; `every_rule_catches_its_breach` plants one breach per rule in a copy of the tree and
//! checks the rule reports it, so a rule that stopped working fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every Rust source, tool and document the rules read: path (from the repository root, with
/// `/`) → text.
type Tree = BTreeMap<String, String>;

fn load() -> Tree {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut tree = Tree::new();
    for dir in ["src", "tools", "tests", "benches"] {
        walk(root, &root.join(dir), &mut tree);
    }
    for doc in ["ARCHITECTURE.md", "Cargo.toml"] {
        tree.insert(
            doc.to_owned(),
            std::fs::read_to_string(root.join(doc)).unwrap(),
        );
    }
    tree
}

fn walk(root: &Path, dir: &Path, tree: &mut Tree) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, tree);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "py" | "sh")
        ) {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            tree.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The Rust files of the library and binaries.
fn sources(tree: &Tree) -> impl Iterator<Item = (&String, &String)> {
    tree.iter()
        .filter(|(p, _)| p.starts_with("src/") && p.ends_with(".rs"))
}

/// The code of a file without its comments and string literals' contents, so that a comment
/// that names `sled` or a message that says "std::fs" is not mistaken for a use of it.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
                kept.push('"');
            } else if !in_str {
                kept.push(c);
            }
            prev = if prev == '\\' && c == '\\' { ' ' } else { c };
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// `(line number, line)` of the code lines of `text` that contain any of `needles`.
fn lines_with(text: &str, needles: &[&str]) -> Vec<(usize, String)> {
    code(text)
        .lines()
        .enumerate()
        .filter(|(_, l)| needles.iter().any(|n| contains_word(l, n)))
        .map(|(i, l)| (i + 1, l.trim().to_owned()))
        .collect::<Vec<_>>()
}

/// `needle` in `line`, not as the tail of a longer identifier (when it starts with one).
fn contains_word(line: &str, needle: &str) -> bool {
    let starts_ident = needle.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    line.match_indices(needle).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        !starts_ident || !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// A breach: the rule, the file and line, and what was found.
type Breach = (&'static str, String);

fn forbid(
    tree: &Tree,
    rule: &'static str,
    needles: &[&str],
    allowed: impl Fn(&str) -> bool,
) -> Vec<Breach> {
    let mut out = Vec::new();
    for (path, text) in sources(tree).filter(|(p, _)| !allowed(p)) {
        for (line, found) in lines_with(text, needles) {
            out.push((rule, format!("{path}:{line}: {found}")));
        }
    }
    out
}

fn only_store_knows_sled(tree: &Tree) -> Vec<Breach> {
    forbid(
        tree,
        "only store/ knows sled",
        &["sled::", "use sled"],
        |p| p.starts_with("src/store/"),
    )
}

fn only_http_knows_axum(tree: &Tree) -> Vec<Breach> {
    forbid(
        tree,
        "only http/ knows axum, hyper and tower",
        &[
            "axum::",
            "hyper::",
            "hyper_util::",
            "tower::",
            "tower_http::",
        ],
        |p| p.starts_with("src/http/"),
    )
}

fn anyhow_only_at_the_edge(tree: &Tree) -> Vec<Breach> {
    forbid(tree, "anyhow only at the binary's edge", &["anyhow"], |p| {
        p.starts_with("src/cli/")
            || p.starts_with("src/dev/")
            || p.starts_with("src/bin/")
            || p == "src/main.rs"
    })
}

fn the_domain_is_pure(tree: &Tree) -> Vec<Breach> {
    forbid(
        tree,
        "domain/ does no IO, reads no clock, draws no random number and uses no outer layer",
        &[
            "std::fs",
            "std::net",
            "std::env",
            "std::process",
            "std::thread",
            "std::io::",
            "SystemTime",
            "Instant",
            "rand::",
            "tokio",
            "crossbeam",
            "crate::store",
            "crate::ledger",
            "crate::http",
            "crate::cli",
            "crate::app",
            "crate::formats",
            "crate::dev",
            "crate::chain",
        ],
        |p| !p.starts_with("src/domain/"),
    )
}

fn only_the_writer_appends(tree: &Tree) -> Vec<Breach> {
    forbid(
        tree,
        "only the writer (and import, building a new store aside) appends",
        &[".append_group(", ".append_partial("],
        |p| {
            p.starts_with("src/store/")
                || p == "src/ledger/writer.rs"
                || p == "src/ledger/archive.rs"
        },
    )
}

fn only_the_ledger_reads_the_store(tree: &Tree) -> Vec<Breach> {
    forbid(
        tree,
        "nothing outside ledger/ touches the store or raw records",
        &[
            ".store()",
            ".state()",
            "crate::store",
            "parse_record(",
            "decode_event(",
            "for_each_record(",
        ],
        |p| {
            p.starts_with("src/ledger/")
                || p.starts_with("src/store/")
                || p.starts_with("src/chain/")
        },
    )
}

fn tools_share_no_code(tree: &Tree) -> Vec<Breach> {
    let mut out = Vec::new();
    for (path, text) in tree.iter().filter(|(p, _)| p.starts_with("tools/")) {
        for (line, found) in lines_with(text, &["chitra::", "extern crate chitra", "use chitra"]) {
            out.push((
                "tools/ share no code with the crate",
                format!("{path}:{line}: {found}"),
            ));
        }
    }
    out
}

/// Constants whose names say they are a limit: `*_MAX`, `*_MIN`, `*_LIMIT`.
fn limit_constants(tree: &Tree) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, text) in sources(tree) {
        for (i, line) in code(text).lines().enumerate() {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("pub const ")
                .or_else(|| line.strip_prefix("pub(crate) const "))
                .or_else(|| line.strip_prefix("pub(super) const "))
                .or_else(|| line.strip_prefix("const "));
            let Some(rest) = rest else { continue };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let is_limit = ["_MAX", "_MIN", "_LIMIT"].iter().any(|s| name.ends_with(s))
                || name.contains("OFFSET");
            if is_limit {
                found
                    .entry(name)
                    .or_default()
                    .push(format!("{path}:{}", i + 1));
            }
        }
    }
    found
}

fn every_limit_is_defined_once(tree: &Tree) -> Vec<Breach> {
    // Vietnam's UTC offset is written once (`domain::types::VIETNAM_OFFSET_MINUTES`).
    let mut out = forbid(
        tree,
        "the UTC+7 offset is written once",
        &["7 * 3600", "7 * 60", "25_200", "25200"],
        |p| p == "src/domain/types.rs",
    );
    for (name, places) in limit_constants(tree) {
        if places.len() > 1 {
            out.push(("every limit is defined once", format!("{name}: {places:?}")));
        }
        let in_http_outside_limits = places
            .iter()
            .any(|p| p.starts_with("src/http/") && !p.starts_with("src/http/limits.rs"));
        if in_http_outside_limits {
            out.push((
                "the HTTP edge's limits live in http::limits",
                format!("{name}: {places:?}"),
            ));
        }
    }
    out
}

/// The module a `use` path names inside `domain/`, as a file of the tree, if it is one.
fn domain_edges(tree: &Tree) -> BTreeMap<String, BTreeSet<String>> {
    let files: BTreeSet<String> = sources(tree)
        .filter(|(p, _)| p.starts_with("src/domain/"))
        .map(|(p, _)| p.clone())
        .collect();
    let module_file = |module: &str| -> Option<String> {
        let base = format!("src/{}", module.replace("::", "/"));
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|f| files.contains(f))
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &files {
        // The module path of this file, e.g. `domain::batch::reconcile`.
        let module = path
            .trim_start_matches("src/")
            .trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .replace('/', "::");
        let parent = match path.ends_with("/mod.rs") {
            true => module.rsplit_once("::").map_or("", |(p, _)| p).to_owned(),
            false => module.rsplit_once("::").map_or("", |(p, _)| p).to_owned(),
        };
        let text = code(&tree[path]);
        for word in paths_in(&text) {
            let word = word.as_str();
            let target = if let Some(rest) = word.strip_prefix("crate::") {
                rest.to_owned()
            } else if let Some(rest) = word.strip_prefix("super::") {
                let base = match path.ends_with("/mod.rs") {
                    true => parent.clone(),
                    false => parent.clone(),
                };
                format!("{base}::{rest}")
            } else {
                continue;
            };
            // The longest prefix of the path that is a file of domain/.
            let parts: Vec<&str> = target.split("::").collect();
            let found = (1..=parts.len())
                .rev()
                .find_map(|n| module_file(&parts[..n].join("::")));
            if let Some(to) = found {
                // A parent's declarations and re-exports of its children are not dependencies
                // between files; a child's use of its parent is.
                let to_is_child_of_this_mod =
                    path.ends_with("/mod.rs") && to.starts_with(path.trim_end_matches("mod.rs"));
                if &to != path && !to_is_child_of_this_mod {
                    edges.entry(path.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

/// Every path in the code, with `use` groups expanded: `use super::{a, b::C};` gives
/// `super::a` and `super::b::C`.
fn paths_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let flat = text.replace('\n', " ");
    for stmt in flat.split(';') {
        let stmt = stmt.trim();
        if let Some(rest) = stmt
            .strip_prefix("use ")
            .or_else(|| stmt.strip_prefix("pub use "))
            .or_else(|| stmt.strip_prefix("pub(crate) use "))
        {
            expand("", &rest.replace(' ', ""), &mut out);
        }
    }
    for word in flat.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
        out.push(word.to_owned());
    }
    out
}

/// Expands one `use` tree (without spaces) under `prefix`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    match tree.find('{') {
        None => out.push(format!(
            "{prefix}{}",
            tree.split(" as ").next().unwrap_or(tree)
        )),
        Some(open) => {
            let head = &tree[..open];
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            // Split the group at top-level commas.
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&format!("{prefix}{head}"), &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                expand(&format!("{prefix}{head}"), &inner[start..], out);
            }
        }
    }
}

fn no_import_cycles_in_the_domain(tree: &Tree) -> Vec<Breach> {
    let edges = domain_edges(tree);
    let mut out = Vec::new();
    let mut reported = BTreeSet::new();
    for start in edges.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.sort();
                    if reported.insert(cycle) {
                        out.push((
                            "no import cycles between files of domain/",
                            format!("{} -> {start}", path.join(" -> ")),
                        ));
                    }
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    out
}

fn every_module_says_what_it_owns(tree: &Tree) -> Vec<Breach> {
    sources(tree)
        .filter(|(p, _)| !p.starts_with("src/bin/") && !p.ends_with("/tests.rs"))
        .filter(|(_, t)| !t.trim_start().starts_with("//!"))
        .map(|(p, _)| {
            (
                "every module starts with a //! saying what it owns",
                p.clone(),
            )
        })
        .collect()
}

/// The code map: every folder of `src/` is named in ARCHITECTURE.md by its path, every file of
/// a layer by its path or its module name, and every `src/...` path it names exists.
fn the_code_map_matches_the_tree(tree: &Tree) -> Vec<Breach> {
    let doc = &tree["ARCHITECTURE.md"];
    let quoted: BTreeSet<String> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_end_matches('/').to_owned())
        .collect();
    let rule = "ARCHITECTURE.md's code map names every part of src/";
    let mut out = Vec::new();
    let mut folders = BTreeSet::new();
    for (path, _) in sources(tree) {
        let parts: Vec<&str> = path.split('/').collect();
        for n in 2..parts.len() {
            folders.insert(parts[..n].join("/"));
        }
        let file = parts[parts.len() - 1];
        let stem = file.trim_end_matches(".rs");
        let named = quoted.contains(path.as_str())
            || quoted.contains(stem)
            || file == "mod.rs"
            || file == "tests.rs";
        if !named {
            out.push((rule, path.clone()));
        }
    }
    for f in folders.iter().filter(|f| !quoted.contains(f.as_str())) {
        out.push((rule, format!("{f}/")));
    }
    for n in quoted.iter().filter(|q| q.starts_with("src/")) {
        let exists = tree
            .keys()
            .any(|k| k == n || k.starts_with(&format!("{n}/")));
        if !exists {
            out.push(("ARCHITECTURE.md names only what exists", n.clone()));
        }
    }
    out
}

type Rule = fn(&Tree) -> Vec<Breach>;

const RULES: &[(&str, Rule)] = &[
    ("sled", only_store_knows_sled),
    ("axum", only_http_knows_axum),
    ("anyhow", anyhow_only_at_the_edge),
    ("pure", the_domain_is_pure),
    ("writer", only_the_writer_appends),
    ("store", only_the_ledger_reads_the_store),
    ("tools", tools_share_no_code),
    ("limits", every_limit_is_defined_once),
    ("cycles", no_import_cycles_in_the_domain),
    ("docs", every_module_says_what_it_owns),
    ("map", the_code_map_matches_the_tree),
];

fn check(tree: &Tree) -> Vec<Breach> {
    RULES.iter().flat_map(|(_, rule)| rule(tree)).collect()
}

#[test]
fn the_tree_keeps_the_invariants_of_architecture_md() {
    let breaches = check(&load());
    let text: Vec<String> = breaches.iter().map(|(r, w)| format!("{r}: {w}")).collect();
    assert!(text.is_empty(), "\n{}", text.join("\n"));
}

/// One planted breach per rule: the file it goes into and the text appended to it (a new file
/// when the path does not exist yet).
const BREACHES: &[(&str, &str, &str)] = &[
    ("sled", "src/domain/types.rs", "\nfn f(_: sled::Db) {}\n"),
    ("axum", "src/app/views.rs", "\nuse axum::Router;\n"),
    (
        "anyhow",
        "src/ledger/open.rs",
        "\nfn f() -> anyhow::Result<()> { Ok(()) }\n",
    ),
    (
        "pure",
        "src/domain/decide.rs",
        "\nfn now() { let _ = std::time::SystemTime::now(); }\n",
    ),
    (
        "pure",
        "src/domain/state.rs",
        "\nuse crate::store::Store;\n",
    ),
    (
        "writer",
        "src/app/batches.rs",
        "\nfn f(s: &S) { s.append_group(vec![], a); }\n",
    ),
    (
        "store",
        "src/app/views.rs",
        "\nfn f(l: &L) { l.store(); }\n",
    ),
    (
        "tools",
        "tools/new_tool.rs",
        "use chitra::domain::types::Vnd;\n",
    ),
    (
        "limits",
        "src/app/views.rs",
        "\npub const TEXT_CHARS_MAX: usize = 10;\n",
    ),
    (
        "limits",
        "src/http/search.rs",
        "\nconst SEARCH_RESULTS_MAX: usize = 10;\n",
    ),
    (
        "limits",
        "src/app/batches.rs",
        "\nconst OFFSET_S: i64 = 7 * 3600;\n",
    ),
    (
        "cycles",
        "src/domain/text.rs",
        "\nuse crate::domain::decide::decide;\n",
    ),
    ("docs", "src/app/new_step.rs", "fn f() {}\n"),
    (
        "map",
        "src/newlayer/mod.rs",
        "//! A layer nobody wrote down.\n",
    ),
];

#[test]
fn every_rule_catches_its_breach() {
    let clean = load();
    for (rule, path, planted) in BREACHES {
        let mut tree = clean.clone();
        tree.entry((*path).to_owned())
            .or_default()
            .push_str(planted);
        let f = RULES.iter().find(|(n, _)| n == rule).unwrap().1;
        let found = f(&tree);
        assert!(
            !found.is_empty(),
            "the {rule} rule did not notice {planted:?} in {path}"
        );
    }
    // And every rule has a planted breach.
    for (name, _) in RULES {
        assert!(
            BREACHES.iter().any(|(r, _, _)| r == name),
            "no breach planted for the {name} rule"
        );
    }
}
