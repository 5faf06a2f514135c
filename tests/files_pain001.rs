//! pain.001.001.09: generated files are schema-valid (xmllint against the official XSD) and
//! pass the application checks; the checker catches what the schema lets through.

mod common;

use chitra::domain::types::{BankBin, PaymentId, Vnd};
use chitra::formats::bank::check::{CheckError, Level};
use chitra::formats::bank::example::{example_line, example_lines, example_spec};
use chitra::formats::bank::text::TextProblem;
use chitra::formats::bank::{check_pain001, pain001_bytes, write_pain001, PaymentLine, SpecError};
use common::files::{read_reference, replace_nth, replace_once, xmllint};

const XSD: &str = "pain.001.001.09.xsd";

fn generated(lines: &[PaymentLine]) -> Vec<u8> {
    pain001_bytes(&example_spec(), lines)
        .expect("valid input")
        .0
}

fn assert_valid_file(bytes: &[u8]) {
    if let Err(e) = xmllint(bytes, XSD) {
        panic!("schema rejected generated file:\n{e}");
    }
    let summary =
        check_pain001(bytes).unwrap_or_else(|e| panic!("application checks failed: {e:?}"));
    assert!(summary.totals.count > 0);
}

/// Lines that exercise escaping, Vietnamese text, truncation and banks without a BIC.
fn awkward_lines() -> Vec<PaymentLine> {
    let mut lines = example_lines(6);
    lines[0].creditor_name = "Công ty A & B <Chi nhánh> \"Hà Nội\" ]]>".into();
    lines[1].creditor_name = "Đặng Thị Ngọc Ánh ".repeat(12); // > 140 characters
    lines[2].creditor_name = "Nguye\u{0302}\u{0303}n Va\u{0306}n An".into(); // decomposed marks
    lines[3].bank_bin = BankBin::parse("999888").unwrap(); // VBSP: no BIC known
    lines[4].bank_bin = BankBin::parse("970414").unwrap(); // upstream BIC is not Vietnamese
    lines[5].remittance = "Trợ cấp NCC tháng 2024-08 (truy lĩnh 2024-07) — tiền & quà".into();
    lines
}

#[test]
fn generated_files_validate_against_the_xsd_and_pass_the_checks() {
    assert_valid_file(&generated(&example_lines(1)));
    assert_valid_file(&generated(&example_lines(40)));
    assert_valid_file(&generated(&awkward_lines()));
}

#[test]
fn debtor_bank_without_bic_is_named_by_bin_alone() {
    let mut spec = example_spec();
    spec.debtor.bank_bin = BankBin::parse("999888").unwrap();
    let (bytes, _) = pain001_bytes(&spec, &example_lines(2)).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("<MmbId>999888</MmbId>"));
    assert!(!text.contains("<BICFI>ICBVVNVX</BICFI>"));
    assert_valid_file(&bytes);
}

#[test]
fn the_reference_sample_passes_the_checks() {
    let summary = check_pain001(&read_reference("iso20022/sample-pain001.xml")).unwrap();
    assert_eq!(summary.message_id, "SLDTBXH-HN-202512-0001");
    assert_eq!(summary.totals.count, 2);
    assert_eq!(summary.totals.sum, Vnd(3_960_000));
    assert_eq!(summary.transactions[1].end_to_end_id, "HN-202512-00000002");
}

#[test]
fn output_is_deterministic_and_writer_forms_agree() {
    let lines = awkward_lines();
    let a = generated(&lines);
    let b = generated(&lines);
    assert_eq!(a, b);
    let mut streamed = Vec::new();
    let summary = write_pain001(&example_spec(), &lines, &mut streamed).unwrap();
    assert_eq!(streamed, a);
    assert_eq!(summary.bytes, a.len() as u64);
}

#[test]
fn names_are_escaped_and_truncated_at_character_boundaries() {
    let lines = awkward_lines();
    let (bytes, summary) = pain001_bytes(&example_spec(), &lines).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("<Nm>Công ty A &amp; B &lt;Chi nhánh&gt; \"Hà Nội\" ]]&gt;</Nm>"));
    assert_eq!(summary.truncated.len(), 1);
    assert_eq!(summary.truncated[0].payment, Some(lines[1].payment));
    let long = text
        .split("<Nm>")
        .nth(4)
        .unwrap()
        .split("</Nm>")
        .next()
        .unwrap();
    assert!(long.chars().count() <= 140 && long.starts_with("Đặng Thị Ngọc Ánh"));
    assert!(text.contains("<Nm>Nguye\u{0302}\u{0303}n Va\u{0306}n An</Nm>"));
}

#[test]
fn transactions_carry_the_mapped_values() {
    let text = String::from_utf8(generated(&example_lines(1))).unwrap();
    let line = example_line(0);
    for needle in [
        "<EndToEndId>P1000</EndToEndId>".to_string(),
        format!("<InstdAmt Ccy=\"VND\">{}</InstdAmt>", line.amount.0),
        "<BICFI>BFTVVNVX</BICFI>".into(),
        "<MmbId>970436</MmbId>".into(),
        format!("<Id>{}</Id>", line.citizen_id.expose()),
        "<SchmeNm><Cd>NIDN</Cd></SchmeNm>".into(),
        format!("<Id>{}</Id>", line.account.expose()),
        "<Purp><Cd>SSBE</Cd></Purp>".into(),
        "<Ustrd>Trợ cấp NCC tháng 2024-08</Ustrd>".into(),
        "<PmtInfId>NCC-202408-BATCH7</PmtInfId>".into(),
        "<ChrgBr>DEBT</ChrgBr>".into(),
        "<CtgyPurp><Cd>SSBE</Cd></CtgyPurp>".into(),
    ] {
        assert!(text.contains(&needle), "missing {needle}");
    }
}

// ---- Mutations: the schema accepts them, the checker must not. ----

fn base() -> Vec<u8> {
    generated(&example_lines(3))
}

/// The mutated file is still schema-valid (so only the application checks can catch it) and
/// the checker reports the expected problem.
fn caught_although_schema_valid(mutated: &[u8], expect: impl Fn(&CheckError) -> bool) {
    assert!(
        xmllint(mutated, XSD).is_ok(),
        "mutation should be schema-valid"
    );
    let errors = check_pain001(mutated).expect_err("checker must reject the mutation");
    assert!(
        errors.iter().any(expect),
        "expected error not among {errors:?}"
    );
}

#[test]
fn catches_wrong_group_count() {
    let m = replace_once(&base(), "<NbOfTxs>3</NbOfTxs>", "<NbOfTxs>7</NbOfTxs>");
    caught_although_schema_valid(
        &m,
        |e| matches!(e, CheckError::CountMismatch { at: Level::Group, declared, actual: 3 } if declared == "7"),
    );
}

#[test]
fn catches_wrong_payment_info_count() {
    let m = replace_nth(&base(), "<NbOfTxs>3</NbOfTxs>", "<NbOfTxs>2</NbOfTxs>", 1);
    caught_although_schema_valid(&m, |e| {
        matches!(
            e,
            CheckError::CountMismatch {
                at: Level::PaymentInfo(_),
                ..
            }
        )
    });
}

#[test]
fn catches_wrong_control_sum() {
    let sum: i64 = example_lines(3).iter().map(|l| l.amount.0).sum();
    let m = replace_once(
        &base(),
        &format!("<CtrlSum>{sum}</CtrlSum>"),
        &format!("<CtrlSum>{}</CtrlSum>", sum + 1000),
    );
    caught_although_schema_valid(&m, |e| {
        matches!(
            e,
            CheckError::SumMismatch {
                at: Level::Group,
                ..
            }
        )
    });
}

#[test]
fn catches_fractional_amount() {
    let amount = example_line(1).amount.0;
    let m = replace_once(
        &base(),
        &format!(">{amount}</InstdAmt>"),
        &format!(">{amount}.5</InstdAmt>"),
    );
    caught_although_schema_valid(
        &m,
        |e| matches!(e, CheckError::BadAmount { tx, .. } if tx.index == 2 && tx.end_to_end_id.as_deref() == Some("P1001")),
    );
}

#[test]
fn catches_duplicate_end_to_end_id() {
    let m = replace_once(
        &base(),
        "<EndToEndId>P1002</EndToEndId>",
        "<EndToEndId>P1000</EndToEndId>",
    );
    caught_although_schema_valid(
        &m,
        |e| matches!(e, CheckError::DuplicateEndToEndId { first: 1, tx, .. } if tx.index == 3),
    );
}

#[test]
fn catches_missing_creditor_account() {
    let text = String::from_utf8(base()).unwrap();
    let start = text.find("<CdtrAcct>").unwrap();
    let end = text.find("</CdtrAcct>").unwrap() + "</CdtrAcct>".len();
    let m = format!("{}{}", &text[..start], &text[end..]).into_bytes();
    caught_although_schema_valid(
        &m,
        |e| matches!(e, CheckError::MissingCreditorAccount { tx } if tx.index == 1),
    );
}

#[test]
fn catches_missing_creditor_name_purpose_and_bad_national_id() {
    let m = replace_once(&base(), "<Nm>Nguyễn Văn An</Nm>", "");
    caught_although_schema_valid(&m, |e| matches!(e, CheckError::MissingCreditorName { .. }));
    let m = replace_once(
        &base(),
        "<Purp><Cd>SSBE</Cd></Purp>",
        "<Purp><Cd>GOVT</Cd></Purp>",
    );
    caught_although_schema_valid(&m, |e| matches!(e, CheckError::WrongPurpose { .. }));
    let id = example_line(0).citizen_id;
    let m = replace_once(
        &base(),
        &format!("<Id>{}</Id>", id.expose()),
        "<Id>00105201234</Id>",
    );
    caught_although_schema_valid(&m, |e| {
        matches!(e, CheckError::BadNationalId { chars: 11, .. })
    });
    let m = replace_once(&base(), "<Cd>NIDN</Cd>", "<Cd>CCPT</Cd>");
    caught_although_schema_valid(&m, |e| matches!(e, CheckError::MissingNationalId { .. }));
}

#[test]
fn catches_wrong_currency_and_missing_agent() {
    let m = replace_once(&base(), "Ccy=\"VND\"", "Ccy=\"USD\"");
    caught_although_schema_valid(
        &m,
        |e| matches!(e, CheckError::WrongCurrency { found, .. } if found == "USD"),
    );
    let text = String::from_utf8(base()).unwrap();
    let start = text.find("<CdtrAgt>").unwrap();
    let end = text.find("</CdtrAgt>").unwrap() + "</CdtrAgt>".len();
    let m = format!("{}{}", &text[..start], &text[end..]).into_bytes();
    caught_although_schema_valid(&m, |e| matches!(e, CheckError::MissingCreditorAgent { .. }));
}

#[test]
fn checker_error_texts_do_not_leak_citizen_ids() {
    let id = example_line(0).citizen_id;
    let m = replace_once(
        &base(),
        &format!("<Id>{}</Id>", id.expose()),
        "<Id>0010520123456789</Id>",
    );
    let errors = check_pain001(&m).unwrap_err();
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!text.contains("0010520123456789"), "{text}");
}

// ---- Input the writer refuses, writing nothing. ----

#[test]
fn refuses_bad_input_before_writing() {
    let spec = example_spec();
    assert_eq!(pain001_bytes(&spec, &[]).unwrap_err(), SpecError::NoLines);

    let mut lines = example_lines(2);
    lines[1].amount = Vnd(-5);
    assert!(matches!(
        pain001_bytes(&spec, &lines),
        Err(SpecError::NonPositiveAmount { .. })
    ));

    let mut lines = example_lines(2);
    lines[1].payment = PaymentId(1000);
    assert_eq!(
        pain001_bytes(&spec, &lines).unwrap_err(),
        SpecError::DuplicatePayment {
            payment: PaymentId(1000)
        }
    );

    let mut lines = example_lines(2);
    lines[0].creditor_name = "A\u{0}B".into();
    assert!(matches!(
        pain001_bytes(&spec, &lines),
        Err(SpecError::BadText {
            problem: TextProblem::ForbiddenCharacter,
            ..
        })
    ));

    // A name that looks like a spreadsheet formula is a name the ledger accepts: the XML
    // carries it as it is and the CSV neutralises it, so a release never fails on it.
    let mut lines = example_lines(2);
    lines[0].creditor_name = "=cmd|' /C calc'!A0".into();
    let (xml, _) = pain001_bytes(&spec, &lines).unwrap();
    assert!(String::from_utf8(xml)
        .unwrap()
        .contains("<Nm>=cmd|' /C calc'!A0</Nm>"));
    let (csv, _) = chitra::formats::bank::payments_csv_bytes(&spec, &lines).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
    assert!(!csv.contains(",=cmd"), "{csv}");

    let mut bad = example_spec();
    bad.message_id = "has space".into();
    assert!(matches!(
        pain001_bytes(&bad, &example_lines(1)),
        Err(SpecError::BadMessageId(_))
    ));
    bad.message_id = "X".repeat(36);
    assert!(matches!(
        pain001_bytes(&bad, &example_lines(1)),
        Err(SpecError::BadMessageId(_))
    ));

    let mut lines = example_lines(2);
    lines[0].amount = Vnd(999_999_999_999_999_999);
    assert_eq!(
        pain001_bytes(&spec, &lines).unwrap_err(),
        SpecError::SumTooLarge
    );
}

#[test]
fn write_errors_surface_and_spec_errors_write_nothing() {
    let mut out = Vec::new();
    assert!(write_pain001(&example_spec(), &[], &mut out).is_err());
    assert!(out.is_empty());
}
