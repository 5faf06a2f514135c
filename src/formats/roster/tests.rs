//! Tests of the roster parser and writer: every kind of bad row is refused with its line and
//! column, warnings are listed, a good file parses to the expected commands, and arbitrary
//! bytes never panic.

use proptest::prelude::*;

use super::*;

const CITIZEN: &str = "001052012345";
const ACCOUNT: &str = "1234567890123";

fn today() -> Date {
    Date::new(2026, 11, 22).unwrap()
}

fn reference() -> &'static Reference {
    Reference::embedded()
}

/// A good row: a 61% war invalid in Phường Ba Đình, paid by Agribank.
fn good() -> Vec<String> {
    [
        CITIZEN,
        "Nguyễn Văn An",
        "1952-03-14",
        "M",
        "Số 5, ngõ 12",
        "00004",
        "NCC",
        "ncc.war_invalid",
        "injury_rate=61",
        "123/QĐ-SNV",
        "2024-06-10",
        "Giám đốc Sở Nội vụ",
        "2024-07",
        "bank",
        "970405",
        ACCOUNT,
        "NGUYEN VAN AN",
        "",
        "",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn cash() -> Vec<String> {
    let mut row = good();
    row[Column::CitizenId.index()] = "001148067890".into();
    row[Column::Sex.index()] = "F".into();
    row[Column::BirthDate.index()] = "1948-01-02".into();
    row[Column::Programme.index()] = "BTXH".into();
    row[Column::Scheme.index()] = "btxh.elderly_80_no_pension".into();
    row[Column::Params.index()] = String::new();
    row[Column::Route.index()] = "cash".into();
    for c in [
        Column::BankBin,
        Column::AccountNumber,
        Column::AccountHolder,
    ] {
        row[c.index()] = String::new();
    }
    row
}

fn with(mut row: Vec<String>, column: Column, value: &str) -> Vec<String> {
    row[column.index()] = value.to_owned();
    row
}

/// A file: the header, then the rows, CSV-escaped.
fn file(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record(Column::ALL.map(Column::name)).unwrap();
    for row in rows {
        w.write_record(row).unwrap();
    }
    w.into_inner().unwrap()
}

fn parse(bytes: &[u8]) -> Result<Roster, RosterRejected> {
    parse_roster(bytes, reference(), today())
}

fn errors(bytes: &[u8]) -> Vec<RosterError> {
    parse(bytes)
        .expect_err("the roster should be refused")
        .errors
}

/// The one error of a file whose second line is `row`.
fn only_error(row: Vec<String>) -> (Option<Column>, Problem) {
    let errs = errors(&file(&[row]));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].line, 2);
    (errs[0].column, errs[0].problem.clone())
}

fn assert_field_error(row: Vec<String>, column: Column, check: impl Fn(&Problem) -> bool) {
    let (col, problem) = only_error(row);
    assert_eq!(col, Some(column), "{problem}");
    assert!(
        check(&problem),
        "unexpected problem for {column}: {problem:?}"
    );
}

fn code(text: &str) -> CommuneCode {
    CommuneCode::parse(text).unwrap()
}

#[test]
fn a_good_file_parses_to_the_expected_commands() {
    let roster = parse(&file(&[good(), cash()])).unwrap();
    let decision = Decision {
        number: "123/QĐ-SNV".into(),
        date: Date::new(2024, 6, 10).unwrap(),
        signer: "Giám đốc Sở Nội vụ".into(),
    };
    let expected = Enrol {
        citizen_id: CitizenId::parse(CITIZEN).unwrap(),
        full_name: "Nguyễn Văn An".into(),
        birth_date: Date::new(1952, 3, 14).unwrap(),
        sex: Sex::Male,
        address_line: "Số 5, ngõ 12".into(),
        commune: code("00004"),
        programme: Programme::Ncc,
        decision: Some(decision.clone()),
        route: Some(RouteRequest::Bank {
            bin: BankBin::parse("970405").unwrap(),
            account_number: AccountNumber::parse(ACCOUNT).unwrap(),
            holder_name: "NGUYEN VAN AN".into(),
        }),
        entitlements: vec![NewEntitlement {
            programme: Programme::Ncc,
            scheme: "ncc.war_invalid".into(),
            params: vec![SchemeParam::InjuryRatePct(61)],
            kind: EntitlementKind::Monthly,
            effective_from: Month::new(2024, 7).unwrap(),
            decision,
            payee: None,
        }],
    };
    assert_eq!(roster.rows.len(), 2);
    assert_eq!(
        roster.rows[0],
        RosterRow {
            line: 2,
            enrol: expected,
            payee: None,
        }
    );
    assert!(roster.warnings.is_empty(), "{:?}", roster.warnings);
    let cash = &roster.rows[1].enrol;
    // The pay point defaults to the person's commune.
    assert_eq!(
        cash.route,
        Some(RouteRequest::Cash {
            pay_point: code("00004")
        })
    );
    assert_eq!(cash.entitlements[0].scheme, "btxh.elderly_80_no_pension");
    assert_eq!(roster.into_enrolments().len(), 2);
}

#[test]
fn the_documented_example_parses() {
    let doc = include_str!("../../../docs/roster-csv.md");
    let example = doc.split("## Example").nth(1).unwrap();
    let csv_text = example.split("```").nth(1).unwrap().trim_start();
    let roster = parse(csv_text.as_bytes()).unwrap();
    assert_eq!(roster.rows.len(), 2);
    assert!(roster.warnings.is_empty(), "{:?}", roster.warnings);
    assert!(doc.contains(&header_line()));
}

#[test]
fn spreadsheet_habits_are_accepted() {
    // BOM, CRLF, blank lines, an all-empty row, quoted fields and padding.
    let mut text = String::from("\u{feff}");
    text.push_str(&header_line().replace(',', " , "));
    text.push_str("\r\n\r\n");
    let row = good()
        .iter()
        .map(|f| format!("\" {} \"", f.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(",");
    text.push_str(&row);
    text.push_str("\r\n");
    text.push_str(&",".repeat(17));
    text.push_str("\r\n");
    let roster = parse(text.as_bytes()).unwrap();
    assert_eq!(roster.rows.len(), 1);
    // Header on line 1, a blank line 2, the row on line 3.
    assert_eq!(roster.rows[0].line, 3);
    assert_eq!(roster.rows[0].enrol.address_line, "Số 5, ngõ 12");
}

#[test]
fn line_numbers_count_blank_lines_and_line_breaks_inside_quotes() {
    let multi_line = with(good(), Column::AddressLine, "Số 5\nngõ 12");
    let mut bytes = file(&[multi_line]);
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes.extend(
        file(&[with(cash(), Column::Sex, "?")])
            .split(|&b| b == b'\n')
            .nth(1)
            .unwrap(),
    );
    let errs = errors(&bytes);
    let places: Vec<_> = errs.iter().map(|e| (e.line, e.column)).collect();
    // Line 2-3 hold the first row; 4 and 5 are blank; the second row is on line 6.
    assert_eq!(
        places,
        vec![(2, Some(Column::AddressLine)), (6, Some(Column::Sex))]
    );
    assert_eq!(errs[0].problem, Problem::ControlCharacters);
}

#[test]
fn a_lone_cr_ends_a_line_as_it_ends_a_record() {
    // Old Mac line endings, or one CR left by an edit: the csv reader ends a record at a lone
    // CR, so the line numbers must too, or a row's error would name the header's line.
    let text = String::from_utf8(file(&[good(), with(cash(), Column::Sex, "?")]))
        .unwrap()
        .replace('\n', "\r");
    let errs = errors(text.as_bytes());
    let places: Vec<_> = errs.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(places, vec![(3, Some(Column::Sex))]);
}

#[test]
fn citizen_ids_must_be_twelve_digits() {
    for bad in [
        "00105201234",
        "0010520123456",
        "00105201234X",
        "００１052012345",
    ] {
        assert_field_error(
            with(good(), Column::CitizenId, bad),
            Column::CitizenId,
            |p| matches!(p, Problem::Invalid { .. }),
        );
    }
    assert_field_error(
        with(good(), Column::CitizenId, ""),
        Column::CitizenId,
        |p| *p == Problem::Missing,
    );
}

#[test]
fn duplicate_citizen_ids_name_the_first_line() {
    let errs = errors(&file(&[good(), cash(), good()]));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].line, errs[0].column), (4, Some(Column::CitizenId)));
    assert_eq!(
        errs[0].problem,
        Problem::DuplicateCitizenId {
            masked: "001******345".into(),
            first_line: 2
        }
    );
}

#[test]
fn dates_must_be_real_and_not_in_the_future() {
    let bad_birth = with(good(), Column::BirthDate, "1952-02-30");
    assert_field_error(bad_birth, Column::BirthDate, |p| {
        matches!(p, Problem::Invalid { .. })
    });
    let slashes = with(good(), Column::BirthDate, "14/03/1952");
    assert_field_error(slashes, Column::BirthDate, |p| {
        matches!(p, Problem::Invalid { .. })
    });
    let future = with(good(), Column::DecisionDate, "2026-11-23");
    assert_field_error(future, Column::DecisionDate, |p| {
        matches!(p, Problem::InFuture { .. })
    });
    let bad_decision = with(good(), Column::DecisionDate, "2024-13-01");
    assert_field_error(bad_decision, Column::DecisionDate, |p| {
        matches!(p, Problem::Invalid { .. })
    });
    let bad_month = with(good(), Column::EffectiveMonth, "2024-7");
    assert_field_error(bad_month, Column::EffectiveMonth, |p| {
        matches!(p, Problem::Invalid { .. })
    });
    let before_birth = with(good(), Column::EffectiveMonth, "1952-02");
    assert_field_error(before_birth, Column::EffectiveMonth, |p| {
        *p == Problem::BeforeBirth
    });
}

#[test]
fn a_future_birth_date_is_refused_without_structure_warnings() {
    let row = with(good(), Column::BirthDate, "2027-01-01");
    let rejected = parse(&file(&[row])).unwrap_err();
    assert_eq!(rejected.errors.len(), 1);
    assert_eq!(rejected.errors[0].column, Some(Column::BirthDate));
    assert!(rejected.warnings.is_empty());
}

#[test]
fn sex_is_m_or_f() {
    assert_field_error(with(good(), Column::Sex, "X"), Column::Sex, |p| {
        matches!(p, Problem::Invalid { .. })
    });
}

#[test]
fn text_fields_are_bounded() {
    let long = "A".repeat(TEXT_CHARS_MAX + 1);
    assert_field_error(
        with(good(), Column::FullName, &long),
        Column::FullName,
        |p| {
            *p == Problem::TooLong {
                max: TEXT_CHARS_MAX,
            }
        },
    );
    assert_field_error(with(good(), Column::FullName, ""), Column::FullName, |p| {
        *p == Problem::Missing
    });
    assert_field_error(
        with(good(), Column::AddressLine, "a\u{7}b"),
        Column::AddressLine,
        |p| *p == Problem::ControlCharacters,
    );
    assert_field_error(
        with(good(), Column::DecisionNumber, ""),
        Column::DecisionNumber,
        |p| *p == Problem::Missing,
    );
    assert_field_error(
        with(good(), Column::DecisionSigner, ""),
        Column::DecisionSigner,
        |p| *p == Problem::Missing,
    );
    // An address may be empty.
    assert!(parse(&file(&[with(good(), Column::AddressLine, "")])).is_ok());
}

#[test]
fn commune_codes_must_resolve() {
    assert_field_error(
        with(good(), Column::CommuneCode, "99999"),
        Column::CommuneCode,
        |p| matches!(p, Problem::Commune(CommuneError::Unknown { .. })),
    );
    assert_field_error(
        with(good(), Column::CommuneCode, "00001"),
        Column::CommuneCode,
        |p| matches!(p, Problem::Commune(CommuneError::NotMapped { .. })),
    );
    assert_field_error(
        with(good(), Column::CommuneCode, "4"),
        Column::CommuneCode,
        |p| matches!(p, Problem::Invalid { .. }),
    );
    let pay_point = with(cash(), Column::PayPoint, "99999");
    assert_field_error(pay_point, Column::PayPoint, |p| {
        matches!(p, Problem::Commune(_))
    });
}

#[test]
fn programmes_and_schemes_must_be_known_and_agree() {
    assert_field_error(
        with(good(), Column::Programme, "XYZ"),
        Column::Programme,
        |p| matches!(p, Problem::UnknownProgramme { .. }),
    );
    assert_field_error(
        with(good(), Column::Scheme, "ncc.astronaut"),
        Column::Scheme,
        |p| matches!(p, Problem::UnknownScheme { .. }),
    );
    assert_field_error(
        with(good(), Column::Programme, "BTXH"),
        Column::Scheme,
        |p| {
            matches!(
                p,
                Problem::SchemeNotInProgramme {
                    given: Programme::Btxh,
                    ..
                }
            )
        },
    );
}

/// A scheme, its params and a check of the error they must give.
type ParamsCase = (&'static str, &'static str, fn(&ParamsError) -> bool);

#[test]
fn malformed_params_are_refused() {
    let cases: [ParamsCase; 9] = [
        ("ncc.war_invalid", "injury_rate=abc", |e| {
            matches!(e, ParamsError::NotANumber { .. })
        }),
        ("ncc.war_invalid", "injury_rate", |e| {
            matches!(e, ParamsError::MissingValue { .. })
        }),
        ("ncc.war_invalid", "injury_rate=15", |e| {
            matches!(e, ParamsError::OutOfRange { .. })
        }),
        ("ncc.war_invalid", "injury_rate=61;injury_rate=70", |e| {
            matches!(e, ParamsError::Duplicate { .. })
        }),
        ("ncc.war_invalid", "injury_rate=61;especially_severe", |e| {
            *e == ParamsError::EspeciallySevereBelow81
        }),
        ("ncc.war_invalid", "", |e| {
            matches!(
                e,
                ParamsError::Required {
                    key: "injury_rate",
                    ..
                }
            )
        }),
        ("ncc.war_invalid", "injury_rate=61;wings=2", |e| {
            matches!(e, ParamsError::UnknownKey { .. })
        }),
        ("ncc.war_invalid", "injury_rate=61;living_alone=1", |e| {
            matches!(e, ParamsError::UnexpectedValue { .. })
        }),
        (
            // Heroes have no especially-severe supplement (Annex I 5).
            "ncc.hero",
            "especially_severe",
            |e| {
                matches!(
                    e,
                    ParamsError::NotAllowed {
                        key: "especially_severe",
                        ..
                    }
                )
            },
        ),
    ];
    for (scheme, params, check) in cases {
        let row = with(with(good(), Column::Scheme, scheme), Column::Params, params);
        assert_field_error(row, Column::Params, |p| match p {
            Problem::Params(e) => check(e),
            _ => false,
        });
    }
}

#[test]
fn params_fit_their_scheme() {
    let ok = |scheme: &str, params: &str| {
        let programme = super::scheme(scheme).unwrap().programme.code();
        let row = with(good(), Column::Programme, programme);
        let row = with(with(row, Column::Scheme, scheme), Column::Params, params);
        parse(&file(&[row])).map(|r| r.into_enrolments()[0].entitlements[0].params.clone())
    };
    assert_eq!(
        ok("ncc.war_invalid", " injury_rate = 85 ; especially_severe ;").unwrap(),
        vec![
            SchemeParam::InjuryRatePct(85),
            SchemeParam::EspeciallySevere
        ]
    );
    assert_eq!(
        ok("ncc.martyr_relative", "martyrs=2;living_alone").unwrap(),
        vec![SchemeParam::Martyrs(2), SchemeParam::LivingAlone]
    );
    assert!(ok("ncc.martyr_relative", "martyrs=0").is_err());
    assert!(ok("btxh.single_parent_poor", "children=3;poor_household").is_ok());
    assert!(ok("btxh.single_parent_poor", "").is_err());
    assert!(ok("ncc.sick_soldier", "injury_rate=40").is_err());
    assert!(ok("ncc.hero", "poor_household").is_err());
    assert!(ok("btxh.disability_severe", "carer_of=B7").is_err());
    assert!(ok("htxh.social_pension", "").is_ok());
    // The additions of ND 20/2021 Art 20 and 25 a roster can carry.
    assert_eq!(
        ok("btxh.disabled_parent", "pregnant;children=1").unwrap(),
        vec![SchemeParam::Pregnant, SchemeParam::Children(1)]
    );
    assert!(ok("btxh.disabled_parent", "").is_err());
    assert!(ok("btxh.facility_care", "in_facility").is_ok());
    assert!(ok("btxh.disability_severe", "in_facility").is_err());
    assert!(ok("btxh.hiv_poor", "pregnant").is_err());
    // A carer household's row must name the person it cares for.
    let refused = ok("btxh.care_allowance", "").unwrap_err();
    assert!(
        refused.to_string().contains("column cared_for"),
        "{refused}"
    );
}

#[test]
fn params_round_trip_through_their_syntax() {
    let params = vec![
        SchemeParam::InjuryRatePct(81),
        SchemeParam::EspeciallySevere,
        SchemeParam::Children(2),
        SchemeParam::SeniorityUnits(12),
        SchemeParam::Martyrs(3),
        SchemeParam::LivingAlone,
        SchemeParam::CarerOf(BeneficiaryId(7)),
        SchemeParam::PoorHousehold,
        SchemeParam::DifficultArea,
        SchemeParam::Studying,
        SchemeParam::HasPension,
        SchemeParam::InFacility,
    ];
    let text = format_params(&params);
    assert_eq!(
        text,
        "injury_rate=81;especially_severe;children=2;seniority_units=12;martyrs=3;living_alone;\
         carer_of=B7;poor_household;difficult_area;studying;has_pension;in_facility"
    );
    assert_eq!(parse_params(&text).unwrap(), params);
}

#[test]
fn routes_need_their_own_columns() {
    assert_field_error(with(good(), Column::Route, "post"), Column::Route, |p| {
        matches!(p, Problem::UnknownRoute { .. })
    });
    assert_field_error(
        with(good(), Column::AccountNumber, ""),
        Column::AccountNumber,
        |p| *p == Problem::Missing,
    );
    assert_field_error(
        with(good(), Column::AccountHolder, ""),
        Column::AccountHolder,
        |p| *p == Problem::Missing,
    );
    assert_field_error(
        with(good(), Column::AccountNumber, "12-34"),
        Column::AccountNumber,
        |p| matches!(p, Problem::Invalid { .. }),
    );
    assert_field_error(
        with(good(), Column::BankBin, "123456"),
        Column::BankBin,
        |p| matches!(p, Problem::UnknownBank(_)),
    );
    assert_field_error(
        with(good(), Column::BankBin, "97040"),
        Column::BankBin,
        |p| matches!(p, Problem::Invalid { .. }),
    );
    assert_field_error(with(good(), Column::BankBin, ""), Column::BankBin, |p| {
        *p == Problem::Missing
    });
    assert_field_error(
        with(good(), Column::PayPoint, "00004"),
        Column::PayPoint,
        |p| *p == Problem::NotForBank,
    );
    assert_field_error(
        with(cash(), Column::AccountNumber, ACCOUNT),
        Column::AccountNumber,
        |p| *p == Problem::NotForCash,
    );
}

#[test]
fn wrong_column_counts_are_refused() {
    let mut short = good();
    short.pop();
    let mut long = good();
    long.push("extra".into());
    let errs = errors(&file(&[short, good(), long]));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!((errs[0].line, errs[0].column), (2, None));
    assert_eq!(
        errs[0].problem,
        Problem::WrongColumnCount {
            found: 18,
            expected: 19
        }
    );
    assert_eq!(errs[1].line, 4);
}

#[test]
fn the_header_must_be_exact() {
    let mut text = header_line().replace("citizen_id", "cccd");
    text.push('\n');
    text.push_str(&good().join(","));
    let errs = errors(text.as_bytes());
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].line, errs[0].problem.clone()),
        (1, Problem::BadHeader)
    );
    assert!(errs[0].to_string().contains(&header_line()));
}

#[test]
fn empty_files_are_refused() {
    assert_eq!(errors(b"")[0].problem, Problem::NoHeader);
    assert_eq!(errors(header_line().as_bytes())[0].problem, Problem::NoRows);
}

#[test]
fn bytes_that_are_not_utf8_are_refused_where_they_are() {
    let mut bytes = file(&[good(), cash()]);
    // The "ễ" of the second row's name starts with byte 0xE1; 0xFF is never UTF-8.
    let at = bytes.windows(4).rposition(|w| w == b"Nguy").unwrap();
    bytes[at + 4] = 0xff;
    let errs = errors(&bytes);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].line, errs[0].column), (3, Some(Column::FullName)));
    assert_eq!(errs[0].problem, Problem::NotUtf8);
}

#[test]
fn limits_are_enforced() {
    let bytes = file(&[good(), cash()]);
    let small = Limits {
        bytes_max: bytes.len() - 1,
        rows_max: 10,
    };
    let errs = parse_with_limits(&bytes, reference(), today(), small)
        .unwrap_err()
        .errors;
    assert!(
        matches!(errs[0].problem, Problem::FileTooLarge { .. }),
        "{errs:?}"
    );
    assert_eq!(
        errs[0].to_string(),
        format!(
            "file: the file is {} bytes; roster_bytes_max is {} bytes",
            bytes.len(),
            bytes.len() - 1
        )
    );
    let one_row = Limits {
        bytes_max: bytes.len(),
        rows_max: 1,
    };
    let errs = parse_with_limits(&bytes, reference(), today(), one_row)
        .unwrap_err()
        .errors;
    assert_eq!(
        (errs[0].line, errs[0].problem.clone()),
        (3, Problem::TooManyRows { max: 1 })
    );
}

#[test]
fn every_bad_row_and_field_is_reported_at_once() {
    let two_bad = with(
        with(cash(), Column::Sex, "?"),
        Column::EffectiveMonth,
        "soon",
    );
    let two_bad = with(two_bad, Column::CitizenId, "001148067891");
    let rows = [
        with(good(), Column::CitizenId, "123"),
        good(),
        two_bad,
        with(cash(), Column::Scheme, "btxh.unknown"),
    ];
    let errs = errors(&file(&rows));
    let places: Vec<_> = errs.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(
        places,
        vec![
            (2, Some(Column::CitizenId)),
            (4, Some(Column::Sex)),
            (4, Some(Column::EffectiveMonth)),
            (5, Some(Column::Scheme)),
        ]
    );
}

#[test]
fn warnings_are_listed_and_do_not_block() {
    // Wrong sex digit, wrong year digits and an unknown prefix; a pre-2025 commune code mapped
    // by name (00016 Phường Ngọc Hà → 00008); a cash pay point given by a mapped code too.
    let row = with(good(), Column::CitizenId, "003153000257");
    let row = with(row, Column::CommuneCode, "00016");
    let cash_row = with(cash(), Column::PayPoint, "00016");
    let century = with(
        with(cash(), Column::CitizenId, "001348067890"),
        Column::CommuneCode,
        "00008",
    );
    let roster = parse(&file(&[row, cash_row, century])).unwrap();
    let seen: Vec<_> = roster
        .warnings
        .iter()
        .map(|w| (w.line, w.column, w.warning.clone()))
        .collect();
    let mapped = EnrolmentWarning::CommuneCodeMapped {
        from: code("00016"),
    };
    assert_eq!(
        seen,
        vec![
            (
                2,
                Column::CitizenId,
                EnrolmentWarning::CitizenIdPrefixUnknown {
                    prefix: "003".into()
                }
            ),
            (
                2,
                Column::CitizenId,
                EnrolmentWarning::CitizenIdSexDisagrees
            ),
            (
                2,
                Column::CitizenId,
                EnrolmentWarning::CitizenIdYearDisagrees
            ),
            (2, Column::CommuneCode, mapped.clone()),
            (3, Column::PayPoint, mapped),
            (
                4,
                Column::CitizenId,
                EnrolmentWarning::CitizenIdCenturyDisagrees
            ),
        ]
    );
    assert_eq!(roster.rows[0].enrol.commune, code("00008"));
    assert_eq!(
        roster.rows[1].enrol.route,
        Some(RouteRequest::Cash {
            pay_point: code("00008")
        })
    );
    assert!(roster.warnings[0]
        .to_string()
        .starts_with("line 2, column citizen_id: "));
}

#[test]
fn messages_never_show_a_citizen_id_or_account_in_full() {
    let bad_account = with(
        good(),
        Column::AccountNumber,
        "12345678901234567890123456789012345",
    );
    let bad_id = with(cash(), Column::CitizenId, "0011480678901");
    let rejected = parse(&file(&[good(), good(), bad_account, bad_id])).unwrap_err();
    let text: Vec<String> = rejected.errors.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 4, "{text:?}");
    for t in &text {
        assert!(
            !t.contains(CITIZEN) && !t.contains("0011480678901") && !t.contains("1234567890"),
            "{t}"
        );
    }
    assert!(!format!("{rejected:?}").contains(CITIZEN));
}

#[test]
fn the_writer_writes_what_the_parser_reads() {
    let roster = parse(&file(&[good(), cash()])).unwrap();
    let mut w = RosterWriter::new(Vec::new()).unwrap();
    for e in roster.enrolments() {
        w.write(e).unwrap();
    }
    let bytes = w.finish().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with(&format!("{}\n", header_line())));
    assert!(text.contains(",cash,,,,00004,\n"), "{text}");
    assert_eq!(parse(&bytes).unwrap().rows, roster.rows);
}

#[test]
fn the_writer_refuses_what_a_row_cannot_hold() {
    let mut e = parse(&file(&[good()])).unwrap().into_enrolments().remove(0);
    e.route = None;
    let mut w = RosterWriter::new(Vec::new()).unwrap();
    assert!(matches!(
        w.write(&e),
        Err(RosterWriteError::NotRepresentable(_))
    ));
    e.entitlements.clear();
    assert!(matches!(
        w.write(&e),
        Err(RosterWriteError::NotRepresentable(_))
    ));
}

#[test]
fn the_roster_schemes_are_the_catalogues_monthly_schemes() {
    use crate::domain::rules::catalogue::SCHEMES as CATALOGUE;
    let roster: Vec<_> = schemes().map(|s| s.code()).collect();
    let expected: Vec<_> = CATALOGUE
        .iter()
        .filter(|s| !s.one_off)
        .map(|s| s.code())
        .collect();
    assert_eq!(roster, expected);
    for code in [
        "btxh.disabled_parent",
        "btxh.facility_care",
        "ncc.activist_pre1945",
        "btxh.care_allowance",
        "btxh.foster_household",
        "btxh.community_foster_care",
    ] {
        assert!(roster.contains(&code), "{code}");
    }
    assert!(!roster.contains(&"btxh.funeral_support"));
}

/// A person with especially severe disability on line 2, the household caring for her on
/// line 3 (paid by bank).
fn cared_for_and_carer() -> [Vec<String>; 2] {
    let person = with(
        with(cash(), Column::CitizenId, "001189012345"),
        Column::BirthDate,
        "1989-05-10",
    );
    let person = with(person, Column::Scheme, "btxh.disability_especially_severe");
    let carer = with(
        with(good(), Column::CitizenId, "001062012346"),
        Column::BirthDate,
        "1962-02-11",
    );
    let carer = with(carer, Column::Programme, "BTXH");
    let carer = with(carer, Column::Scheme, "btxh.care_allowance");
    let carer = with(carer, Column::Params, "");
    [person, with(carer, Column::CaredFor, "001189012345")]
}

#[test]
fn a_carers_row_enrols_the_household_and_grants_the_person_cared_for() {
    let roster = parse(&file(&cared_for_and_carer())).unwrap();
    assert!(roster.warnings.is_empty(), "{:?}", roster.warnings);
    let (person, carer) = (&roster.rows[0], &roster.rows[1]);
    assert_eq!(person.payee, None);
    assert_eq!(person.enrol.entitlements.len(), 1);
    // The household is enrolled with its route and no entitlement of its own.
    assert!(carer.enrol.entitlements.is_empty());
    assert!(matches!(carer.enrol.route, Some(RouteRequest::Bank { .. })));
    let link = carer.payee.as_ref().expect("a payee row");
    assert_eq!(link.line, 3);
    assert_eq!(link.cared_for, CitizenId::parse("001189012345").unwrap());
    assert_eq!(link.entitlement.scheme, "btxh.care_allowance");
    assert_eq!(link.entitlement.payee, None, "decided with the import");
    assert_eq!(
        link.entitlement.effective_from,
        Month::new(2024, 7).unwrap()
    );
    let command = roster.into_command();
    assert_eq!(command.rows.len(), 2);
    assert_eq!(command.payees.len(), 1);
    // The person cared for may come after the household.
    let [person, carer] = cared_for_and_carer();
    assert!(parse(&file(&[carer, person])).is_ok());
}

#[test]
fn cared_for_is_required_on_a_payee_scheme_and_refused_on_any_other() {
    let [person, carer] = cared_for_and_carer();
    for scheme in [
        "btxh.care_allowance",
        "btxh.foster_household",
        "btxh.community_foster_care",
    ] {
        let missing = with(
            with(carer.clone(), Column::Scheme, scheme),
            Column::CaredFor,
            "",
        );
        assert_field_error(missing, Column::CaredFor, |p| {
            matches!(p, Problem::CaredForMissing { .. })
        });
    }
    assert_field_error(
        with(person.clone(), Column::CaredFor, "001062012346"),
        Column::CaredFor,
        |p| matches!(p, Problem::CaredForNotTaken { .. }),
    );
    assert_field_error(
        with(carer.clone(), Column::CaredFor, "0011890123"),
        Column::CaredFor,
        |p| matches!(p, Problem::Invalid { .. }),
    );
    assert_field_error(
        with(carer, Column::CaredFor, "001062012346"),
        Column::CaredFor,
        |p| *p == Problem::CaresForSelf,
    );
}

#[test]
fn a_header_without_cared_for_is_still_read() {
    let older = |rows: &[Vec<String>]| {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(
            Column::ALL[..COLUMNS_WITHOUT_PAYEES]
                .iter()
                .map(|c| c.name()),
        )
        .unwrap();
        for row in rows {
            w.write_record(row).unwrap();
        }
        w.into_inner().unwrap()
    };
    let mut row = good();
    row.pop();
    let roster = parse(&older(&[row.clone()])).unwrap();
    assert_eq!(roster.rows.len(), 1);
    // Its rows have 18 fields; a 19th is one too many.
    let errs = errors(&older(&[row, good()]));
    assert_eq!(
        (errs[0].line, errs[0].problem.clone()),
        (
            3,
            Problem::WrongColumnCount {
                found: 19,
                expected: 18
            }
        )
    );
}

#[test]
fn the_documented_carers_example_parses() {
    let doc = include_str!("../../../docs/roster-csv.md");
    let section = doc.split("## Carers and foster households").nth(1).unwrap();
    let rows = section.split("```").nth(1).unwrap().trim_start();
    let text = format!("{}\n{rows}", header_line());
    let roster = parse(text.as_bytes()).unwrap();
    assert_eq!(roster.rows.len(), 2);
    assert!(roster.rows[1].payee.is_some());
}

/// What a roster accepts, the rules accept: the minimal parameters of every roster scheme and
/// each optional flag it allows pass both `check_params` and `rules::validate`.
#[test]
fn what_the_roster_accepts_the_rules_accept() {
    use crate::domain::rules::catalogue::Injury;
    use crate::domain::rules::validate;
    for s in schemes() {
        let mut base = Vec::new();
        if let Injury::Required(lo, _) = s.params.injury {
            base.push(SchemeParam::InjuryRatePct(lo.max(81)));
        }
        if s.params.children || s.params.parent {
            base.push(SchemeParam::Children(1));
        }
        if s.params.martyrs {
            base.push(SchemeParam::Martyrs(2));
        }
        let optional = [
            SchemeParam::EspeciallySevere,
            SchemeParam::LivingAlone,
            SchemeParam::Pregnant,
            SchemeParam::SeniorityUnits(3),
            SchemeParam::PoorHousehold,
            SchemeParam::DifficultArea,
            SchemeParam::Studying,
            SchemeParam::HasPension,
            SchemeParam::InFacility,
        ];
        let mut sets = vec![base.clone()];
        for o in optional {
            let mut set = base.clone();
            set.push(o);
            sets.push(set);
        }
        for params in sets {
            let roster = check_params(s, &params);
            let rules = validate(s.programme, s.code(), &params, EntitlementKind::Monthly);
            if roster.is_ok() {
                assert!(rules.is_ok(), "{} {params:?}: {rules:?}", s.code());
            }
        }
        assert!(check_params(s, &base).is_ok(), "{} {base:?}", s.code());
    }
}

/// The scheme lists used to disagree: the roster refused `especially_severe` for category-B
/// invalids, sick soldiers and Agent Orange victims, which the rules accept (Annex I 6.1, 7.1,
/// 8.1 all have the especially-severe supplement).
#[test]
fn especially_severe_is_accepted_wherever_the_rules_accept_it() {
    for code in [
        "ncc.war_invalid",
        "ncc.war_invalid_b",
        "ncc.sick_soldier",
        "ncc.agent_orange",
    ] {
        let spec = scheme(code).unwrap();
        let params = parse_params("injury_rate=85;especially_severe").unwrap();
        assert_eq!(check_params(spec, &params), Ok(()), "{code}");
        let below = parse_params("injury_rate=61;especially_severe").unwrap();
        assert_eq!(
            check_params(spec, &below),
            Err(ParamsError::EspeciallySevereBelow81),
            "{code}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_rows_after_a_good_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = header_line().into_bytes();
        bytes.push(b'\n');
        bytes.extend(body);
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_good_files_never_panic_and_errors_have_places(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = file(&[good(), cash()]);
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Err(rejected) = parse(&bytes) {
            prop_assert!(!rejected.errors.is_empty());
            for e in &rejected.errors {
                prop_assert!(e.line >= 2 || e.column.is_none());
            }
        }
    }

    #[test]
    fn arbitrary_field_text_never_panics(
        column in 0usize..19,
        text in "\\PC{0,40}",
    ) {
        let mut row = good();
        row[column] = text;
        let _ = parse(&file(&[row]));
    }
}

#[test]
fn text_no_payment_file_may_carry_is_refused_with_its_line_and_column() {
    use crate::domain::text::TextProblem;
    let rows = [
        with(good(), Column::FullName, "Nguyễn\u{202e}Hoa"),
        with(good(), Column::FullName, "\u{200b}\u{200b}"),
        with(good(), Column::AddressLine, "Số 5\u{2028}ngõ 12"),
        with(good(), Column::FullName, "Hoa\u{fffe}"),
    ];
    let errs = errors(&file(&rows));
    let found: Vec<_> = errs
        .iter()
        .filter(|e| !matches!(e.problem, Problem::DuplicateCitizenId { .. }))
        .map(|e| (e.line, e.column, e.problem.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            (2, Some(Column::FullName), Problem::Text(TextProblem::Bidi)),
            (
                3,
                Some(Column::FullName),
                Problem::Text(TextProblem::Invisible)
            ),
            (
                4,
                Some(Column::AddressLine),
                Problem::Text(TextProblem::LineSeparator)
            ),
            (
                5,
                Some(Column::FullName),
                Problem::Text(TextProblem::Noncharacter)
            ),
        ]
    );
    // A name that looks like a formula is a name: the CSV writers neutralise it.
    let roster = parse(&file(&[with(good(), Column::FullName, "=Hoa")])).unwrap();
    assert_eq!(roster.rows[0].enrol.full_name, "=Hoa");
}
