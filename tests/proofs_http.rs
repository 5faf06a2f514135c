//! Proofs over HTTP (`docs/proofs.md`, `docs/http.md`): the tree's root, a record's inclusion
//! proof, a payment's (a bank sees its own payments only; another bank's is a 404 like an
//! unknown one) and consistency; every proof verifies against the tree's root.

mod common;

use axum::http::StatusCode;
use chitra::chain::merkle::{check_consistency, leaf_hash, verify_inclusion, Hash};
use chitra::http::Role;
use common::http::{paid_month, Api};
use serde_json::Value;

fn h(v: &Value) -> Hash {
    let s = v.as_str().unwrap();
    let b: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    b.try_into().unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The proof in `v` verifies against `root`; the index it proves.
fn verifies(v: &Value, root: &Hash) -> u64 {
    let hashes: Vec<Hash> = v["hashes"].as_array().unwrap().iter().map(h).collect();
    let (index, size) = (v["index"].as_u64().unwrap(), v["size"].as_u64().unwrap());
    assert_eq!(h(&v["root"]), *root);
    assert!(verify_inclusion(
        index,
        size,
        &leaf_hash(&bytes(&v["record"])),
        &hashes,
        root
    ));
    index
}

#[tokio::test]
async fn proofs_are_served_to_their_readers_and_a_bank_sees_only_its_own_payments() {
    let api = Api::new();
    paid_month(&api).await;
    let n = api.records();

    let tree = api.get("/v1/proofs/tree", Role::Bank).await;
    assert_eq!(tree.status, StatusCode::OK, "{}", tree.text());
    let tree = tree.json();
    assert_eq!(tree["size"], n);
    let root = h(&tree["root"]);
    assert!(tree["checkpoint"]
        .as_str()
        .unwrap()
        .ends_with(&format!("\n{n}\n{}\n", {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(root)
        })));

    let r = api.get("/v1/proofs/inclusion/3", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(verifies(&r.json(), &root), 3);
    assert!(r.json()["text"]
        .as_str()
        .unwrap()
        .starts_with("c2sp.org/tlog-proof@v1\nindex 3\n"));
    // A bank may not read any record, only its own payments'.
    assert_eq!(
        api.get("/v1/proofs/inclusion/3", Role::Bank).await.status,
        StatusCode::FORBIDDEN
    );
    let r = api
        .get(&format!("/v1/proofs/inclusion/{n}"), Role::Auditor)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Three payments (bank 970436, bank 970418, cash): the auditor gets every proof, each bank
    // exactly its own one.
    let mut seen = Vec::new();
    for p in ["P1", "P2", "P3"] {
        let path = format!("/v1/payments/{p}/proof");
        let r = api.get(&path, Role::Auditor).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["payment"], p);
        let index = verifies(&r.json(), &root);
        let event = api.ledger.event(index).unwrap().unwrap().event;
        assert!(matches!(
            event,
            chitra::domain::event::Event::PaymentScheduled(ref e) if e.payment.to_string() == p
        ));
        let bank = api.get(&path, Role::Bank).await;
        let bank2 = api
            .send(
                axum::http::Method::GET,
                &path,
                Some(common::http::token_of("bank:970418")),
                None,
                axum::body::Body::empty(),
                None,
            )
            .await;
        seen.push((bank.status, bank2.status));
        if bank.status == StatusCode::OK {
            assert_eq!(bank.json()["index"], index);
        } else {
            assert_eq!(bank.code(), "not-found");
        }
    }
    let ok = |which: fn(&(StatusCode, StatusCode)) -> StatusCode| {
        seen.iter().filter(|s| which(s) == StatusCode::OK).count()
    };
    assert_eq!((ok(|s| s.0), ok(|s| s.1)), (1, 1), "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.0 != s.1 || s.0 == StatusCode::NOT_FOUND),
        "each bank its own: {seen:?}"
    );
    assert_eq!(
        api.get("/v1/payments/P99/proof", Role::Auditor)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let r = api.get("/v1/proofs/consistency?old=5", Role::Bank).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let c = r.json();
    let hashes: Vec<Hash> = c["hashes"].as_array().unwrap().iter().map(h).collect();
    assert_eq!(h(&c["new_root"]), root);
    assert_eq!(
        check_consistency(5, n, &h(&c["old_root"]), &root, &hashes),
        Ok(())
    );
    assert_eq!(
        api.get("/v1/proofs/consistency?old=9&new=4", Role::Auditor)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
