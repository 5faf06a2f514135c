//! The CSV payment file and the cash list: same content as the pain.001, a trailer that adds
//! up, RFC 4180 quoting, deterministic bytes.

use chitra::domain::types::{CommuneCode, PaymentId, Vnd};
use chitra::formats::bank::example::{
    example_cash_lines, example_cash_spec, example_lines, example_spec,
};
use chitra::formats::bank::{
    cash_list_bytes, check_pain001, pain001_bytes, payments_csv_bytes, split_by_pay_point,
    SpecError,
};

/// Parses a record-typed CSV back with the csv crate (an independent reader).
fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn payments_csv_carries_the_same_content_as_the_pain001() {
    let spec = example_spec();
    let mut lines = example_lines(5);
    lines[0].creditor_name = "Lê, \"Bé\" Ba".into();
    let (csv, summary) = payments_csv_bytes(&spec, &lines).unwrap();
    let (xml, xml_summary) = pain001_bytes(&spec, &lines).unwrap();
    assert_eq!(summary.totals, xml_summary.totals);
    let checked = check_pain001(&xml).unwrap();

    let rows = records(&csv);
    assert_eq!(
        rows[0][..4],
        [
            "H",
            "chitra-payments-v1",
            "SNV-HN-202408-0001",
            "2024-08-20T08:30:00+07:00"
        ]
    );
    assert_eq!(rows[0][4], "NCC-202408-BATCH7");
    assert_eq!(rows[0].len(), 14);
    let details: Vec<_> = rows.iter().filter(|r| r[0] == "D").collect();
    assert_eq!(details.len(), 5);
    for (row, tx) in details.iter().zip(&checked.transactions) {
        assert_eq!(row.len(), 11);
        assert_eq!(row[1], tx.end_to_end_id);
        assert_eq!(row[2], tx.amount.0.to_string());
        assert_eq!(row[3], "VND");
        assert_eq!(row[9], "SSBE");
    }
    assert_eq!(details[0][4], "Lê, \"Bé\" Ba");
    assert_eq!(details[0][5], lines[0].citizen_id.expose());
    assert_eq!(details[0][7], "970436");
    assert_eq!(details[0][8], "BFTVVNVX");
    assert_eq!(details[2][8], "", "VBSP has no BIC");
    let last = rows.last().unwrap();
    assert_eq!(last, &["T", "5", &summary.totals.sum.0.to_string()]);
    assert!(csv.ends_with(b"\r\n"));
    assert_eq!(
        payments_csv_bytes(&spec, &lines).unwrap().0,
        csv,
        "deterministic"
    );
}

#[test]
fn cash_list_shows_full_ids_numbers_lines_and_totals() {
    let spec = example_cash_spec();
    let lines = example_cash_lines(3);
    let (bytes, summary) = cash_list_bytes(&spec, &lines).unwrap();
    let rows = records(&bytes);
    assert_eq!(
        rows[0],
        [
            "H",
            "chitra-cash-list-v1",
            "CASH-HN-202408-00004",
            "2024-08-20T08:30:00+07:00",
            "BATCH7",
            "NCC",
            "2024-08",
            "00004",
            "UBND phường Ba Đình"
        ]
    );
    assert_eq!(
        rows[1],
        [
            "D",
            "1",
            "P1000",
            "Nguyễn Văn An",
            lines[0].citizen_id.expose(),
            "2789000",
            ""
        ]
    );
    assert_eq!(rows[3][1], "3");
    assert_eq!(rows[4], ["T", "3", &summary.totals.sum.0.to_string()]);
    assert_eq!(summary.totals.count, 3);
    assert_eq!(
        cash_list_bytes(&spec, &lines).unwrap().0,
        bytes,
        "deterministic"
    );
}

#[test]
fn cash_lists_split_by_pay_point_and_refuse_strays() {
    let mut lines = example_cash_lines(4);
    let other = CommuneCode::parse("00008").unwrap();
    lines[1].pay_point = other;
    lines[3].pay_point = other;
    let by = split_by_pay_point(&lines);
    assert_eq!(by.len(), 2);
    assert_eq!(
        by[&other].iter().map(|l| l.payment).collect::<Vec<_>>(),
        [PaymentId(1001), PaymentId(1003)]
    );
    assert!(matches!(
        cash_list_bytes(&example_cash_spec(), &lines),
        Err(SpecError::WrongPayPoint {
            payment: PaymentId(1001),
            ..
        })
    ));
    let mut zero = example_cash_lines(1);
    zero[0].amount = Vnd(0);
    assert!(matches!(
        cash_list_bytes(&example_cash_spec(), &zero),
        Err(SpecError::NonPositiveAmount { .. })
    ));
}
