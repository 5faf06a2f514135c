//! The reference data vendored in `ledger-data/reference/` is what its READMEs say it is: every
//! file listed in a README's table has the SHA-256 written there, and every file in those
//! folders has its line (so nothing is vendored without provenance). The repository needs
//! nothing beside it: no test, tool or CI step reads the shared folder beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/reference")
}

/// `file → sha256` from the README's table rows: `| \`file\` | \`<64 hex>\` | ...`.
fn listed(readme: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(readme).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(file), Some(hash)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let hash = hash.trim_matches('`');
        if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.insert(file.trim_matches('`').to_owned(), hash.to_owned());
        }
    }
    out
}

fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs (coreutils)");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// Every data file under `dir` (not READMEs), relative to `dir`, descending into sub-folders
/// that have no README of their own.
fn data_files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.join("README.md").exists() {
                data_files(&path, base, out);
            }
        } else if path.file_name().unwrap() != "README.md" {
            let rel = path.strip_prefix(base).unwrap().to_string_lossy();
            out.push(rel.replace('\\', "/"));
        }
    }
}

#[test]
fn every_vendored_file_has_its_provenance_line_and_hash() {
    let mut checked = 0;
    for folder in ["", "iso20022", "rates"] {
        let dir = root().join(folder);
        let listed = listed(&dir.join("README.md"));
        assert!(!listed.is_empty(), "{}: no file table", dir.display());
        let mut files = Vec::new();
        data_files(&dir, &dir, &mut files);
        files.sort();
        for f in &files {
            let expected = listed
                .get(f)
                .unwrap_or_else(|| panic!("{}/{f} has no line in its README", dir.display()));
            assert_eq!(&sha256(&dir.join(f)), expected, "{}/{f}", dir.display());
            checked += 1;
        }
        for f in listed.keys() {
            assert!(
                files.contains(f),
                "{}/README.md lists {f}, which is not there",
                dir.display()
            );
        }
    }
    assert!(checked >= 14, "only {checked} files checked");
}

/// Source files of the repository that a test, tool or CI step reads.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | "ledger-data") {
                sources(&path, out);
            }
        } else if [".rs", ".py", ".sh", ".lua"]
            .iter()
            .any(|e| name.ends_with(e))
            || name == "run"
        {
            out.push(path);
        }
    }
}

#[test]
fn no_code_test_or_ci_step_reads_outside_the_repository() {
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in ["src", "tests", "tools", "benches", ".ci"] {
        sources(&crate_root.join(d), &mut files);
    }
    assert!(files.len() > 50);
    // Spelled in two pieces so that this file does not find itself.
    let needle = format!("../{}", "shared");
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains(&needle))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "read outside the repository: {offenders:?}"
    );
}
