//! The ledger behind billing and the counter, on both databases: the bill run posts one charge per
//! bill in the bill's own transaction (a rerun posts nothing more), a correction (退补) posts the
//! difference, and the account folds the entries into open bills, arrears and balance.

use bureau_app::access::Actor;
use bureau_app::billing::{self, RunOptions};
use bureau_app::demo::{self, DemoOptions};
use bureau_app::payments;
use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::ledger::EntryKind;
use bureau_domain::money::Fen;
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{Scope, StoredBill};
use bureau_store_tests::TestDb;

async fn small_demo(db: &TestDb) -> anyhow::Result<()> {
    let mut o = DemoOptions::new(jiff::civil::date(2026, 11, 27));
    o.customers = 60;
    o.months = 3; // bills for 2026-08 and 2026-09
    demo::generate(&db.store, &o).await?;
    Ok(())
}

async fn live_bills(db: &TestDb) -> anyhow::Result<Vec<StoredBill>> {
    let mut out = Vec::new();
    for p in ["2026-08", "2026-09", "2026-10"] {
        out.extend(db.store.list_bills(&Scope::All, p, None, 10_000).await?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bill_run_posts_each_charge_once() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let p = BillPeriod::parse("period", "2026-10")?;
        let mut o = RunOptions::new(p, p.last_day());
        o.chunk = 7;
        billing::run(&db.store, &Actor::system(), &TariffBook::builtin(), &o, &|_| {}).await?;
        let again = billing::run(&db.store, &Actor::system(), &TariffBook::builtin(), &o, &|_| {}).await?;
        assert_eq!(again.bills, 0);

        let bills = live_bills(&db).await?;
        assert!(bills.len() > 100, "{}", bills.len());
        let sums = db.store.ledger_balances(&Scope::All, None, 10_000).await?;
        let billed: Fen = bills.iter().map(|b| b.total).sum();
        assert_eq!(sums.iter().map(|s| s.charged).sum::<Fen>(), billed, "one charge per bill, no more");
        for b in bills.iter().take(20) {
            let l = db.store.ledger_of(&b.customer_id).await?;
            let charges: Vec<_> = l
                .entries
                .iter()
                .filter(|e| matches!(&e.kind, EntryKind::Charge { bill, .. } if bill.0 == b.period))
                .collect();
            assert_eq!(charges.len(), 1);
            assert!(matches!(&charges[0].kind, EntryKind::Charge { amount, due, .. }
                if *amount == b.total && Some(due.to_string()) == b.due_on));
        }
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_posts_the_difference_and_the_account_folds() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let rules = LateFeeRules::builtin();
        let actor = Actor::system();
        let bills = db.store.list_bills(&Scope::All, "2026-09", None, 10_000).await?;
        let b = bills.iter().find(|b| b.total > Fen(1_000)).expect("a bill above 10 yuan");
        let id = b.customer_id.as_str();
        let due: jiff::civil::Date = b.due_on.as_deref().unwrap().parse()?;

        // On the due date nothing is overdue; 15 days later both bills are arrears with a late fee.
        let before = payments::customer_account(&db.store, &actor, rules, id, Some(due)).await?;
        let aug = db.store.get_bill(id, "2026-08", None).await?;
        assert_eq!(before.balance, aug.total + b.total);
        assert_eq!(before.open_bills.len(), 2);
        let later = due.checked_add(jiff::Span::new().days(15))?;
        let late = payments::customer_account(&db.store, &actor, rules, id, Some(later)).await?;
        assert_eq!(late.arrears, aug.total + b.total);
        let sep = late.open_bills.iter().find(|x| x.bill.0 == "2026-09").unwrap();
        assert_eq!(sep.days_overdue, 15);
        // Residential or not, the fee is at least the 1-yuan minimum, and it is not yet posted.
        assert!(sep.late_fee_to_date >= Fen(100), "{sep:?}");
        assert_eq!(sep.late_fees, Fen::ZERO);
        assert_eq!(late.to_clear, late.balance + late.late_fee_to_date);

        // Rebilling from the same readings changes nothing: no entry, same version.
        let v = db.store.ledger_of(id).await?.version;
        let tariffs = TariffBook::builtin();
        let today = jiff::civil::date(2026, 11, 27);
        billing::cancel_and_rebill(&db.store, &actor, &tariffs, id, "2026-09", "复核", true, today).await?;
        assert_eq!(db.store.ledger_of(id).await?.version, v);
        // Cancelling without a rebill takes the whole charge off the bill.
        billing::cancel_and_rebill(&db.store, &actor, &tariffs, id, "2026-09", "误发行", false, today)
            .await?;
        let after = payments::customer_account(&db.store, &actor, rules, id, Some(due)).await?;
        assert_eq!(after.balance, aug.total);
        assert_eq!(after.open_bills.len(), 1);
        let adj = after.entries.last().unwrap();
        assert!(
            matches!(&adj.kind, EntryKind::Adjustment { bill: Some(bill), amount }
            if bill.0 == "2026-09" && *amount == -b.total),
            "{adj:?}"
        );
        db.destroy().await?;
    }
    Ok(())
}
