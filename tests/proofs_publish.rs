//! `chitra publish DIR` (`docs/proofs.md` §8): the tiles and the checkpoint as C2SP tlog-tiles,
//! from which `tools/verify_tiles.py` alone rebuilds the root and proves a record; a tile
//! altered after publishing is refused.

mod common;

use std::path::Path;
use std::process::Command;

use common::bin::chitra_ok as ok;

fn tiles_verdict(dir: &Path, key: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_tiles.py"))
        .arg(dir)
        .args(["--key", key])
        .args(extra)
        .output()
        .expect("python3 runs tools/verify_tiles.py");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Traceback"), "{err}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_published_tree_proves_a_record_from_its_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    {
        let l = common::open(&db);
        // 300 records: one full and one partial tile of level 0, a partial tile of level 1.
        common::enrol(&l, 0, 150);
    }
    let key = ok(
        &db,
        &["key", "init", "--name", "treasury.example/chitra-01"],
    );
    let key = key.trim();
    let out = dir.path().join("www");
    let said = ok(&db, &["publish", out.to_str().unwrap()]);
    assert!(
        said.contains(
            "published the tree of 300 records (3 tiles, checkpoint signed by the ledger)"
        ),
        "{said}"
    );
    for file in [
        "checkpoint",
        "tile/0/000",
        "tile/0/001.p/44",
        "tile/1/000.p/1",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let record = dir.path().join("r270");
    ok(
        &db,
        &[
            "proof",
            "inclusion",
            "270",
            "--record",
            record.to_str().unwrap(),
        ],
    );
    let (code, said) = tiles_verdict(
        &out,
        key,
        &["--index", "270", "--record", record.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{said}");
    assert!(
        said.starts_with("OK: record 270 is in the published tree of 300 records signed by treasury.example/chitra-01"),
        "{said}"
    );
    // Another record's bytes are not leaf 270.
    let other = dir.path().join("r12");
    ok(
        &db,
        &[
            "proof",
            "inclusion",
            "12",
            "--record",
            other.to_str().unwrap(),
        ],
    );
    let (code, said) = tiles_verdict(
        &out,
        key,
        &["--index", "270", "--record", other.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(said.contains("the record is not leaf 270"), "{said}");
    // A leaf hash altered in a published tile: the tiles no longer give the signed root.
    let tile = out.join("tile/0/001.p/44");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let (code, said) = tiles_verdict(&out, key, &[]);
    assert_eq!(code, 1);
    assert!(
        said.contains("REFUSED: the level-0 tiles do not give the checkpoint's root"),
        "{said}"
    );
}
