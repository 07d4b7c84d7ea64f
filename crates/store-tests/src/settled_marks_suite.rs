//! Settled marks on every store (migration 0019): a mark is set only at the version it was
//! computed at, a payment's read leaves out the entries up to it, and the database clears it when a
//! new entry would make it untrue, whatever path writes the entry.
//!
//! Uses its own customers 2500000001–2500000008 (bureau A).

use crate::ledger_suite::{at, charge, entry, payment};
use bureau_domain::ledger::{BillId, EntryId, EntryKind};
use bureau_domain::money::Fen;
use bureau_store::*;

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// A ledger of two settled months and an open third: charge, payment, charge, payment, charge.
async fn history(store: &DynStore, id: &str) -> anyhow::Result<Vec<bureau_domain::ledger::Entry>> {
    let entries = vec![
        charge("charge-2026-01", at(T0, 0), "2026-01", 10_000),
        payment(&format!("pay-{id}-1"), at(T0 + 100, 0), &format!("hist:{id}:1"), 10_000),
        charge("charge-2026-02", at(T0 + 200, 0), "2026-02", 20_000),
        payment(&format!("pay-{id}-2"), at(T0 + 300, 0), &format!("hist:{id}:2"), 20_000),
        charge("charge-2026-03", at(T0 + 400, 0), "2026-03", 30_000),
    ];
    assert_eq!(store.post_entries(id, 0, &entries).await?, Posted::Done { version: 1 });
    Ok(entries)
}

async fn mark_of(store: &DynStore, id: &str) -> anyhow::Result<Option<SettledMark>> {
    Ok(store.open_ledgers_of(&[id.to_string()]).await?.remove(0).settled_through)
}

pub(crate) async fn settled_marks(store: &DynStore) -> anyhow::Result<()> {
    let ids: Vec<String> = (1..=8).map(|i| format!("25000000{i:02}")).collect();
    let people: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| crate::suite::customer(id, "A", "王五", "和平县", &format!("139{i:08}")))
        .collect();
    store.insert_customers(&people).await?;
    let mut ledgers = Vec::new();
    for id in &ids {
        ledgers.push(history(store, id).await?);
    }
    let through_feb = SettledMark::at(&ledgers[0][3]);
    let mark = |i: usize, version: i64| LedgerMark {
        customer_id: ids[i].clone(),
        version,
        mark: SettledMark::at(&ledgers[i][3]),
    };

    // No mark yet: the open part is the whole ledger.
    let open = store.open_ledgers_of(&ids[..1]).await?.remove(0);
    assert_eq!((open.version, open.settled_through.clone(), open.entries.len()), (1, None, 5));

    // A mark at a version the ledger has moved from is not set; at the current one it is.
    assert_eq!(store.mark_settled(&[mark(0, 7)]).await?, 0);
    assert_eq!(mark_of(store, &ids[0]).await?, None);
    let all: Vec<LedgerMark> = (0..8).map(|i| mark(i, 1)).collect();
    assert_eq!(store.mark_settled(&all).await?, 8);
    let open = store.open_ledgers_of(&[ids[1].clone(), ids[0].clone()]).await?;
    assert_eq!(open[1].customer_id, ids[0], "in the order asked");
    assert_eq!(open[1].settled_through, Some(through_feb.clone()));
    assert_eq!(open[1].entries, ledgers[0][4..].to_vec(), "only the entries after the mark");
    assert_eq!(open[1].version, 1);
    // The whole ledger is still the whole ledger.
    assert_eq!(store.ledger_of(&ids[0]).await?.entries.len(), 5);

    // Entries the mark does not cover leave it: a payment after it, a late fee on the open bill,
    // a new bill's charge.
    let later = vec![
        entry(
            "lf-0",
            at(T0 + 500, 0),
            EntryKind::LateFee { bill: BillId("2026-03".into()), amount: Fen(30) },
        ),
        payment("pay-0-3", at(T0 + 501, 0), "bank:T:0-3", 30_030),
        charge("charge-2026-04", at(T0 + 600, 0), "2026-04", 5_000),
    ];
    assert_eq!(store.post_entries(&ids[0], 1, &later).await?, Posted::Done { version: 2 });
    assert_eq!(mark_of(store, &ids[0]).await?, Some(through_feb.clone()));

    // Each of these clears it: an entry posted before the mark (1), at the mark's instant with a
    // smaller id (2), a late fee on a settled bill (3), an adjustment on one (4), a reversal of a
    // settled payment (5), a second charge for a settled bill (6).
    let clearing = [
        (1, payment("pay-back", at(T0 + 250, 0), "counter:back", 1)),
        (2, payment("pay-0", at(T0 + 300, 0), "counter:same-instant", 1)),
        (
            3,
            entry(
                "lf-jan",
                at(T0 + 900, 0),
                EntryKind::LateFee { bill: BillId("2026-01".into()), amount: Fen(100) },
            ),
        ),
        (
            4,
            entry(
                "adj-feb",
                at(T0 + 900, 0),
                EntryKind::Adjustment { bill: Some(BillId("2026-02".into())), amount: Fen(-500) },
            ),
        ),
        (
            5,
            entry(
                "rev-1",
                at(T0 + 900, 0),
                EntryKind::Reversal {
                    of: EntryId(format!("pay-{}-1", ids[5])),
                    approved_by: "clerk2".into(),
                },
            ),
        ),
        (6, charge("charge-2026-01-again", at(T0 + 900, 0), "2026-01", 10_000)),
    ];
    for (i, e) in clearing {
        assert_eq!(
            store.post_entries(&ids[i], 1, std::slice::from_ref(&e)).await?,
            Posted::Done { version: 2 },
            "{}",
            e.id.0
        );
        assert_eq!(mark_of(store, &ids[i]).await?, None, "{} clears the mark", e.id.0);
        let open = store.open_ledgers_of(&[ids[i].clone()]).await?.remove(0);
        assert_eq!(open.entries.len(), 6, "{}: the whole ledger is read again", e.id.0);
    }
    // Also through a bank file's bulk path: a group that clears one ledger's mark and a group that
    // sets another's, in one call.
    let groups = vec![
        EntryGroup {
            customer_id: ids[7].clone(),
            expected_version: 1,
            entries: vec![payment("pay-7-early", at(T0 + 10, 0), "bank:T:7", 1)],
            settle_through: None,
        },
        EntryGroup {
            customer_id: ids[0].clone(),
            expected_version: 2,
            entries: vec![payment("pay-0-4", at(T0 + 700, 0), "bank:T:0-4", 5_000)],
            settle_through: Some(SettledMark {
                at_us: at(T0 + 700, 0).as_microsecond(),
                entry_id: "pay-0-4".into(),
            }),
        },
    ];
    let out = store.post_entry_groups(&groups).await?;
    assert_eq!(out, vec![Posted::Done { version: 2 }, Posted::Done { version: 3 }]);
    assert_eq!(mark_of(store, &ids[7]).await?, None);
    let open = store.open_ledgers_of(&[ids[0].clone()]).await?.remove(0);
    assert_eq!(open.settled_through.as_ref().map(|m| m.entry_id.as_str()), Some("pay-0-4"));
    assert!(open.entries.is_empty(), "everything is settled through the last payment");
    // A mark sent with a posting that turns out stale is not set either, alone or in bulk.
    let stale = |key: &str| EntryGroup {
        customer_id: ids[0].clone(),
        expected_version: 2,
        entries: vec![payment(&format!("pay-{key}"), at(T0 + 950, 0), key, 1)],
        settle_through: Some(SettledMark {
            at_us: at(T0 + 950, 0).as_microsecond(),
            entry_id: format!("pay-{key}"),
        }),
    };
    assert_eq!(store.post_entry_groups(&[stale("bank:T:s1")]).await?, vec![Posted::Stale]);
    let two = vec![stale("bank:T:s2"), groups[1].clone()];
    assert_eq!(store.post_entry_groups(&two).await?[0], Posted::Stale);
    assert_eq!(mark_of(store, &ids[0]).await?.map(|m| m.entry_id), Some("pay-0-4".to_string()));
    Ok(())
}
