//! The sums of the government-fund remittance report: live bills only (a cancelled revision out,
//! its replacement in), grouped by month, tariff and consumption dates, in the scope and the months
//! asked for.

use bureau_domain::bill::BillState;
use bureau_domain::money::Fen;
use bureau_store::*;
use rust_decimal::Decimal;
use std::sync::Arc;

fn bill(
    customer: &str,
    bureau: &str,
    period: &str,
    tariff: &str,
    dates: (&str, &str),
    kwh: &str,
    funds: i64,
) -> StoredBill {
    StoredBill {
        customer_id: customer.into(),
        period: period.into(),
        revision: 0,
        bureau_id: bureau.into(),
        book_id: None,
        tariff_id: tariff.into(),
        state: BillState::Issued,
        start_on: dates.0.into(),
        end_on: dates.1.into(),
        meter_id: "M".into(),
        multiplier: 1,
        prev_read_on: Some(dates.0.into()),
        curr_read_on: dates.1.into(),
        prev_total: Decimal::ZERO,
        curr_total: kwh.parse().unwrap(),
        estimated: false,
        kwh: kwh.parse().unwrap(),
        ytd_kwh: None,
        total: Fen(funds * 30),
        funds: Fen(funds),
        paid: Fen(0),
        issued_on: Some("2024-02-01".into()),
        due_on: Some("2024-02-16".into()),
        created_at: 1_706_000_000,
        cancelled_at: None,
        cancel_reason: None,
        lines: Vec::new(),
    }
}

fn group(
    period: &str,
    tariff: &str,
    dates: (&str, &str),
    bills: u64,
    kwh: &str,
    funds: i64,
) -> BillFundGroup {
    BillFundGroup {
        period: period.into(),
        tariff_id: tariff.into(),
        start_on: dates.0.into(),
        end_on: dates.1.into(),
        bills,
        kwh: kwh.parse().unwrap(),
        funds: Fen(funds),
    }
}

pub async fn fund_groups(store: &DynStore) -> anyhow::Result<()> {
    const JAN: (&str, &str) = ("2024-01-01", "2024-01-31");
    const LATE: (&str, &str) = ("2024-01-05", "2024-02-04");
    const FEB: (&str, &str) = ("2024-02-01", "2024-02-29");
    let bills = vec![
        bill("2301000001", "A", "2024-01", "hlj-residential", JAN, "125", 97),
        bill("2301000002", "A", "2024-01", "hlj-residential", LATE, "125.5", 97),
        bill("2301000003", "A", "2024-01", "hlj-commercial", JAN, "1000", 2570),
        bill("2302000001", "B", "2024-01", "hlj-residential", JAN, "10", 8),
        bill("2301000001", "A", "2024-02", "hlj-residential", FEB, "50", 39),
        // A credit of an over-estimate counts negative.
        bill("2301000002", "A", "2024-02", "hlj-residential", FEB, "-20.25", -16),
    ];
    let write = Arc::new(BillWrite { bills, ..Default::default() });
    assert_eq!(store.write_bills(write).await?.bills, 6);
    // Cancel-and-rebill (退补): revision 0 of 1000 kWh out, revision 1 of 1200 kWh in.
    let mut again = bill("2301000003", "A", "2024-01", "hlj-commercial", JAN, "1200", 3084);
    again.revision = 1;
    store.cancel_bill("2301000003", "2024-01", 0, "misread", 1_706_100_000, Some(&again), None).await?;

    let jan = store.bill_fund_groups(&Scope::All, "2024-01", "2024-01").await?;
    assert_eq!(
        jan,
        vec![
            group("2024-01", "hlj-commercial", JAN, 1, "1200", 3084),
            group("2024-01", "hlj-residential", JAN, 2, "135", 105),
            group("2024-01", "hlj-residential", LATE, 1, "125.5", 97),
        ],
        "live bills by month, tariff and dates; the cancelled revision is left out"
    );
    let only_a = Scope::Bureaus(vec!["A".into()]);
    let a = store.bill_fund_groups(&only_a, "2024-01", "2024-02").await?;
    assert_eq!(
        a,
        vec![
            group("2024-01", "hlj-commercial", JAN, 1, "1200", 3084),
            group("2024-01", "hlj-residential", JAN, 1, "125", 97),
            group("2024-01", "hlj-residential", LATE, 1, "125.5", 97),
            group("2024-02", "hlj-residential", FEB, 2, "29.75", 23),
        ],
        "bureau A over two months"
    );
    assert!(store.bill_fund_groups(&Scope::All, "2023-01", "2023-12").await?.is_empty());
    assert!(store.bill_fund_groups(&Scope::Bureaus(vec![]), "2024-01", "2024-02").await?.is_empty());
    let b = store.bill_fund_groups(&Scope::Bureaus(vec!["B".into()]), "2024-01", "2024-02").await?;
    assert_eq!(b, vec![group("2024-01", "hlj-residential", JAN, 1, "10", 8)]);
    Ok(())
}
