//! pain.002.001.10 and status CSV parsing: the reference sample, the bank simulator (whose
//! output must be schema-valid), and every kind of hostile input, each refused with its own
//! typed error.

mod common;

use chitra::domain::event::StatusFormat;
use chitra::domain::types::Vnd;
use chitra::formats::bank::amount::AmountProblem;
use chitra::formats::bank::example::{example_lines, example_spec};
use chitra::formats::bank::{
    pain001_bytes, parse_pain002, parse_status_csv, simulate_for_pain001, simulate_pain002,
    simulate_status_csv, IsoDateTime, Location, Outcome, SimulatedLine, SimulatedReport,
    StatusError, StatusLimits, TxStatus, XmlError,
};
use common::files::{read_reference, replace_once, xmllint};

fn parse(bytes: &[u8]) -> Result<chitra::formats::bank::StatusReport, StatusError> {
    parse_pain002(bytes, &StatusLimits::default())
}

fn sample() -> Vec<u8> {
    read_reference("iso20022/sample-pain002.xml")
}

#[test]
fn the_reference_sample_parses_to_its_two_lines() {
    let report = parse(&sample()).unwrap();
    assert_eq!(report.format, StatusFormat::Pain002V10);
    assert_eq!(report.message_id, "ICBV-PSR-20251205-000123");
    assert_eq!(report.created_at.to_string(), "2025-12-05T16:10:00+07:00");
    assert_eq!(report.original_message_id, "SLDTBXH-HN-202512-0001");
    assert_eq!(
        report.original_message_name.as_deref(),
        Some("pain.001.001.09")
    );
    assert_eq!(report.original_count, Some(2));
    assert_eq!(report.original_sum, Some(Vnd(3_960_000)));
    assert_eq!(report.group_status.as_deref(), Some("PART"));
    assert_eq!(report.payment_infos.len(), 1);
    assert_eq!(
        report.payment_infos[0].original_payment_info_id,
        "TCXH-202512-B001"
    );
    assert_eq!(report.payment_infos[0].status.as_deref(), Some("PART"));
    assert_eq!(report.lines.len(), 2);
    let (tx1, tx2) = (&report.lines[0], &report.lines[1]);
    assert_eq!(tx1.end_to_end_id, "HN-202512-00000001");
    assert_eq!(tx1.status, TxStatus::ACSC);
    assert_eq!(tx1.outcome, Outcome::Settled);
    assert_eq!(tx2.end_to_end_id, "HN-202512-00000002");
    assert_eq!(tx2.status, TxStatus::RJCT);
    assert_eq!(
        tx2.outcome,
        Outcome::Rejected {
            reason_code: "AC04".into()
        }
    );
    assert_eq!(
        tx2.additional_info.as_deref(),
        Some("Tai khoan nguoi huong da dong")
    );
    assert_eq!(tx2.position, 2);
}

fn report_header() -> SimulatedReport {
    SimulatedReport {
        message_id: "ICBV-PSR-20240823-0001".into(),
        created_at: IsoDateTime::parse("2024-08-23T16:00:00+07:00").unwrap(),
        original_message_id: "SNV-HN-202408-0001".into(),
        original_payment_info_id: "NCC-202408-BATCH7".into(),
        debtor_agent_bic: Some("ICBVVNVX".into()),
    }
}

fn mixed_lines() -> Vec<SimulatedLine> {
    let outcomes = [
        Outcome::Settled,
        Outcome::Rejected {
            reason_code: "MD07".into(),
        },
        Outcome::Pending,
        Outcome::Rejected {
            reason_code: "AC04".into(),
        },
    ];
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| SimulatedLine {
            end_to_end_id: format!("P{}", 1000 + i),
            amount: Vnd(2_789_000 + i as i64),
            outcome,
        })
        .collect()
}

#[test]
fn simulated_reports_are_schema_valid_and_parse_back() {
    let lines = mixed_lines();
    let xml = simulate_pain002(&report_header(), &lines);
    if let Err(e) = xmllint(&xml, "pain.002.001.10.xsd") {
        panic!("simulated pain.002 is not schema-valid:\n{e}");
    }
    let report = parse(&xml).unwrap();
    assert_eq!(report.group_status.as_deref(), Some("PART"));
    assert_eq!(
        report.original_sum,
        Some(Vnd(lines.iter().map(|l| l.amount.0).sum()))
    );
    let got: Vec<_> = report
        .lines
        .iter()
        .map(|l| (l.end_to_end_id.clone(), l.amount, l.outcome.clone()))
        .collect();
    let want: Vec<_> = lines
        .iter()
        .map(|l| (l.end_to_end_id.clone(), Some(l.amount), l.outcome.clone()))
        .collect();
    assert_eq!(got, want);

    let all_settled: Vec<_> = lines
        .iter()
        .map(|l| SimulatedLine {
            outcome: Outcome::Settled,
            ..l.clone()
        })
        .collect();
    let xml = simulate_pain002(&report_header(), &all_settled);
    assert!(xmllint(&xml, "pain.002.001.10.xsd").is_ok());
    assert_eq!(parse(&xml).unwrap().group_status.as_deref(), Some("ACSC"));
}

#[test]
fn the_simulator_plays_the_bank_for_a_generated_file() {
    let (pain001, _) = pain001_bytes(&example_spec(), &example_lines(10)).unwrap();
    let (header, lines) =
        simulate_for_pain001(&pain001, "BANK-1", report_header().created_at, |tx| {
            if tx.end_to_end_id.ends_with('3') {
                Outcome::Rejected {
                    reason_code: "AC01".into(),
                }
            } else {
                Outcome::Settled
            }
        })
        .unwrap();
    assert_eq!(header.original_message_id, "SNV-HN-202408-0001");
    assert_eq!(header.original_payment_info_id, "NCC-202408-BATCH7");
    let xml = simulate_pain002(&header, &lines);
    assert!(xmllint(&xml, "pain.002.001.10.xsd").is_ok());
    let report = parse(&xml).unwrap();
    assert_eq!(report.lines.len(), 10);
    let rejected: Vec<_> = report
        .lines
        .iter()
        .filter(|l| matches!(l.outcome, Outcome::Rejected { .. }))
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].end_to_end_id, "P1003");

    let csv = simulate_status_csv(&header, &lines);
    let from_csv = parse_status_csv(&csv, &StatusLimits::default()).unwrap();
    let limits = StatusLimits::default();
    assert_eq!(
        chitra::formats::bank::parse_status_report(&csv, &limits).unwrap(),
        from_csv
    );
    assert_eq!(
        chitra::formats::bank::parse_status_report(&xml, &limits).unwrap(),
        report
    );
    assert_eq!(from_csv.format, StatusFormat::Csv);
    assert_eq!(from_csv.message_id, report.message_id);
    assert_eq!(from_csv.original_message_id, report.original_message_id);
    let strip = |r: &chitra::formats::bank::StatusReport| {
        r.lines
            .iter()
            .map(|l| {
                (
                    l.end_to_end_id.clone(),
                    l.status,
                    l.outcome.clone(),
                    l.amount,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&from_csv), strip(&report));
}

// ---- Hostile input: each refused with a typed error. ----

#[test]
fn refuses_oversized_reports() {
    let limits = StatusLimits {
        status_report_bytes_max: 100,
        ..StatusLimits::default()
    };
    assert_eq!(
        parse_pain002(&sample(), &limits),
        Err(StatusError::Xml(XmlError::TooLarge {
            bytes: sample().len(),
            max: 100
        }))
    );
    let csv = simulate_status_csv(&report_header(), &mixed_lines());
    assert!(matches!(
        parse_status_csv(&csv, &limits),
        Err(StatusError::TooLarge { .. })
    ));
}

#[test]
fn refuses_non_utf8() {
    let mut latin1 = sample();
    let at = latin1.windows(3).position(|w| w == b"Tai").unwrap();
    latin1[at] = 0xE0; // "à" in Latin-1, invalid as UTF-8 here
    assert!(
        matches!(parse(&latin1), Err(StatusError::Xml(XmlError::NotUtf8 { offset })) if offset == at)
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(sample().iter().flat_map(|&b| [b, 0]));
    assert!(matches!(
        parse(&utf16),
        Err(StatusError::Xml(XmlError::NotUtf8 { offset: 0 }))
    ));
    let declared = replace_once(&sample(), "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert_eq!(
        parse(&declared),
        Err(StatusError::Xml(XmlError::UnsupportedEncoding(
            "ISO-8859-1".into()
        )))
    );
    assert!(matches!(
        parse_status_csv(b"H,\xff\r\n", &StatusLimits::default()),
        Err(StatusError::NotUtf8 { offset: 2 })
    ));
}

#[test]
fn refuses_billion_laughs_without_expanding() {
    let mut dtd =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE Document [\n  <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "  <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>\n");
    let body = String::from_utf8(sample()).unwrap();
    let body = body
        .split_once("?>")
        .unwrap()
        .1
        .replace("ICBV-PSR-20251205-000123", "&lol9;");
    let doc = format!("{dtd}{body}");
    let started = std::time::Instant::now();
    assert!(matches!(
        parse(doc.as_bytes()),
        Err(StatusError::Xml(XmlError::DoctypeForbidden { .. }))
    ));
    assert!(started.elapsed().as_secs() < 1);
}

#[test]
fn refuses_external_entities_and_undefined_references() {
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><Document/>";
    assert!(matches!(
        parse(xxe.as_bytes()),
        Err(StatusError::Xml(XmlError::DoctypeForbidden { .. }))
    ));
    let undefined = replace_once(&sample(), "ICBV-PSR-20251205-000123", "&lol9;");
    assert!(
        matches!(parse(&undefined), Err(StatusError::Xml(XmlError::UndefinedEntity { name, .. })) if name == "lol9")
    );
    let escaped = replace_once(&sample(), "ICBV-PSR-20251205-000123", "ICBV&amp;&#x50;");
    assert_eq!(parse(&escaped).unwrap().message_id, "ICBV&P");
}

#[test]
fn refuses_excessive_nesting() {
    let deep = format!(
        "{}{}",
        "<SplmtryData>".repeat(40),
        "</SplmtryData>".repeat(40)
    );
    let doc = replace_once(
        &sample(),
        "</CstmrPmtStsRpt>",
        &format!("{deep}</CstmrPmtStsRpt>"),
    );
    assert!(matches!(
        parse(&doc),
        Err(StatusError::Xml(XmlError::TooDeep { max: 32, .. }))
    ));
}

#[test]
fn refuses_truncated_documents() {
    let full = sample();
    for cut in [
        full.len() / 4,
        full.len() / 2,
        full.len() - 30,
        full.len() - 12,
    ] {
        let err = parse(&full[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                StatusError::Xml(XmlError::Truncated { .. })
                    | StatusError::Xml(XmlError::Malformed { .. })
            ),
            "cut at {cut}: {err:?}"
        );
    }
    assert!(matches!(
        parse(&full[..full.len() - 12]),
        Err(StatusError::Xml(XmlError::Truncated { open: "Document" }))
    ));
    assert!(matches!(
        parse(b""),
        Err(StatusError::Xml(XmlError::NoRoot))
    ));
}

#[test]
fn refuses_wrong_root_or_namespace() {
    let wrong_ns = replace_once(&sample(), "pain.002.001.10\">", "pain.002.001.03\">");
    assert!(matches!(
        parse(&wrong_ns),
        Err(StatusError::Xml(XmlError::WrongNamespace { .. }))
    ));
    let no_ns = replace_once(
        &sample(),
        " xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10\"",
        "",
    );
    assert!(
        matches!(parse(&no_ns), Err(StatusError::Xml(XmlError::WrongNamespace { found, .. })) if found.is_empty())
    );
    let (pain001, _) = pain001_bytes(&example_spec(), &example_lines(1)).unwrap();
    assert!(matches!(
        parse(&pain001),
        Err(StatusError::Xml(XmlError::WrongNamespace { .. }))
    ));
    let wrong_message = replace_once(&sample(), "<CstmrPmtStsRpt>", "<CstmrCdtTrfInitn>");
    assert!(matches!(parse(&wrong_message), Err(StatusError::Xml(_))));
    let html = b"<html><body>502 Bad Gateway</body></html>";
    assert!(matches!(
        parse(html),
        Err(StatusError::Xml(XmlError::WrongRoot { .. })
            | StatusError::Xml(XmlError::WrongNamespace { .. }))
    ));
}

fn missing(doc: &[u8]) -> (&'static str, Location) {
    match parse(doc) {
        Err(StatusError::Missing { element, at }) => (element, at),
        other => panic!("expected a missing element, got {other:?}"),
    }
}

#[test]
fn refuses_missing_mandatory_elements() {
    let s = sample();
    assert_eq!(
        missing(&replace_once(
            &s,
            "<MsgId>ICBV-PSR-20251205-000123</MsgId>",
            ""
        ))
        .0,
        "MsgId"
    );
    assert_eq!(
        missing(&replace_once(
            &s,
            "<CreDtTm>2025-12-05T16:10:00+07:00</CreDtTm>",
            ""
        ))
        .0,
        "CreDtTm"
    );
    assert_eq!(
        missing(&replace_once(
            &s,
            "<OrgnlMsgId>SLDTBXH-HN-202512-0001</OrgnlMsgId>",
            ""
        ))
        .0,
        "OrgnlMsgId"
    );
    assert_eq!(
        missing(&replace_once(
            &s,
            "<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>",
            ""
        ))
        .0,
        "OrgnlMsgNmId"
    );
    assert_eq!(
        missing(&replace_once(
            &s,
            "<OrgnlPmtInfId>TCXH-202512-B001</OrgnlPmtInfId>",
            ""
        ))
        .0,
        "OrgnlPmtInfId"
    );
    let (element, at) = missing(&replace_once(&s, "<TxSts>RJCT</TxSts>", ""));
    assert_eq!(element, "TxSts");
    assert_eq!(
        at,
        Location::Transaction {
            index: 2,
            end_to_end_id: Some("HN-202512-00000002".into())
        }
    );
    assert_eq!(at.to_string(), "TxInfAndSts #2 (HN-202512-00000002)");
    let (element, at) = missing(&replace_once(
        &s,
        "<OrgnlEndToEndId>HN-202512-00000001</OrgnlEndToEndId>",
        "",
    ));
    assert_eq!(
        (element, at),
        (
            "OrgnlEndToEndId",
            Location::Transaction {
                index: 1,
                end_to_end_id: None
            }
        )
    );
}

fn with_amount(amount: &str, ccy: &str) -> Vec<u8> {
    replace_once(
        &sample(),
        "<AccptncDtTm>",
        &format!("<OrgnlTxRef><Amt><InstdAmt Ccy=\"{ccy}\">{amount}</InstdAmt></Amt></OrgnlTxRef><AccptncDtTm>"),
    )
}

#[test]
fn reads_echoed_amounts_and_refuses_fractions_negatives_and_other_currencies() {
    // OrgnlTxRef comes after AccptncDtTm in the schema; the parser does not enforce order.
    assert_eq!(
        parse(&with_amount("1500000", "VND")).unwrap().lines[0].amount,
        Some(Vnd(1_500_000))
    );
    for (text, problem) in [
        ("1500000.5", AmountProblem::Fractional),
        ("1500000.00", AmountProblem::Fractional),
        ("-1500000", AmountProblem::Negative),
        ("0", AmountProblem::Zero),
        ("1.5e6", AmountProblem::NotANumber),
    ] {
        match parse(&with_amount(text, "VND")) {
            Err(StatusError::BadAmount { problem: p, at, .. }) => {
                assert_eq!(p, problem, "{text}");
                assert_eq!(
                    at,
                    Location::Transaction {
                        index: 1,
                        end_to_end_id: Some("HN-202512-00000001".into())
                    }
                );
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(
        matches!(parse(&with_amount("1500000", "USD")), Err(StatusError::WrongCurrency { found, .. }) if found == "USD")
    );
    let frac_sum = replace_once(
        &sample(),
        "<OrgnlCtrlSum>3960000</OrgnlCtrlSum>",
        "<OrgnlCtrlSum>3960000.5</OrgnlCtrlSum>",
    );
    assert!(matches!(
        parse(&frac_sum),
        Err(StatusError::BadAmount {
            element: "OrgnlCtrlSum",
            ..
        })
    ));
}

#[test]
fn refuses_unknown_codes_and_rejections_without_reason() {
    let s = sample();
    assert!(matches!(
        parse(&replace_once(
            &s,
            "<TxSts>ACSC</TxSts>",
            "<TxSts>PAID</TxSts>"
        )),
        Err(StatusError::UnknownStatus {
            element: "TxSts",
            ..
        })
    ));
    assert!(matches!(
        parse(&replace_once(&s, "<Cd>AC04</Cd>", "<Cd>ZZ99</Cd>")),
        Err(StatusError::UnknownReasonCode { code, .. }) if code == "ZZ99"
    ));
    assert!(matches!(
        parse(&replace_once(
            &s,
            "<Rsn><Cd>AC04</Cd></Rsn>",
            "<Rsn><Prtry>CLOSED</Prtry></Rsn>"
        )),
        Err(StatusError::MissingReason {
            status: TxStatus::RJCT,
            ..
        })
    ));
    assert!(matches!(
        parse(&replace_once(
            &s,
            "<GrpSts>PART</GrpSts>",
            "<GrpSts>DONE</GrpSts>"
        )),
        Err(StatusError::UnknownStatus {
            element: "GrpSts",
            ..
        })
    ));
    assert!(matches!(
        parse(&replace_once(
            &s,
            "<TxSts>ACSC</TxSts>",
            "<TxSts>ACSC</TxSts><TxSts>RJCT</TxSts>"
        )),
        Err(StatusError::Duplicate {
            element: "TxSts",
            ..
        })
    ));
    let long_id = replace_once(&s, "HN-202512-00000001", &"X".repeat(36));
    assert!(matches!(
        parse(&long_id),
        Err(StatusError::TooLong {
            element: "OrgnlEndToEndId",
            max_chars: 35,
            ..
        })
    ));
    let other_message = replace_once(
        &s,
        "<OrgnlMsgNmId>pain.001.001.09",
        "<OrgnlMsgNmId>pacs.008.001.08",
    );
    assert!(matches!(
        parse(&other_message),
        Err(StatusError::BadValue {
            element: "OrgnlMsgNmId",
            ..
        })
    ));
}

#[test]
fn a_whole_file_rejection_without_lines_is_reported_as_such() {
    let s = String::from_utf8(sample()).unwrap();
    let start = s.find("<OrgnlPmtInfAndSts>").unwrap();
    let end = s.find("</OrgnlPmtInfAndSts>").unwrap() + "</OrgnlPmtInfAndSts>".len();
    let doc = format!("{}{}", &s[..start], &s[end..]).replace(
        "<GrpSts>PART</GrpSts>",
        "<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf>",
    );
    assert!(xmllint(doc.as_bytes(), "pain.002.001.10.xsd").is_ok());
    let report = parse(doc.as_bytes()).unwrap();
    assert!(report.lines.is_empty());
    assert_eq!(report.group_status.as_deref(), Some("RJCT"));
    assert_eq!(report.group_reason_code.as_deref(), Some("AM04"));
}

// ---- Status CSV ----

fn csv_parse(text: &str) -> Result<chitra::formats::bank::StatusReport, StatusError> {
    parse_status_csv(text.as_bytes(), &StatusLimits::default())
}

const CSV_HEAD: &str = "H,chitra-status-v1,BANK-1,SNV-HN-202408-0001,2024-08-23T16:00:00+07:00\r\n";

#[test]
fn status_csv_parses_quoted_fields_lf_and_bom() {
    let text = format!(
        "\u{feff}{CSV_HEAD}D,P1,ACSC,,2789000,\nD,P2,RJCT,MD07,2789000,\"Người hưởng đã mất, báo ngày 01/08\"\nT,2,5578000\n"
    );
    let r = csv_parse(&text).unwrap();
    assert_eq!(r.lines.len(), 2);
    assert_eq!(
        r.lines[1].outcome,
        Outcome::Rejected {
            reason_code: "MD07".into()
        }
    );
    assert_eq!(
        r.lines[1].additional_info.as_deref(),
        Some("Người hưởng đã mất, báo ngày 01/08")
    );
    assert_eq!(r.lines[1].position, 3);
}

#[test]
fn status_csv_refuses_bad_files_with_line_numbers() {
    let d = "D,P1,ACSC,,2789000,\r\n";
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}{d}")),
        Err(StatusError::Missing {
            element: "trailer (T) line",
            ..
        })
    ));
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}{d}T,2,2789000\r\n")),
        Err(StatusError::TrailerMismatch { count: 1, .. })
    ));
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}{d}T,1,2789001\r\n")),
        Err(StatusError::TrailerMismatch { .. })
    ));
    assert!(matches!(
        csv_parse(&format!("{d}T,1,2789000\r\n")),
        Err(StatusError::Csv {
            at: Location::CsvLine(1),
            ..
        })
    ));
    assert!(matches!(
        csv_parse(&format!(
            "{CSV_HEAD}D,P1,ACSC,,2789000.5,\r\nT,1,2789000\r\n"
        )),
        Err(StatusError::BadAmount {
            at: Location::CsvLine(2),
            problem: AmountProblem::Fractional,
            ..
        })
    ));
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}D,P1,ACSC,,-5,\r\nT,1,-5\r\n")),
        Err(StatusError::BadAmount {
            problem: AmountProblem::Negative,
            ..
        })
    ));
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}D,P1,RJCT,,2789000,\r\nT,1,2789000\r\n")),
        Err(StatusError::MissingReason {
            at: Location::CsvLine(2),
            ..
        })
    ));
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}D,P1,OK,,2789000,\r\nT,1,2789000\r\n")),
        Err(StatusError::UnknownStatus { .. })
    ));
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}D,P1,ACSC,2789000\r\nT,1,2789000\r\n")),
        Err(StatusError::Csv {
            at: Location::CsvLine(2),
            ..
        })
    ));
    assert!(matches!(
        csv_parse(&format!("{CSV_HEAD}{d}T,1,2789000\r\n{d}")),
        Err(StatusError::Csv {
            at: Location::CsvLine(4),
            ..
        })
    ));
    assert!(matches!(
        csv_parse(&format!(
            "{CSV_HEAD}D,\"P1,ACSC,,2789000,\r\nT,1,2789000\r\n"
        )),
        Err(StatusError::Csv { .. }) | Err(StatusError::Missing { .. })
    ));
}
