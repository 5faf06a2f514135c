//! Shared helpers of the `files_*` integration tests: the reference data vendored in the
//! repository (`ledger-data/reference/`, see its README for provenance) and schema validation
//! by xmllint.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

/// `ledger-data/reference/<rel>` relative to the crate root.
pub fn reference(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("ledger-data/reference")
        .join(rel)
}

pub fn read_reference(rel: &str) -> Vec<u8> {
    let path = reference(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "reference file {} missing ({e}): it is vendored in ledger-data/reference/",
            path.display()
        )
    })
}

/// Validates `xml` against `xsd/<xsd_name>` with xmllint. `Err` carries xmllint's complaint.
/// Panics (failing the test) when xmllint is not installed: a schema test must never pass
/// without having run.
pub fn xmllint(xml: &[u8], xsd_name: &str) -> Result<(), String> {
    let xsd = reference(&format!("iso20022/xsd/{xsd_name}"));
    assert!(
        xsd.exists(),
        "XSD {} not found: it is vendored in ledger-data/reference/iso20022/xsd/",
        xsd.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).expect("write temp file");
    let output = match Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("xmllint is not installed: install libxml2-utils (apt-get install libxml2-utils) to run the schema tests")
        }
        Err(e) => panic!("could not run xmllint: {e}"),
    };
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Replaces the first occurrence of `from` (which must exist) in a document.
pub fn replace_once(doc: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(doc).expect("UTF-8 document");
    assert!(
        text.contains(from),
        "mutation target {from:?} not in document"
    );
    text.replacen(from, to, 1).into_bytes()
}

/// Replaces the `n`-th (0-based) occurrence of `from`.
pub fn replace_nth(doc: &[u8], from: &str, to: &str, n: usize) -> Vec<u8> {
    let text = std::str::from_utf8(doc).expect("UTF-8 document");
    let (idx, _) = text
        .match_indices(from)
        .nth(n)
        .unwrap_or_else(|| panic!("no occurrence {n} of {from:?}"));
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..idx]);
    out.push_str(to);
    out.push_str(&text[idx + from.len()..]);
    out.into_bytes()
}
