//! Property tests of the encodings: records and payloads round-trip, arbitrary bytes never
//! panic a parser, and any single changed byte of an export is detected.

use chitra::chain::export::ChainExportReader;
use chitra::chain::record::{encode_record, parse_record, Idempotency, RecordHeader};
use chitra::domain::event::*;
use chitra::domain::types::*;
use chitra::ledger::codec::{decode_event, decode_personal, encode_personal, event_bytes};
use proptest::prelude::*;

fn golden_export() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ledger-data/golden/v1/chain.export"
    ))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn records_round_trip(
        seq in any::<u64>(),
        prev in any::<[u8; 32]>(),
        at in any::<i64>(),
        principal in "[a-z:]{1,64}",
        key in proptest::option::of("[!-~]{1,128}"),
        digest in any::<[u8; 32]>(),
        commitment in proptest::option::of(any::<[u8; 32]>()),
        version in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let header = RecordHeader {
            seq,
            prev_hash: prev,
            recorded_at_ms: at,
            principal: &principal,
            idempotency: key.as_deref().map(|k| Idempotency { key: k.as_bytes(), request_digest: digest }),
            personal_commitment: commitment,
            payload_version: version,
        };
        let mut out = Vec::new();
        encode_record(&mut out, &header, &payload);
        let view = parse_record(&out).unwrap();
        prop_assert_eq!(view.header, header);
        prop_assert_eq!(view.payload, &payload[..]);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_record(&bytes);
        let _ = decode_event(1, &bytes);
        let _ = decode_personal(&bytes);
        let _ = chitra::chain::block::records(&bytes);
        let _ = chitra::chain::block::decode_personal_block(&bytes);
        let _ = chitra::ledger::verify::verify_export(&bytes[..], None, None, |_| {});
    }

    #[test]
    fn any_changed_byte_of_an_export_is_detected(at in 0usize..2125, bit in 0u8..8) {
        let mut bytes = golden_export();
        prop_assume!(at < bytes.len());
        bytes[at] ^= 1 << bit;
        let verified = chitra::ledger::verify::verify_export(&bytes[..], None, None, |_| {});
        prop_assert!(verified.is_err(), "flipping bit {} of byte {} went unnoticed", bit, at);
    }

    #[test]
    fn payments_round_trip(
        amounts in proptest::collection::vec(-10_000_000i64..50_000_000, 1..12),
        months in proptest::collection::vec(0u8..12, 1..12),
        payment in 1u64..u64::MAX,
        rule in "[a-z0-9.@-]{0,40}",
    ) {
        let items: Vec<PaymentItem> = amounts
            .iter()
            .zip(months.iter().cycle())
            .map(|(a, m)| PaymentItem {
                entitlement: EntitlementId(payment % 1000 + 1),
                source_month: Month::new(2024, m + 1).unwrap(),
                kind: if *a < 0 { ItemKind::Recovery } else { ItemKind::Regular },
                amount: Vnd(*a),
                rule: rule.clone(),
            })
            .collect();
        let event = Event::PaymentScheduled(PaymentScheduled {
            payment: PaymentId(payment),
            batch: BatchId(3),
            beneficiary: BeneficiaryId(payment / 2 + 1),
            route: Route::Cash { pay_point: CommuneCode::parse("00004").unwrap() },
            amount: Vnd(amounts.iter().sum()),
            items,
        });
        prop_assert_eq!(decode_event(1, &event_bytes(&event)).unwrap(), event);
    }

    #[test]
    fn personal_data_round_trips(
        name in "\\PC{1,60}",
        digits in "[0-9]{12}",
        account in "[0-9A-Z]{4,34}",
        day in 1u8..29,
    ) {
        let data = PersonalData {
            identity: Some(Identity {
                citizen_id: CitizenId::parse(&digits).unwrap(),
                full_name: name.clone(),
                birth_date: Date::new(1950, 2, day).unwrap(),
                sex: Sex::Female,
                address_line: name.clone(),
            }),
            account: Some(BankAccountDetails {
                account_number: AccountNumber::parse(&account).unwrap(),
                holder_name: name,
            }),
        };
        let mut bytes = Vec::new();
        encode_personal(&data, &mut bytes);
        prop_assert_eq!(decode_personal(&bytes).unwrap(), data);
    }
}

#[test]
fn the_golden_export_has_the_length_the_mutation_test_assumes() {
    let bytes = golden_export();
    assert_eq!(
        bytes.len(),
        2125,
        "update the range in any_changed_byte_of_an_export_is_detected"
    );
    let mut reader = ChainExportReader::new(&bytes[..]).unwrap();
    let mut buf = Vec::new();
    while reader.next_record(&mut buf).unwrap() {}
}

/// A length prefix that claims petabytes is refused, not allocated (found by the fuzz test
/// above on a CI run: the process aborted).
#[test]
fn a_hostile_length_prefix_is_refused_without_allocating() {
    // Variant 26 (personal_data_erased): beneficiary 1, then a record list claiming 2^60 items.
    let mut bytes = vec![26u8, 1, 253];
    bytes.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(decode_event(1, &bytes).is_err());
    let mut personal = vec![1u8, 1, b'0'];
    personal.extend_from_slice(&[253]);
    personal.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(decode_personal(&personal).is_err());
}
