//! Exception resolutions (异常处理) and the bill computation's extras, on both databases. Runs after
//! the bill run checks of `suite.rs`, on their customers: 2301000001 (meter M0001 exchanged for M0002
//! on 2026-03-15) and 2301000002 (held for 2026-06).

use bureau_domain::reading::{ExceptionKind, ResolutionAction};
use bureau_store::*;

fn resolution(
    customer: &str,
    period: &str,
    action: ResolutionAction,
    reading: Option<Reading>,
) -> ExceptionResolution {
    ExceptionResolution {
        customer_id: customer.into(),
        period: period.into(),
        seq: 0,
        action,
        kind: ExceptionKind::Jump,
        reading,
        reason: "现场核实".into(),
        resolved_by: "clerk1".into(),
        resolved_at: 1_780_100_000,
    }
}

pub async fn resolutions(store: &DynStore) -> anyhow::Result<()> {
    let corrected = Reading {
        customer_id: "2301000001".into(),
        meter_id: "M0002".into(),
        read_on: "2026-04-05".into(),
        kind: ReadingKind::Actual,
        source: "correct".into(),
        total: "321.5".parse()?,
        peak: Some("100.25".parse()?),
        flat: Some("121.25".parse()?),
        valley: Some("100".parse()?),
        max_demand: None,
        kvarh: Some("7.5".parse()?),
    };
    let confirm = resolution("2301000002", "2026-06", ResolutionAction::Confirm, None);
    assert_eq!(store.save_resolution(&confirm).await?, 1, "numbered from 1 per customer and period");
    let correct = resolution("2301000001", "2026-04", ResolutionAction::Correct, Some(corrected.clone()));
    assert_eq!(store.save_resolution(&correct).await?, 1);
    let estimate = Reading {
        customer_id: "2301000002".into(),
        meter_id: "M9".into(),
        read_on: "2026-06-05".into(),
        kind: ReadingKind::Estimated,
        source: "estimate".into(),
        total: "1000".parse()?,
        peak: None,
        flat: None,
        valley: None,
        max_demand: None,
        kvarh: None,
    };
    let second = resolution("2301000002", "2026-06", ResolutionAction::Estimate, Some(estimate));
    assert_eq!(store.save_resolution(&second).await?, 2, "a second resolution keeps the first");

    let history = store.resolutions_of("2301000002", "2026-06").await?;
    assert_eq!(
        history,
        vec![
            ExceptionResolution { seq: 1, ..confirm.clone() },
            ExceptionResolution { seq: 2, ..second.clone() }
        ],
        "every resolution reads back as written, oldest first"
    );
    assert_eq!(
        store.resolutions_of("2301000001", "2026-04").await?,
        vec![ExceptionResolution { seq: 1, ..correct.clone() }]
    );
    assert!(store.resolutions_of("2301000001", "2026-05").await?.is_empty());

    // The extras of a chunk: the latest resolution of the period and of the month before, and the
    // meters taken out since the first day of the month before.
    let june = store.billing_extras("2301000001", "2301000002", "2026-06").await?;
    assert_eq!(june.resolutions, vec![ExceptionResolution { seq: 2, ..second.clone() }]);
    assert!(june.removed_meters.is_empty(), "M0001 left in March");
    let may = store.billing_extras("2301000001", "2301000002", "2026-05").await?;
    assert_eq!(may.resolutions, vec![ExceptionResolution { seq: 1, ..correct.clone() }], "April opens May");
    let april = store.billing_extras("2301000001", "2301000002", "2026-04").await?;
    assert_eq!(april.removed_meters.len(), 1);
    let m = &april.removed_meters[0];
    assert_eq!((m.meter_id.as_str(), m.removed_on), ("M0001", Some("2026-03-15".parse()?)));
    assert!(m.final_reading.is_some(), "the final reading comes with the exchanged meter");
    let outside = store.billing_extras("2301000002", "2301000002", "2026-04").await?;
    assert!(
        outside.resolutions.is_empty() && outside.removed_meters.is_empty(),
        "the range bounds the customers"
    );

    // Every exception of a customer's period, open or not.
    let recorded = store.exceptions_of("2301000002", "2026-06").await?;
    assert_eq!(recorded.iter().map(|e| e.kind).collect::<Vec<_>>(), vec![ExceptionKind::Unbillable]);
    assert!(store.exceptions_of("2301000001", "2026-06").await?.is_empty());

    // A resolution of an unknown customer is refused by the schema.
    let orphan = resolution("2399999999", "2026-06", ResolutionAction::Confirm, None);
    assert!(matches!(store.save_resolution(&orphan).await, Err(StoreError::Constraint { .. })));
    Ok(())
}

/// A resolution billed at once: the resolution, the bill and its ledger charge are one transaction
/// (`resolve_and_bill`). A failure after the resolution is written (here a charge the schema
/// refuses) leaves none of them; a success leaves all three; a bill already there is kept and its
/// charge not posted twice. Runs last: it bills customer 2301000002, whom earlier checks expect
/// without a bill.
pub async fn resolve_and_bill(store: &DynStore) -> anyhow::Result<()> {
    let (customer, period) = ("2301000002", "2026-06");
    let before = store.resolutions_of(customer, period).await?.len();
    let mut bill = store.get_bill("2301000001", period, None).await?;
    bill.customer_id = customer.into();
    bill.meter_id = "M9".into();
    let charge = CustomerEntry {
        customer_id: customer.into(),
        entry: bureau_domain::ledger::Entry {
            id: bureau_domain::ledger::EntryId("charge-2026-06".into()),
            at: jiff::Timestamp::from_second(bill.created_at)?,
            by: "clerk1".into(),
            channel: bureau_domain::ledger::Channel::Billing,
            reason: "2026-06 电费".into(),
            kind: bureau_domain::ledger::EntryKind::Charge {
                bill: bureau_domain::ledger::BillId("2026-06".into()),
                period: bureau_domain::tariff::BillPeriod::parse("period", period)?,
                due: "2026-06-21".parse()?,
                amount: bill.total,
            },
        },
    };
    let confirm = resolution(customer, period, ResolutionAction::Confirm, None);
    let charged = |l: &CustomerLedger| l.entries.iter().filter(|e| e.id == charge.entry.id).count();

    // The last step (the charge, here of an account the schema refuses) fails after the resolution
    // and the bill were written in the transaction: nothing is left.
    let mut broken = charge.clone();
    broken.customer_id = "2399999999".into();
    assert!(store.resolve_and_bill(&confirm, &bill, std::slice::from_ref(&broken)).await.is_err());
    assert_eq!(store.resolutions_of(customer, period).await?.len(), before, "no resolution without its bill");
    assert!(matches!(store.get_bill(customer, period, None).await, Err(StoreError::NotFound)));
    assert_eq!(charged(&store.ledger_of(customer).await?), 0);

    // Together: the resolution, the bill and its charge.
    let (seq, added) = store.resolve_and_bill(&confirm, &bill, std::slice::from_ref(&charge)).await?;
    assert_eq!((seq, added), (before as i64 + 1, true));
    assert_eq!(store.get_bill(customer, period, None).await?, bill);
    assert_eq!(store.resolutions_of(customer, period).await?.last().map(|r| r.seq), Some(seq));
    assert_eq!(charged(&store.ledger_of(customer).await?), 1);
    // The period's exception is no longer open once billed.
    let open = store.list_exceptions(&Scope::All, period, None, 10).await?;
    assert!(open.iter().all(|e| e.customer_id != customer), "{open:?}");

    // Again (a bill run wrote the bill meanwhile): the bill and its one charge are kept.
    let (seq2, added) = store.resolve_and_bill(&confirm, &bill, std::slice::from_ref(&charge)).await?;
    assert_eq!((seq2, added), (seq + 1, false));
    assert_eq!(charged(&store.ledger_of(customer).await?), 1, "the charge is not posted twice");
    Ok(())
}
