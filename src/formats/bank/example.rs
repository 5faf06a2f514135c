//! Deterministic example files for tests, benchmarks and the demo: a Hanoi NCC batch whose
//! lines have Vietnamese names, banks with and without a BIC, and the same amounts every time.

use crate::domain::types::{
    AccountNumber, BankBin, BatchId, CitizenId, CommuneCode, Date, Month, PaymentId, Programme, Vnd,
};

use super::spec::{remittance_text, CashLine, CashListSpec, Debtor, PaymentFileSpec, PaymentLine};
use super::time::{IsoDateTime, VIETNAM_OFFSET_MINUTES};

const NAMES: &[&str] = &[
    "Nguyễn Văn An",
    "Trần Thị Bình",
    "Lê Hữu Cường",
    "Phạm Thị Dung",
    "Hoàng Đức Hải",
    "Đặng Ngọc Lan",
];
/// Vietcombank, Agribank, VBSP (no BIC in the reference data), BIDV.
const BINS: &[&str] = &["970436", "970405", "999888", "970418"];

/// The header of an example NCC file for August 2024.
pub fn example_spec() -> PaymentFileSpec {
    PaymentFileSpec {
        message_id: "SNV-HN-202408-0001".into(),
        created_at: IsoDateTime::new(date(2024, 8, 20), 8, 30, 0, VIETNAM_OFFSET_MINUTES)
            .expect("valid time"),
        debtor: Debtor {
            name: "Sở Nội vụ thành phố Hà Nội".into(),
            budget_unit_code: "1234567".into(),
            funding_account: AccountNumber::parse("118000123456").expect("valid account"),
            bank_bin: BankBin::parse("970415").expect("valid BIN"),
            bank_bic: None,
        },
        requested_execution_date: date(2024, 8, 23),
        batch: BatchId(7),
        programme: Programme::Ncc,
        month: Month::new(2024, 8).expect("valid month"),
    }
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).expect("valid date")
}

/// Line `i` (0-based) of the example file: payment `P{1000 + i}`.
pub fn example_line(i: u64) -> PaymentLine {
    let spec_month = Month::new(2024, 8).expect("valid month");
    PaymentLine {
        payment: PaymentId(1000 + i),
        amount: Vnd(2_789_000 + (i % 7) as i64 * 1_000),
        creditor_name: NAMES[(i % NAMES.len() as u64) as usize].into(),
        citizen_id: CitizenId::parse(&format!("001{:09}", 52_000_000 + i % 1_000_000_000))
            .expect("12 digits"),
        account: AccountNumber::parse(&format!("{:013}", 11_004_000_000 + i))
            .expect("valid account"),
        bank_bin: BankBin::parse(BINS[(i % BINS.len() as u64) as usize]).expect("valid BIN"),
        remittance: remittance_text(Programme::Ncc, spec_month),
    }
}

/// `n` example lines.
pub fn example_lines(n: u64) -> Vec<PaymentLine> {
    (0..n).map(example_line).collect()
}

/// An example cash list header for pay point 00004 (phường Ba Đình).
pub fn example_cash_spec() -> CashListSpec {
    CashListSpec {
        list_id: "CASH-HN-202408-00004".into(),
        created_at: example_spec().created_at,
        batch: BatchId(7),
        programme: Programme::Ncc,
        month: Month::new(2024, 8).expect("valid month"),
        pay_point: CommuneCode::parse("00004").expect("valid code"),
        pay_point_name: "UBND phường Ba Đình".into(),
    }
}

/// `n` example cash lines at the example pay point.
pub fn example_cash_lines(n: u64) -> Vec<CashLine> {
    let pay_point = example_cash_spec().pay_point;
    (0..n)
        .map(|i| {
            let l = example_line(i);
            CashLine {
                payment: l.payment,
                pay_point,
                name: l.creditor_name,
                citizen_id: l.citizen_id,
                amount: l.amount,
            }
        })
        .collect()
}
