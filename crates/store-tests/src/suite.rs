//! What every store must do, written once.

use bureau_domain::org::{OrgLevel, Role};
use bureau_domain::register::{ContractDraft, CustomerDraft, MeterDraft, ReadingBookDraft};
use bureau_store::*;
use rust_decimal::Decimal;

/// Runs every conformance check against a fresh, migrated store.
pub async fn conformance(store: &DynStore) -> anyhow::Result<()> {
    store.migrate().await?; // a second migration is a no-op
    store.ping().await?;
    organisation_and_staff(store).await?;
    sessions(store).await?;
    grid(store).await?;
    crate::grid_data_suite::grid_data(store).await?;
    crate::grid_data_suite::outbox_batch(store).await?;
    crate::outage_suite::outages(store).await?;
    books(store).await?;
    customers(store).await?;
    meters_and_contracts(store).await?;
    readings(store).await?;
    crate::ledger_suite::ledger(store).await?;
    bill_run(store).await?;
    crate::ledger_suite::bank_files(store).await?;
    crate::settled_marks_suite::settled_marks(store).await?;
    crate::exceptions_suite::resolutions(store).await?;
    crate::bill_run_jobs_suite::bill_run_jobs(store).await?;
    crate::portal_suite::portal(store).await?;
    crate::arrears_suite::arrears(store).await?;
    bulk_load(store).await?;
    history_newest_first(store).await?;
    crate::exceptions_suite::resolve_and_bill(store).await?;
    crate::funds_suite::fund_groups(store).await?;
    Ok(())
}

/// The bill run's history of a customer comes newest first, whatever order the store reads it in.
async fn history_newest_first(store: &DynStore) -> anyhow::Result<()> {
    use std::sync::Arc;
    let template = store.get_bill("2301000001", "2026-06", None).await?;
    let earlier = |period: &str| {
        let mut b = template.clone();
        b.customer_id = "2302000009".into();
        b.bureau_id = "B".into();
        b.book_id = None;
        b.period = period.into();
        b.lines.clear();
        b
    };
    let write =
        Arc::new(BillWrite { bills: vec![earlier("2026-04"), earlier("2026-05")], ..BillWrite::default() });
    assert_eq!(store.write_bills(write).await?.bills, 2);
    let june = store.billing_account(&Scope::All, "2302000009", "2026-06").await?;
    let periods: Vec<&str> = june.history.iter().map(|h| h.period.as_str()).collect();
    assert_eq!(periods, ["2026-05", "2026-04"], "newest first");
    Ok(())
}

pub(crate) fn unit(id: &str, parent: Option<&str>, level: OrgLevel) -> OrgUnit {
    OrgUnit {
        id: id.into(),
        parent_id: parent.map(str::to_string),
        level,
        name_zh: format!("{id}中文"),
        name_en: id.into(),
    }
}

async fn organisation_and_staff(store: &DynStore) -> anyhow::Result<()> {
    let units = vec![
        unit("P", None, OrgLevel::Province),
        unit("C", Some("P"), OrgLevel::City),
        unit("A", Some("C"), OrgLevel::County),
        unit("B", Some("C"), OrgLevel::County),
        unit("A-YY", Some("A"), OrgLevel::Department),
    ];
    assert_eq!(store.upsert_org_units(&units).await?, UpsertCounts { written: 5, unchanged: 0 });
    assert_eq!(store.upsert_org_units(&units).await?, UpsertCounts { written: 0, unchanged: 5 });
    let listed = store.list_org_units().await?;
    assert_eq!(listed.len(), 5);
    assert_eq!(listed.iter().find(|u| u.id == "A-YY").unwrap().parent_id.as_deref(), Some("A"));

    // A unit under a parent that does not exist is refused by the schema.
    let orphan = unit("Z", Some("nowhere"), OrgLevel::County);
    assert!(matches!(store.upsert_org_units(&[orphan]).await, Err(StoreError::Constraint { .. })));

    let clerk = Staff {
        id: "clerk1".into(),
        name: "王营业".into(),
        org_unit_id: "A-YY".into(),
        bureau_id: "A".into(),
        scope_unit_id: "A".into(),
        roles: vec![Role::CounterClerk, Role::Manager],
        phone: Some("13800000000".into()),
        password_hash: "$argon2id$v=19$fake".into(),
        active: true,
    };
    let other = Staff {
        id: "clerk2".into(),
        bureau_id: "B".into(),
        org_unit_id: "B".into(),
        scope_unit_id: "B".into(),
        ..clerk.clone()
    };
    assert_eq!(store.upsert_staff(&[clerk.clone(), other]).await?.written, 2);
    assert_eq!(store.get_staff("clerk1").await?, clerk);
    assert!(matches!(store.get_staff("nobody").await, Err(StoreError::NotFound)));
    let in_a = store.list_staff(&Scope::Bureaus(vec!["A".into()])).await?;
    assert_eq!(in_a.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), vec!["clerk1"]);
    assert_eq!(store.list_staff(&Scope::All).await?.len(), 2);
    Ok(())
}

async fn sessions(store: &DynStore) -> anyhow::Result<()> {
    let s = Session {
        token_hash: "h1".into(),
        subject: Subject::Staff("clerk1".into()),
        lang: "zh".into(),
        created_at: 1000,
        expires_at: 2000,
    };
    store.create_session(&s).await?;
    assert_eq!(store.get_session("h1", 1500).await?, s);
    assert!(matches!(store.get_session("h1", 2000).await, Err(StoreError::NotFound)), "expired");
    store.set_session_lang("h1", "en").await?;
    assert_eq!(store.get_session("h1", 1500).await?.lang, "en");
    let c = Session {
        token_hash: "h2".into(),
        subject: Subject::Customer("2301000001".into()),
        expires_at: 9000,
        ..s
    };
    store.create_session(&c).await?;
    assert_eq!(store.purge_sessions(2500).await?, 1);
    assert_eq!(store.get_session("h2", 2500).await?.subject, Subject::Customer("2301000001".into()));
    store.delete_session("h2").await?;
    assert!(matches!(store.get_session("h2", 2500).await, Err(StoreError::NotFound)));

    // A password change ends the subject's other sessions: not the one it was made in, not another
    // customer's, not a staff session under the same id.
    let customer = |hash: &str, id: &str| Session {
        token_hash: hash.into(),
        subject: Subject::Customer(id.into()),
        lang: "zh".into(),
        created_at: 3000,
        expires_at: 9000,
    };
    for s in [
        customer("c1", "2301000001"),
        customer("c2", "2301000001"),
        customer("c3", "2301000001"),
        customer("d1", "2301000002"),
        Session { subject: Subject::Staff("2301000001".into()), ..customer("s1", "") },
    ] {
        store.create_session(&s).await?;
    }
    let me = Subject::Customer("2301000001".into());
    assert_eq!(store.delete_other_sessions(&me, "c2").await?, 2);
    for (hash, alive) in [("c1", false), ("c2", true), ("c3", false), ("d1", true), ("s1", true)] {
        assert_eq!(store.get_session(hash, 3500).await.is_ok(), alive, "session {hash}");
    }
    assert_eq!(store.delete_other_sessions(&me, "c2").await?, 0, "nothing left to end");
    for hash in ["c2", "d1", "s1"] {
        store.delete_session(hash).await?;
    }
    Ok(())
}

async fn grid(store: &DynStore) -> anyhow::Result<()> {
    let node = |id: &str, kind: &str, customers: i64| GridNode {
        id: id.into(),
        bureau_id: "A".into(),
        kind: kind.into(),
        name: format!("{id} name"),
        customers,
        avg_kw: 12.5,
        peak_kw: 40.0,
    };
    let nodes = vec![node("S1", "source", 0), node("T1", "load", 120), node("T2", "load", 80)];
    let branch = |id: &str, from: &str, to: &str, kind: &str, normal_open: bool| GridBranch {
        id: id.into(),
        bureau_id: "A".into(),
        from_node: from.into(),
        to_node: to.into(),
        kind: kind.into(),
        normal_open,
        is_open: normal_open,
        length_km: 1.25,
        failure_rate: 0.05,
        repair_h: 4.0,
    };
    let branches =
        vec![branch("L1", "S1", "T1", "line", false), branch("TIE", "T1", "T2", "load_break_switch", true)];
    assert_eq!(store.upsert_grid(&nodes, &branches).await?.written, 5);
    assert_eq!(store.upsert_grid(&nodes, &branches).await?, UpsertCounts { written: 0, unchanged: 5 });
    assert_eq!(store.grid_nodes(&Scope::All).await?, nodes);
    let got = store.grid_branches(&Scope::Bureaus(vec!["A".into()])).await?;
    assert_eq!(got, branches);
    assert!(store.grid_branches(&Scope::Bureaus(vec!["B".into()])).await?.is_empty());
    assert!(store.grid_node_exists("T1").await? && !store.grid_node_exists("T9").await?);
    // A branch to a node that does not exist is refused.
    let dangling = branch("L9", "S1", "NOWHERE", "line", false);
    assert!(matches!(store.upsert_grid(&[], &[dangling]).await, Err(StoreError::Constraint { .. })));
    Ok(())
}

async fn books(store: &DynStore) -> anyhow::Result<()> {
    let b = ReadingBookDraft {
        id: "A-B01".into(),
        bureau_id: "A".into(),
        name: "城区一段".into(),
        reading_day: "5".into(),
        reader_id: "clerk1".into(),
    }
    .validate()
    .unwrap();
    assert_eq!(store.upsert_books(std::slice::from_ref(&b)).await?.written, 1);
    assert_eq!(store.upsert_books(std::slice::from_ref(&b)).await?.unchanged, 1);
    assert_eq!(store.list_books(&Scope::All).await?, vec![b]);
    assert!(store.book_exists("A-B01").await? && !store.book_exists("X").await?);
    Ok(())
}

pub(crate) fn customer(
    id: &str,
    bureau: &str,
    name: &str,
    address: &str,
    phone: &str,
) -> bureau_domain::register::Customer {
    CustomerDraft {
        id: id.into(),
        bureau_id: bureau.into(),
        name: name.into(),
        address: address.into(),
        phone: phone.into(),
        class: "residential".into(),
        area: "urban".into(),
        supply_point: "T1".into(),
        book_id: "A-B01".into(),
    }
    .validate()
    .unwrap()
}

async fn customers(store: &DynStore) -> anyhow::Result<()> {
    let a1 = customer("2301000001", "A", "张三", "和平县建设街12号", "13804510001");
    let a2 = customer("2301000002", "A", "李四", "和平县胜利路8号", "13804510002");
    let b1 = customer("2302000001", "B", "张三丰", "安宁县建设街3号", "0451-5550001");
    let odd = customer("2301000003", "A", "100%_公司", "和平县工业园区", "");
    let all = vec![a1.clone(), a2.clone(), b1.clone(), odd.clone()];
    assert_eq!(store.upsert_customers(&all).await?, UpsertCounts { written: 4, unchanged: 0 });
    // Importing the same rows again changes nothing.
    assert_eq!(store.upsert_customers(&all).await?, UpsertCounts { written: 0, unchanged: 4 });
    let mut moved = a2.clone();
    moved.address = "和平县胜利路10号".into();
    assert_eq!(
        store.upsert_customers(&[moved.clone(), a1.clone()]).await?,
        UpsertCounts { written: 1, unchanged: 1 }
    );
    assert_eq!(store.insert_customers(std::slice::from_ref(&a1)).await?, 0, "insert keeps existing rows");

    let only_a = Scope::Bureaus(vec!["A".into()]);
    assert_eq!(store.get_customer(&only_a, "2301000002").await?, moved);
    assert!(
        matches!(store.get_customer(&only_a, "2302000001").await, Err(StoreError::NotFound)),
        "other bureau"
    );
    assert!(store.customer_exists("2302000001").await?);
    assert_eq!(store.count_customers(&only_a).await?, 3);
    assert_eq!(store.count_customers(&Scope::All).await?, 4);

    let ids = |v: Vec<bureau_domain::register::Customer>| {
        v.into_iter().map(|c| c.id.as_str().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.search_customers(&Scope::All, "2301000002", 10).await?), vec!["2301000002"]);
    assert_eq!(ids(store.search_customers(&Scope::All, "张三", 10).await?), vec!["2301000001", "2302000001"]);
    assert_eq!(ids(store.search_customers(&only_a, "张三", 10).await?), vec!["2301000001"]);
    assert_eq!(
        ids(store.search_customers(&Scope::All, "1380451000", 10).await?),
        vec!["2301000001", "2301000002"]
    );
    assert_eq!(
        ids(store.search_customers(&Scope::All, "建设街", 10).await?),
        vec!["2301000001", "2302000001"]
    );
    assert_eq!(ids(store.search_customers(&only_a, "胜利路10", 10).await?), vec!["2301000002"]);
    // LIKE wildcards in user text match literally.
    assert_eq!(ids(store.search_customers(&Scope::All, "100%", 10).await?), vec!["2301000003"]);
    assert!(store.search_customers(&Scope::All, "%", 10).await?.is_empty());
    assert!(store.search_customers(&Scope::All, "  ", 10).await?.is_empty());
    assert_eq!(store.search_customers(&Scope::All, "和平县", 2).await?.len(), 2, "limit holds");

    let page1 = ids(store.list_customers(&Scope::All, None, 2).await?);
    assert_eq!(page1, vec!["2301000001", "2301000002"]);
    let page2 = ids(store.list_customers(&Scope::All, Some("2301000002"), 10).await?);
    assert_eq!(page2, vec!["2301000003", "2302000001"]);
    Ok(())
}

async fn meters_and_contracts(store: &DynStore) -> anyhow::Result<()> {
    let m = MeterDraft {
        customer_id: "2301000001".into(),
        meter_id: "M0001".into(),
        multiplier: "1".into(),
        digits: "6".into(),
        tou: "no".into(),
        installed_on: "2020-05-01".into(),
        initial_reading: "12.5".into(),
    }
    .validate()
    .unwrap();
    assert_eq!(store.upsert_meters(std::slice::from_ref(&m)).await?.written, 1);
    assert_eq!(store.upsert_meters(std::slice::from_ref(&m)).await?.unchanged, 1);
    assert_eq!(store.meters_of("2301000001").await?, vec![m.clone()]);

    // One active meter per household: a second active meter is refused.
    let second = bureau_domain::register::Meter { meter_id: "M0002".into(), ..m.clone() };
    assert!(matches!(
        store.upsert_meters(std::slice::from_ref(&second)).await,
        Err(StoreError::Constraint { .. })
    ));

    let new = bureau_domain::register::Meter {
        meter_id: "M0002".into(),
        installed_on: "2026-03-15".parse()?,
        initial_reading: Decimal::ZERO,
        ..m.clone()
    };
    let x = MeterExchange {
        customer_id: "2301000001".into(),
        old_meter_id: "M0001".into(),
        old_final_reading: "4321.75".parse()?,
        new_meter: new.clone(),
    };
    store.exchange_meter(&x).await?;
    let history = store.meters_of("2301000001").await?;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0], new);
    assert_eq!(history[1].removed_on, Some("2026-03-15".parse()?));
    assert_eq!(history[1].final_reading, Some("4321.75".parse()?));
    // Exchanging a meter that is no longer active fails and changes nothing.
    assert!(matches!(store.exchange_meter(&x).await, Err(StoreError::NotFound)));
    assert_eq!(store.meters_of("2301000001").await?.len(), 2);

    let c = ContractDraft {
        customer_id: "2301000001".into(),
        contract_id: "HT-1".into(),
        tariff_id: "example-two-part".into(),
        capacity_kva: "630".into(),
        pf_standard: "0.9".into(),
        due_days: "15".into(),
        effective_from: "2026-01-01".into(),
        effective_to: "".into(),
    }
    .validate()
    .unwrap();
    assert_eq!(store.upsert_contracts(std::slice::from_ref(&c)).await?.written, 1);
    assert_eq!(store.upsert_contracts(std::slice::from_ref(&c)).await?.unchanged, 1);
    assert_eq!(store.contracts_of("2301000001").await?, vec![c]);
    Ok(())
}

async fn readings(store: &DynStore) -> anyhow::Result<()> {
    let r = |day: &str, total: &str| Reading {
        customer_id: "2301000001".into(),
        meter_id: "M0002".into(),
        read_on: day.into(),
        kind: ReadingKind::Actual,
        source: "manual".into(),
        total: total.parse().unwrap(),
        peak: None,
        flat: None,
        valley: None,
        max_demand: None,
        kvarh: Some("3.5".parse().unwrap()),
    };
    let rows = vec![r("2026-04-05", "0"), r("2026-05-05", "150.25"), r("2026-06-05", "400.25")];
    assert_eq!(store.insert_readings(&rows).await?, 3);
    assert_eq!(store.insert_readings(&rows).await?, 0, "the same day's reading is kept once");
    let got = store.readings_of("2301000001", 10).await?;
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], rows[2]);
    let summary = store.consumption_summary(&Scope::All, "2026-01-01", "2026-12-31").await?;
    let months: Vec<(String, Decimal)> = summary.into_iter().map(|m| (m.month, m.kwh)).collect();
    assert_eq!(months, vec![("2026-05".into(), "150.25".parse()?), ("2026-06".into(), "250".parse()?)]);
    // A reading for a meter the customer does not have is refused.
    let mut bad = r("2026-07-05", "500");
    bad.meter_id = "M9999".into();
    assert!(matches!(store.insert_readings(&[bad]).await, Err(StoreError::Constraint { .. })));
    Ok(())
}

/// What the bill run reads and writes: chunks in account order without the customers already
/// billed, and the chunk write that keeps rows already present (so that a rerun adds nothing).
/// SQLite takes its own connections for these (store-sqlite `bill_run`); the rows must be the same.
async fn bill_run(store: &DynStore) -> anyhow::Result<()> {
    use bureau_domain::bill::BillState;
    use bureau_domain::i18n::Text;
    use bureau_domain::money::Fen;
    use bureau_domain::reading::ExceptionKind;
    use std::sync::Arc;

    // An older contract still open beside the one of 2026: the chunk carries the latest to take
    // effect (HT-1), not the first by id (HT-0).
    let older = ContractDraft {
        customer_id: "2301000001".into(),
        contract_id: "HT-0".into(),
        tariff_id: "hlj-residential".into(),
        capacity_kva: "10".into(),
        pf_standard: "".into(),
        due_days: "15".into(),
        effective_from: "2025-01-01".into(),
        effective_to: "".into(),
    }
    .validate()
    .unwrap();
    assert_eq!(store.upsert_contracts(&[older]).await?.written, 1);
    let chunk = store.billing_chunk(&Scope::All, "2026-06", None, None, 2).await?;
    let ids: Vec<&str> = chunk.accounts.iter().map(|a| a.customer_id.as_str()).collect();
    assert_eq!(ids, ["2301000001", "2301000002"], "account order, at most the limit");
    let a = &chunk.accounts[0];
    assert_eq!((a.bureau_id.as_str(), a.book_id.as_deref(), a.reading_day), ("A", Some("A-B01"), Some(5)));
    assert_eq!(a.meter.as_ref().map(|m| m.meter_id.as_str()), Some("M0002"), "the active meter");
    assert_eq!(a.contract.as_ref().map(|c| c.tariff_id.as_str()), Some("example-two-part"));
    assert_eq!(a.contract.as_ref().map(|c| c.capacity_kva), Some(Decimal::from(630)));
    assert!(chunk.accounts[1].meter.is_none() && chunk.accounts[1].contract.is_none());
    let days: Vec<&str> = chunk.readings.iter().map(|r| r.read_on.as_str()).collect();
    assert_eq!(days, ["2026-05-05", "2026-06-05"], "the month before and the period");
    assert_eq!(chunk.readings[1].kvarh, Some("3.5".parse()?));
    assert!(chunk.history.is_empty());
    let next = store.billing_chunk(&Scope::All, "2026-06", None, Some("2301000002"), 10).await?;
    let ids: Vec<&str> = next.accounts.iter().map(|a| a.customer_id.as_str()).collect();
    assert_eq!(ids, ["2301000003", "2302000001"]);
    let only_b = Scope::Bureaus(vec!["B".into()]);
    let b = store.billing_chunk(&only_b, "2026-06", None, None, 10).await?;
    assert_eq!(b.accounts.iter().map(|a| a.customer_id.as_str()).collect::<Vec<_>>(), ["2302000001"]);
    assert!(store
        .billing_chunk(&Scope::All, "2026-06", Some("nowhere"), None, 10)
        .await?
        .accounts
        .is_empty());

    let line = |no: i64, code: &str, q: &str, price: &str, fen: i64, tier: Option<i64>| StoredBillLine {
        line_no: no,
        code: code.into(),
        description: Text::new(format!("{code}中文"), code),
        quantity: q.parse().unwrap(),
        unit: "kWh".into(),
        unit_price: price.parse().unwrap(),
        amount: Fen(fen),
        tier,
        ytd_kwh: tier.map(|_| q.parse().unwrap()),
    };
    let bill = StoredBill {
        customer_id: "2301000001".into(),
        period: "2026-06".into(),
        revision: 0,
        bureau_id: "A".into(),
        book_id: Some("A-B01".into()),
        tariff_id: "example-two-part".into(),
        state: BillState::Issued,
        start_on: "2026-05-05".into(),
        end_on: "2026-06-04".into(),
        meter_id: "M0002".into(),
        multiplier: 1,
        prev_read_on: Some("2026-05-05".into()),
        curr_read_on: "2026-06-05".into(),
        prev_total: "150.25".parse()?,
        curr_total: "400.25".parse()?,
        estimated: false,
        kwh: Decimal::from(250),
        ytd_kwh: Some(Decimal::from(250)),
        total: Fen(1_275_000),
        funds: Fen(1_250),
        paid: Fen(0),
        issued_on: Some("2026-06-06".into()),
        due_on: Some("2026-06-21".into()),
        created_at: 1_780_000_000,
        cancelled_at: None,
        cancel_reason: None,
        lines: vec![
            line(1, "energy", "250", "0.6", 15_000, None),
            line(2, "basic_capacity", "630", "20", 1_260_000, Some(1)),
        ],
    };
    let held = ReadingException {
        customer_id: "2301000002".into(),
        period: "2026-06".into(),
        kind: ExceptionKind::Unbillable,
        bureau_id: "A".into(),
        meter_id: None,
        read_on: None,
        detail: Text::new("没有在用电能表", "no active meter"),
        created_at: 1_780_000_000,
    };
    let estimate = Reading {
        customer_id: "2301000001".into(),
        meter_id: "M0002".into(),
        read_on: "2026-07-05".into(),
        kind: ReadingKind::Estimated,
        source: "estimate".into(),
        total: "650.25".parse()?,
        peak: None,
        flat: None,
        valley: None,
        max_demand: None,
        kvarh: None,
    };
    let charge = CustomerEntry {
        customer_id: bill.customer_id.clone(),
        entry: bureau_domain::ledger::Entry {
            id: bureau_domain::ledger::EntryId("charge-2026-06".into()),
            at: jiff::Timestamp::from_second(bill.created_at)?,
            by: "system".into(),
            channel: bureau_domain::ledger::Channel::Billing,
            reason: "2026-06 电费".into(),
            kind: bureau_domain::ledger::EntryKind::Charge {
                bill: bureau_domain::ledger::BillId("2026-06".into()),
                period: bureau_domain::tariff::BillPeriod::parse("period", "2026-06")?,
                due: "2026-06-21".parse()?,
                amount: bill.total,
            },
        },
    };
    let write = Arc::new(BillWrite {
        bills: vec![bill.clone()],
        exceptions: vec![held.clone()],
        estimates: vec![estimate],
        charges: vec![charge.clone()],
    });
    assert_eq!(
        store.write_bills(write.clone()).await?,
        BillWriteCounts { bills: 1, exceptions: 1, estimates: 1 }
    );
    // A rerun (or a run killed after its commit and started again) adds nothing.
    assert_eq!(store.write_bills(write).await?, BillWriteCounts::default());
    assert_eq!(store.get_bill("2301000001", "2026-06", None).await?, bill, "the bill reads back as written");
    let ledger = store.ledger_of("2301000001").await?;
    let charges: Vec<_> = ledger.entries.iter().filter(|e| e.id == charge.entry.id).collect();
    assert_eq!(charges, vec![&charge.entry], "the bill's charge is posted once, in the bill's transaction");
    assert_eq!(store.list_exceptions(&Scope::All, "2026-06", None, 10).await?, vec![held]);
    let totals = store.period_totals(&Scope::All, "2026-06").await?;
    assert_eq!(
        (totals.bills, totals.kwh, totals.total, totals.open_exceptions),
        (1, bill.kwh, bill.total, 1)
    );
    assert_eq!(store.open_exception_count(&Scope::All, "2026-06").await?, 1);
    assert!(store.period_has_bills(&Scope::All, "2026-06").await?);
    assert!(!store.period_has_bills(&Scope::All, "2026-05").await?);
    assert!(!store.period_has_bills(&Scope::Bureaus(vec!["elsewhere".into()]), "2026-06").await?);
    assert_eq!(store.readings_of("2301000001", 1).await?[0].kind, ReadingKind::Estimated);

    // The billed customer leaves the period's chunks, but not a rebill's single look-up.
    let again = store.billing_chunk(&Scope::All, "2026-06", None, None, 1).await?;
    assert!(again.accounts.is_empty(), "the only account of this chunk is billed");
    assert_eq!(again.already_billed, 1, "and counted as such");
    assert_eq!(again.scanned_to.as_deref(), Some("2301000001"), "but the run goes on after it");
    let again = store.billing_chunk(&Scope::All, "2026-06", None, None, 2).await?;
    assert_eq!(again.accounts.iter().map(|a| a.customer_id.as_str()).collect::<Vec<_>>(), ["2301000002"]);
    let end = store.billing_chunk(&Scope::All, "2026-06", None, Some("2302000001"), 10).await?;
    assert!(end.accounts.is_empty() && end.scanned_to.is_none(), "no account left: the run is over");
    let one = store.billing_account(&Scope::All, "2301000001", "2026-06").await?;
    assert_eq!(one.accounts.len(), 1);
    assert!(one.history.is_empty(), "the history leaves out the period itself");
    // The next period sees the bill as history (kWh and the annual counter).
    let july = store.billing_chunk(&Scope::All, "2026-07", None, None, 1).await?;
    assert_eq!(
        july.history,
        vec![BillHistory {
            customer_id: "2301000001".into(),
            period: "2026-06".into(),
            kwh: Decimal::from(250),
            ytd_kwh: Some(Decimal::from(250)),
        }]
    );
    Ok(())
}

/// The generator's bulk load (SQLite takes its own writer connection for it, store-sqlite
/// `register_load`): every column as written comes back the same, the text index knows the new
/// customers, and a second load of the same batch (a generator run again) keeps the rows as they are.
async fn bulk_load(store: &DynStore) -> anyhow::Result<()> {
    use bureau_domain::register::{Contract, Meter};
    let mut shop = customer("2302000009", "B", "松花百货商店", "安宁县松花江大街77号", "0451-5550009");
    shop.class = bureau_domain::register::CustomerClass::IndustrialCommercial;
    let mut farm = customer("2302000010", "B", "王五", "安宁县红旗村3组", "");
    farm.supply_point = None;
    farm.book_id = None;
    let meter = |c: &bureau_domain::register::Customer, tou: bool, multiplier: i64| Meter {
        customer_id: c.id.clone(),
        meter_id: format!("E{}", c.id.as_str()),
        multiplier,
        digits: 6,
        tou,
        installed_on: "2019-03-07".parse().unwrap(),
        initial_reading: "1234.5".parse().unwrap(),
        removed_on: None,
        final_reading: None,
    };
    let contract = |c: &bureau_domain::register::Customer, pf: Option<&str>| Contract {
        customer_id: c.id.clone(),
        contract_id: "HT1".into(),
        tariff_id: "hlj-commercial".into(),
        capacity_kva: "100".parse().unwrap(),
        pf_standard: pf.map(|p| p.parse().unwrap()),
        due_days: 15,
        effective_from: "2019-03-07".parse().unwrap(),
        effective_to: None,
    };
    let reading = |c: &bureau_domain::register::Customer, day: &str, total: &str, tou: bool| Reading {
        customer_id: c.id.as_str().into(),
        meter_id: format!("E{}", c.id.as_str()),
        read_on: day.into(),
        kind: ReadingKind::Actual,
        source: "ami".into(),
        total: total.parse().unwrap(),
        peak: tou.then(|| "300".parse().unwrap()),
        flat: tou.then(|| "450.5".parse().unwrap()),
        valley: tou.then(|| "250".parse().unwrap()),
        max_demand: tou.then(|| "12.34".parse().unwrap()),
        kvarh: tou.then(|| "77".parse().unwrap()),
    };
    let batch = std::sync::Arc::new(RegisterBatch {
        customers: vec![shop.clone(), farm.clone()],
        meters: vec![meter(&shop, true, 30), meter(&farm, false, 1)],
        contracts: vec![contract(&shop, Some("0.85")), contract(&farm, None)],
        readings: vec![
            reading(&shop, "2026-09-05", "1000.5", true),
            reading(&shop, "2026-10-05", "1234.5", true),
            reading(&farm, "2026-10-05", "99", false),
        ],
    });
    store.bulk_load(batch.clone()).await?;
    let check = |label: &'static str| {
        let batch = batch.clone();
        async move {
            for (i, c) in batch.customers.iter().enumerate() {
                let id = c.id.as_str();
                assert_eq!(&store.get_customer(&Scope::All, id).await?, c, "{label}: customer {id}");
                assert_eq!(
                    store.meters_of(id).await?,
                    vec![batch.meters[i].clone()],
                    "{label}: meter of {id}"
                );
                assert_eq!(
                    store.contracts_of(id).await?,
                    vec![batch.contracts[i].clone()],
                    "{label}: contract of {id}"
                );
                let mut want: Vec<Reading> =
                    batch.readings.iter().filter(|r| r.customer_id == id).cloned().collect();
                want.reverse(); // newest first
                assert_eq!(store.readings_of(id, 10).await?, want, "{label}: readings of {id}");
            }
            let found = store.search_customers(&Scope::All, "松花江大街", 10).await?;
            assert_eq!(found.len(), 1, "{label}: the text index has the loaded customer");
            anyhow::Ok(())
        }
    };
    check("first load").await?;
    // Loaded again (a generator killed after the commit and run again): nothing changes, and a
    // row already present is kept even if the batch says otherwise.
    store.bulk_load(batch.clone()).await?;
    let mut renamed = (*batch).clone();
    renamed.customers[0].name = "改名商店".into();
    renamed.readings[1].total = "9999".parse()?;
    store.bulk_load(std::sync::Arc::new(renamed)).await?;
    check("loaded again").await?;
    // A reading of a meter the batch does not have is refused, and the batch with it.
    let mut bad = RegisterBatch {
        customers: vec![customer("2302000011", "B", "赵六", "安宁县新村1号", "")],
        ..RegisterBatch::default()
    };
    bad.readings
        .push(Reading { customer_id: "2302000011".into(), ..reading(&farm, "2026-10-05", "1", false) });
    assert!(store.bulk_load(std::sync::Arc::new(bad)).await.is_err());
    assert!(!store.customer_exists("2302000011").await?, "a refused batch leaves nothing behind");
    Ok(())
}
