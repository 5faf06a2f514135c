//! The parsers of outside input never panic: arbitrary bytes, and arbitrary mutations of the
//! reference sample and of simulated reports, always give `Ok` or a typed error.

mod common;

use chitra::domain::types::Vnd;
use chitra::formats::bank::{
    check_pain001, parse_pain002, parse_status_csv, simulate_pain002, simulate_status_csv,
    IsoDateTime, Outcome, SimulatedLine, SimulatedReport, StatusLimits,
};
use proptest::prelude::*;

fn sample() -> Vec<u8> {
    common::files::read_reference("iso20022/sample-pain002.xml")
}

fn simulated_csv() -> Vec<u8> {
    let report = SimulatedReport {
        message_id: "B-1".into(),
        created_at: IsoDateTime::parse("2024-08-23T16:00:00+07:00").unwrap(),
        original_message_id: "M-1".into(),
        original_payment_info_id: "NCC-202408-BATCH7".into(),
        debtor_agent_bic: None,
    };
    let lines = vec![
        SimulatedLine {
            end_to_end_id: "P1".into(),
            amount: Vnd(100),
            outcome: Outcome::Settled,
        },
        SimulatedLine {
            end_to_end_id: "P2".into(),
            amount: Vnd(200),
            outcome: Outcome::Rejected {
                reason_code: "AC04".into(),
            },
        },
    ];
    assert!(parse_pain002(&simulate_pain002(&report, &lines), &StatusLimits::default()).is_ok());
    simulate_status_csv(&report, &lines)
}

fn small_limits() -> StatusLimits {
    StatusLimits {
        status_report_bytes_max: 64 * 1024,
        status_report_depth_max: 16,
    }
}

/// Every parser of outside input, on the same bytes.
fn parse_all(bytes: &[u8]) {
    let _ = parse_pain002(bytes, &StatusLimits::default());
    let _ = parse_pain002(bytes, &small_limits());
    let _ = parse_status_csv(bytes, &StatusLimits::default());
    let _ = check_pain001(bytes);
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippets = prop::sample::select(vec![
        b"<".to_vec(),
        b">".to_vec(),
        b"&".to_vec(),
        b"&lol;".to_vec(),
        b"<!DOCTYPE x [<!ENTITY a \"b\">]>".to_vec(),
        b"<![CDATA[x]]>".to_vec(),
        b"</Document>".to_vec(),
        b"<TxInfAndSts>".to_vec(),
        b"&#0;".to_vec(),
        b"&#x110000;".to_vec(),
        b"\xff\xfe".to_vec(),
        b"\"".to_vec(),
        b",".to_vec(),
        b"\r\n".to_vec(),
        b"D,P9,RJCT,,1,\r\n".to_vec(),
        b"-1.5".to_vec(),
        b"xmlns=\"\"".to_vec(),
        b"<a:b>".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![snippets, prop::collection::vec(any::<u8>(), 0..8)]
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..128).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(doc: &mut Vec<u8>, m: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match m {
        Mutation::Flip(i, b) if !doc.is_empty() => {
            let i = i % doc.len();
            doc[i] = *b;
        }
        Mutation::Flip(..) => {}
        Mutation::Insert(i, s) => {
            let i = at(*i, doc.len());
            doc.splice(i..i, s.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let i = at(*i, doc.len());
            let end = (i + n).min(doc.len());
            doc.drain(i..end);
        }
        Mutation::Truncate(i) => doc.truncate(at(*i, doc.len())),
        Mutation::Duplicate(i, n) => {
            let i = at(*i, doc.len());
            let end = (i + n).min(doc.len());
            let copy = doc[i..end].to_vec();
            doc.splice(end..end, copy);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_all(&bytes);
    }

    #[test]
    fn mutations_of_the_sample_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        let mut doc = sample();
        for m in &mutations {
            apply(&mut doc, m);
        }
        parse_all(&doc);
    }

    #[test]
    fn mutations_of_a_status_csv_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        let mut doc = simulated_csv();
        for m in &mutations {
            apply(&mut doc, m);
        }
        parse_all(&doc);
    }

    #[test]
    fn arbitrary_text_in_sample_fields_never_panics(text in "\\PC{0,60}", field in 0usize..6) {
        let targets = ["ICBV-PSR-20251205-000123", "2025-12-05T16:10:00+07:00", "HN-202512-00000001", "ACSC", "AC04", "3960000"];
        let doc = String::from_utf8(sample()).unwrap().replacen(targets[field], &text, 1);
        parse_all(doc.as_bytes());
    }
}
