//! The readers of a running ledger report only what is durable and verified. After the writer
//! stops on a storage error, the chain head (`Ledger::head`, `GET /v1/chain`), the export and the
//! verification end at the last acknowledged record, not at the group whose write failed (which
//! the store already holds in memory, head anchor included; the failure is injected with
//! `Config::fail_after_groups`). The HTTP export is the CLI's workflow, with its checks.

mod common;

use axum::http::StatusCode;
use chitra::chain::{hex, Anchor};
use chitra::domain::Command;
use chitra::http::{Limits, Role};
use chitra::ledger::{Config, Ledger, SubmitError};
use serde_json::json;

#[tokio::test]
async fn after_a_storage_error_the_head_is_the_last_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(Config {
        clock: common::fixed_clock(common::T0_MS),
        salt_seed: Some(7),
        fail_after_groups: Some(3),
        ..Config::new(dir.path())
    })
    .unwrap();
    // Blocking submissions, off the test's async runtime: three groups are written, the
    // fourth one's write fails.
    let (acked, failed) = std::thread::scope(|s| {
        s.spawn(|| {
            let acked = common::enrol(&ledger, 0, 3);
            let person = chitra::dev::synth::person(3, 3);
            let failed = ledger.submit(common::submission("officer:lan", Command::Enrol(person)));
            (acked, failed)
        })
        .join()
        .unwrap()
    });
    assert!(
        matches!(failed, Err(SubmitError::Unavailable(_))),
        "{failed:?}"
    );
    assert!(ledger.is_stopped());
    let last = Anchor {
        seq: 5,
        hash: acked.last().unwrap().hash,
    };
    assert_eq!(acked.last().unwrap().last_seq(), Some(last.seq));
    // The store applied the failed group, head anchor included; none of it was acknowledged.
    assert_eq!(
        ledger.store().head_anchor().unwrap().map(|a| a.seq),
        Some(7)
    );

    let head = ledger.head().unwrap();
    assert_eq!((head.records, head.last), (6, Some(last)));

    let api = common::http::Api::on(dir, ledger, Limits::default());
    let chain = api.get("/v1/chain", Role::Auditor).await;
    assert_eq!(chain.status, StatusCode::OK, "{}", chain.text());
    let chain = chain.json();
    assert_eq!(chain["records"], 6);
    assert_eq!(chain["head_seq"], 5);
    assert_eq!(chain["head_hash"], hex(&last.hash));
    assert_eq!(chain["writer_stopped"], true);

    // The export (the CLI's workflow) and the verification end at the same record.
    let export = api.get("/v1/chain/export", Role::Auditor).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text());
    let report =
        chitra::ledger::verify::verify_export(&export.body[..], None, None, |_| {}).unwrap();
    assert_eq!(report.verified.records, 6);
    assert_eq!(report.verified.head, Some(last));
    let verify = api.post("/v1/chain/verify", Role::Auditor, json!({})).await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.text());
    let verify = verify.json();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["records"], 6);
    assert_eq!(verify["head_hash"], hex(&last.hash));
}

#[tokio::test]
async fn the_http_export_refuses_a_chain_that_does_not_verify() {
    let api = common::http::Api::new();
    let records = api.records();
    assert!(records > 3);
    let export = api.get("/v1/chain/export", Role::Auditor).await;
    assert_eq!(export.status, StatusCode::OK);
    // Someone with access to the store replaces the block of record 2 under the running
    // server with an altered copy.
    // Each rate schedule was its own group, so record 2 is alone in its block.
    let stored = api.ledger.store().blocks_from(2).next().unwrap().unwrap();
    assert_eq!(stored.first_seq, 2);
    assert_eq!(
        chitra::chain::block::records(&stored.records)
            .unwrap()
            .len(),
        1
    );
    let blocks = vec![common::export::altered_block(&export.body, 2)];
    api.ledger.store().append_partial(blocks, records).unwrap();

    let export = api.get("/v1/chain/export", Role::Auditor).await;
    assert_eq!(
        export.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a chain that does not verify was exported ({} bytes)",
        export.body.len()
    );
    let verify = api
        .post("/v1/chain/verify", Role::Auditor, json!({}))
        .await
        .json();
    assert_eq!(verify["ok"], false, "{verify}");
    assert!(
        verify["fault"]
            .as_str()
            .unwrap()
            .starts_with("seq 2: content altered"),
        "{verify}"
    );
}
