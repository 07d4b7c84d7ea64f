//! The government-fund remittance report on both databases, over bills worked out by hand.
//!
//! Bureau B1, March 2026 (1–31), builtin tariffs: hlj-residential carries renewable 0.001,
//! reservoir-large 0.0062 and reservoir-local 0.0005 yuan/kWh; hlj-commercial renewable 0.019 and
//! the same two reservoir funds.
//!
//! | customer | tariff | kWh | the bill's own funds |
//! |---|---|---|---|
//! | R1, R2, R3 | residential | 125 each | 0.13 + 0.78 + 0.06 = 0.97 each |
//! | C1 | commercial | 1000 | 19.00 + 6.20 + 0.50 = 25.70 |
//! | C2 | commercial | 300, cancelled; rebilled 333 | 8.56 (6.33 + 2.06 + 0.17) |
//!
//! The report prices 375 residential kWh: 0.375 → 0.38, 2.325 → 2.33, 0.1875 → 0.19 = 2.90 against
//! 2.91 billed (−0.01); and 1333 commercial kWh: 25.327 → 25.33, 8.2646 → 8.26, 0.6665 → 0.67 =
//! 34.26 against 34.26. In all 37.16 to remit, 37.17 billed, a difference of −0.01. A bill of
//! bureau B2 and a bill of February are outside the report.

use bureau_app::access::Actor;
use bureau_app::remittance::{self, fund_remittance};
use bureau_app::AppError;
use bureau_domain::bill::BillState;
use bureau_domain::money::Fen;
use bureau_domain::org::{OrgLevel, Role};
use bureau_domain::register::CustomerDraft;
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{BillWrite, DynStore, OrgUnit, Scope, StoredBill};
use bureau_store_tests::TestDb;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::sync::Arc;

fn unit(id: &str, parent: Option<&str>, level: OrgLevel) -> OrgUnit {
    OrgUnit {
        id: id.into(),
        parent_id: parent.map(String::from),
        level,
        name_zh: id.into(),
        name_en: id.into(),
    }
}

fn bill(customer: &str, bureau: &str, period: &str, tariff: &str, kwh: Decimal, funds: i64) -> StoredBill {
    let p = BillPeriod::parse("period", period).unwrap();
    StoredBill {
        customer_id: customer.into(),
        period: period.into(),
        revision: 0,
        bureau_id: bureau.into(),
        book_id: None,
        tariff_id: tariff.into(),
        state: BillState::Issued,
        start_on: p.first_day().to_string(),
        end_on: p.last_day().to_string(),
        meter_id: "M1".into(),
        multiplier: 1,
        prev_read_on: Some(p.first_day().to_string()),
        curr_read_on: p.last_day().to_string(),
        prev_total: Decimal::ZERO,
        curr_total: kwh,
        estimated: false,
        kwh,
        ytd_kwh: None,
        total: Fen(funds * 20),
        funds: Fen(funds),
        paid: Fen(0),
        issued_on: Some("2026-04-01".into()),
        due_on: Some("2026-04-16".into()),
        created_at: 1_775_000_000,
        cancelled_at: None,
        cancel_reason: None,
        lines: Vec::new(),
    }
}

async fn county(store: &DynStore) -> anyhow::Result<()> {
    store
        .upsert_org_units(&[
            unit("P", None, OrgLevel::Province),
            unit("B1", Some("P"), OrgLevel::County),
            unit("B2", Some("P"), OrgLevel::County),
        ])
        .await?;
    let customer = |id: &str, bureau: &str, class: &str| {
        CustomerDraft {
            id: id.into(),
            bureau_id: bureau.into(),
            name: format!("客户{id}"),
            address: "城关镇".into(),
            phone: String::new(),
            class: class.into(),
            area: "urban".into(),
            supply_point: String::new(),
            book_id: String::new(),
        }
        .validate()
        .unwrap()
    };
    store
        .upsert_customers(&[
            customer("R0001", "B1", "residential"),
            customer("R0002", "B1", "residential"),
            customer("R0003", "B1", "residential"),
            customer("C0001", "B1", "industrial_commercial"),
            customer("C0002", "B1", "industrial_commercial"),
            customer("X0001", "B2", "residential"),
        ])
        .await?;
    let bills = vec![
        bill("R0001", "B1", "2026-03", "hlj-residential", dec!(125), 97),
        bill("R0002", "B1", "2026-03", "hlj-residential", dec!(125), 97),
        bill("R0003", "B1", "2026-03", "hlj-residential", dec!(125), 97),
        bill("C0001", "B1", "2026-03", "hlj-commercial", dec!(1000), 2570),
        bill("C0002", "B1", "2026-03", "hlj-commercial", dec!(300), 771),
        bill("R0001", "B1", "2026-02", "hlj-residential", dec!(100), 77),
        bill("X0001", "B2", "2026-03", "hlj-residential", dec!(999), 775),
    ];
    store.write_bills(Arc::new(BillWrite { bills, ..Default::default() })).await?;
    // 退补: C2's 300 kWh bill is cancelled and replaced by revision 1 of 333 kWh.
    let mut again = bill("C0002", "B1", "2026-03", "hlj-commercial", dec!(333), 856);
    again.revision = 1;
    store.cancel_bill("C0002", "2026-03", 0, "misread", 1_775_100_000, Some(&again), None).await?;
    Ok(())
}

fn staff(roles: Vec<Role>, scope: &[&str]) -> Actor {
    Actor {
        staff_id: "s1".into(),
        name: "s1".into(),
        roles,
        bureau_id: "B1".into(),
        scope: Scope::Bureaus(scope.iter().map(|s| s.to_string()).collect()),
    }
}

fn march() -> BillPeriod {
    BillPeriod::parse("period", "2026-03").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_worked_report_on_both_databases() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        county(&db.store).await?;
        let book = TariffBook::builtin();
        let manager = staff(vec![Role::Manager], &["B1"]);
        let r = fund_remittance(&db.store, &manager, &book, march(), march()).await?;
        let funds: Vec<(&str, Decimal, Decimal, i64)> =
            r.funds.iter().map(|f| (f.code.as_str(), f.rate, f.kwh, f.amount.0)).collect();
        assert_eq!(
            funds,
            [
                ("renewable", dec!(0.001), dec!(375), 38),
                ("renewable", dec!(0.019), dec!(1333), 2533),
                ("reservoir-large", dec!(0.0062), dec!(1708), 233 + 826),
                ("reservoir-local", dec!(0.0005), dec!(1708), 19 + 67),
            ]
        );
        let tariffs: Vec<(&str, u64, Decimal, i64, i64, i64)> = r
            .tariffs
            .iter()
            .map(|t| (t.tariff_id.as_str(), t.bills, t.kwh, t.amount.0, t.billed_funds.0, t.difference.0))
            .collect();
        assert_eq!(
            tariffs,
            [
                ("hlj-commercial", 2, dec!(1333), 3426, 3426, 0),
                ("hlj-residential", 3, dec!(375), 290, 291, -1),
            ],
            "the cancelled 300 kWh bill counts once, as its 333 kWh replacement"
        );
        assert_eq!(
            (r.bills, r.kwh, r.amount, r.billed_funds, r.difference),
            (5, dec!(1708), Fen(3716), Fen(3717), Fen(-1))
        );
        assert!(r.unpriced.is_empty());

        // The CSV carries the same figures.
        let mut csv = Vec::new();
        remittance::remittance_csv(&r, &mut csv)?;
        let csv = String::from_utf8(csv)?;
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("row,period,fund_code,"), "{csv}");
        assert!(
            lines.contains(
                &"fund,2026-03,renewable,可再生能源电价附加,Renewable energy surcharge,0.001,,,,375,0.38,,,费率未核实 rate unverified"
            ),
            "{csv}"
        );
        assert!(
            lines.contains(
                &"tariff,2026-03,,,,,hlj-residential,,3,375,2.90,2.91,-0.01,黑龙江居民生活用电（一户一表，月阶梯）"
            ),
            "{csv}"
        );
        assert_eq!(lines.last(), Some(&"total,2026-03,,,,,,,5,1708,37.16,37.17,-0.01,"), "{csv}");
        assert!(lines.iter().all(|l| l.split(',').count() >= 14), "every row has the 14 columns: {csv}");

        // A range of months adds February as its own month.
        let feb = BillPeriod::parse("period", "2026-02").unwrap();
        let two = fund_remittance(&db.store, &manager, &book, feb, march()).await?;
        let months: Vec<(String, u64, i64, i64)> = two
            .months
            .iter()
            .map(|m| (m.period.to_string(), m.bills, m.amount.0, m.billed_funds.0))
            .collect();
        // February: 100 kWh → 0.10 + 0.62 + 0.05 = 0.77.
        assert_eq!(months, [("2026-02".to_string(), 1, 77, 77), ("2026-03".to_string(), 5, 3716, 3717)]);

        // Scope: a B2 manager sees B2's bill only; a province login sees both bureaus.
        let b2 =
            fund_remittance(&db.store, &staff(vec![Role::Manager], &["B2"]), &book, march(), march()).await?;
        assert_eq!((b2.bills, b2.kwh), (1, dec!(999)));
        let all =
            fund_remittance(&db.store, &staff(vec![Role::Manager], &["B1", "B2"]), &book, march(), march())
                .await?;
        assert_eq!(all.bills, 6);

        // Roles: counter clerks too (as the collection reports); not a dispatcher or a crew.
        assert!(fund_remittance(
            &db.store,
            &staff(vec![Role::CounterClerk], &["B1"]),
            &book,
            march(),
            march()
        )
        .await
        .is_ok());
        for role in [Role::Dispatcher, Role::RepairCrew, Role::Agent] {
            let denied =
                fund_remittance(&db.store, &staff(vec![role], &["B1"]), &book, march(), march()).await;
            assert!(matches!(denied, Err(AppError::Forbidden)), "{role:?}: {denied:?}");
        }

        // A book without the bills' tariff lists them as unpriced instead of dropping them.
        let only_res = TariffBook::from_texts([(
            "hlj-residential.toml",
            include_str!("../../../data/tariffs/hlj-residential.toml"),
        )])?;
        let partial = fund_remittance(&db.store, &manager, &only_res, march(), march()).await?;
        assert_eq!(partial.unpriced.len(), 1);
        assert_eq!(partial.unpriced[0].tariff_id, "hlj-commercial");
        assert_eq!((partial.unpriced[0].bills, partial.unpriced_funds), (2, Fen(3426)));
        assert_eq!(
            (partial.amount, partial.billed_funds, partial.difference),
            (Fen(290), Fen(3717), Fen(-1))
        );
        db.destroy().await?;
    }
    Ok(())
}

#[test]
fn bad_months_name_the_field() {
    let field = |p: &str, to: Option<&str>| -> Vec<String> {
        remittance::parse_periods(p, to).unwrap_err().into_iter().map(|e| e.field).collect()
    };
    assert_eq!(field("2026-13", None), ["period"]);
    assert_eq!(field("", None), ["period"]);
    assert_eq!(field("March", Some("2026-04")), ["period"]);
    assert_eq!(field("2026-03", Some("2026/04")), ["to"]);
    assert_eq!(field("2026-03", Some("2026-02")), ["to"]);
    let e = remittance::parse_periods("2026-3", None).unwrap_err();
    assert_eq!(e[0].message.zh, "电费年月应为YYYY-MM：2026-3");
    assert_eq!(e[0].message.en, "a billing period is written YYYY-MM: 2026-3");
    assert_eq!(remittance::parse_periods("2026-03", Some(" ")).unwrap(), (march(), march()));
}
