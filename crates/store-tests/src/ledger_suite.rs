//! The ledger on every store: entries in posting order, the version guard, idempotency keys that
//! the database itself keeps unique (also under concurrent postings), and sums per customer.
//!
//! Runs after `customers` in the suite: customers 2301000001–2301000003 are in bureau A, 2302000001
//! in bureau B.

use bureau_domain::ledger::{fold, BillId, Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_domain::tariff::BillPeriod;
use bureau_store::*;

fn at(second: i64, micro: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(second * 1_000_000 + micro).unwrap()
}

fn entry(id: &str, t: jiff::Timestamp, kind: EntryKind) -> Entry {
    Entry {
        id: EntryId(id.into()),
        at: t,
        by: "clerk1".into(),
        channel: Channel::Counter,
        reason: format!("test {id}"),
        kind,
    }
}

fn charge(id: &str, t: jiff::Timestamp, period: &str, fen: i64) -> Entry {
    let mut e = entry(
        id,
        t,
        EntryKind::Charge {
            bill: BillId(period.into()),
            period: BillPeriod::parse("period", period).unwrap(),
            due: format!("{period}-20").parse().unwrap(),
            amount: Fen(fen),
        },
    );
    e.channel = Channel::Billing;
    e.by = "system".into();
    e
}

fn payment(id: &str, t: jiff::Timestamp, key: &str, fen: i64) -> Entry {
    entry(id, t, EntryKind::Payment { amount: Fen(fen), key: IdempotencyKey::parse("key", key).unwrap() })
}

pub(crate) async fn ledger(store: &DynStore) -> anyhow::Result<()> {
    let a = "2301000001";
    let empty = store.ledger_of(a).await?;
    assert_eq!((empty.version, empty.entries.len()), (0, 0), "a customer without entries");

    // Every kind round-trips, and the order is the posting instant, then the id.
    let t0 = 1_767_225_600; // 2026-01-01T00:00:00Z
    let first = vec![
        charge("charge-2026-01", at(t0, 0), "2026-01", 12_345),
        entry(
            "z-late",
            at(t0 + 50, 7),
            EntryKind::LateFee { bill: BillId("2026-01".into()), amount: Fen(100) },
        ),
        payment("p1", at(t0 + 50, 7), "counter:k1", 5_000),
        entry(
            "adj1",
            at(t0 + 60, 1),
            EntryKind::Adjustment { bill: Some(BillId("2026-01".into())), amount: Fen(-345) },
        ),
        entry("adj2", at(t0 + 61, 0), EntryKind::Adjustment { bill: None, amount: Fen(-1_000) }),
        entry("r1", at(t0 + 62, 0), EntryKind::Refund { amount: Fen(200) }),
    ];
    assert_eq!(store.post_entries(a, 0, &first).await?, Posted::Done { version: 1 });
    let got = store.ledger_of(a).await?;
    assert_eq!(got.version, 1);
    let ids: Vec<&str> = got.entries.iter().map(|e| e.id.0.as_str()).collect();
    assert_eq!(ids, ["charge-2026-01", "p1", "z-late", "adj1", "adj2", "r1"], "posting order");
    for e in &first {
        assert!(got.entries.contains(e), "round trip of {e:?}");
    }

    // A posting at an old version writes nothing.
    let late = payment("p2", at(t0 + 100, 0), "counter:k2", 1_000);
    assert_eq!(store.post_entries(a, 0, std::slice::from_ref(&late)).await?, Posted::Stale);
    assert_eq!(store.ledger_of(a).await?.entries.len(), 6);

    // The same key again: nothing written, the first posting returned (whatever the version).
    let again = payment("p1-again", at(t0 + 200, 0), "counter:k1", 5_000);
    let dup = store.post_entries(a, 1, std::slice::from_ref(&again)).await?;
    let Posted::Duplicate { prior } = dup else { panic!("expected a duplicate, got {dup:?}") };
    assert_eq!(prior.customer_id, a);
    assert_eq!(prior.entry, first[2]);
    // A key is unique across customers: another account's posting with it finds the first one.
    let other = payment("p9", at(t0 + 200, 0), "counter:k1", 5_000);
    let dup = store.post_entries("2301000002", 0, std::slice::from_ref(&other)).await?;
    assert!(matches!(&dup, Posted::Duplicate { prior } if prior.customer_id == a), "{dup:?}");
    assert_eq!(store.ledger_of("2301000002").await?.version, 0, "nothing written for the other account");
    assert_eq!(store.entry_by_key("counter:k1").await?.map(|p| p.entry.id), Some(EntryId("p1".into())));
    assert_eq!(store.entry_by_key("counter:none").await?, None);

    // A reversal cancels its entry once; the database refuses a second one.
    let rev = entry(
        "rev1",
        at(t0 + 300, 0),
        EntryKind::Reversal { of: EntryId("r1".into()), approved_by: "clerk2".into() },
    );
    assert_eq!(store.post_entries(a, 1, std::slice::from_ref(&rev)).await?, Posted::Done { version: 2 });
    let rev2 = entry(
        "rev2",
        at(t0 + 301, 0),
        EntryKind::Reversal { of: EntryId("r1".into()), approved_by: "clerk2".into() },
    );
    assert!(matches!(store.post_entries(a, 2, &[rev2]).await, Err(StoreError::Constraint { .. })));
    assert_eq!(store.ledger_of(a).await?.version, 2, "the refused reversal left the version as it was");

    // Sums per customer equal the fold's balance (the refund is reversed, so it does not count).
    let entries = store.ledger_of(a).await?.entries;
    let folded = fold(&entries);
    let sums = store.ledger_balances_of(&[a.to_string(), "2302000001".into()]).await?;
    assert_eq!(sums.len(), 1, "customers without entries are left out");
    let s = &sums[0];
    assert_eq!(s.balance, folded.balance());
    assert_eq!(
        (s.charged, s.late_fees, s.unbilled_adjustments, s.paid, s.refunded),
        (Fen(12_000), Fen(100), Fen(-1_000), Fen(5_000), Fen(0))
    );
    assert_eq!(s.balance, Fen(12_000 + 100 - 1_000 - 5_000));

    // Many customers: paging, scope.
    let b = "2302000001";
    store.post_entries(b, 0, &[charge("charge-2026-01", at(t0, 0), "2026-01", 777)]).await?;
    let all = store.ledger_balances(&Scope::All, None, 10).await?;
    assert_eq!(all.iter().map(|x| x.customer_id.as_str()).collect::<Vec<_>>(), [a, b]);
    let only_b = store.ledger_balances(&Scope::Bureaus(vec!["B".into()]), None, 10).await?;
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0].balance, Fen(777));
    assert_eq!(store.ledger_balances(&Scope::All, Some(a), 10).await?.len(), 1, "after the first");
    let page = store.ledgers_page(&Scope::All, None, 1).await?;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].entries, entries);
    assert_eq!(page[0].version, 2);
    let asked = store.ledgers_of(&[b.to_string(), "2301000003".into(), a.to_string()]).await?;
    assert_eq!(
        asked.iter().map(|l| (l.customer_id.as_str(), l.version)).collect::<Vec<_>>(),
        [(b, 1), ("2301000003", 0), (a, 2)]
    );
    assert_eq!(asked[2].entries, entries);

    // Groups: each is posted or refused on its own, in one transaction.
    let groups = vec![
        EntryGroup {
            customer_id: b.into(),
            expected_version: 1,
            entries: vec![payment("pb1", at(t0 + 400, 0), "bank:x:1", 777)],
        },
        EntryGroup {
            customer_id: b.into(),
            expected_version: 1,
            entries: vec![payment("pb2", at(t0 + 400, 0), "bank:x:2", 1)],
        },
        EntryGroup {
            customer_id: a.into(),
            expected_version: 2,
            entries: vec![payment("pa1", at(t0 + 400, 0), "counter:k1", 5_000)],
        },
    ];
    let out = store.post_entry_groups(&groups).await?;
    assert_eq!(out[0], Posted::Done { version: 2 });
    assert_eq!(out[1], Posted::Stale);
    assert!(matches!(&out[2], Posted::Duplicate { .. }));
    assert_eq!(store.ledger_balances_of(&[b.to_string()]).await?[0].balance, Fen(0));

    concurrent_postings(store).await
}

/// Eight tasks post the same payment at once, each reading, posting and reading again when
/// refused as stale, as the app does: exactly one row is written. Then eight different payments
/// race on one ledger at one version: exactly one wins, the rest are stale.
async fn concurrent_postings(store: &DynStore) -> anyhow::Result<()> {
    let c = "2301000003";
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                let l = store.ledger_of(c).await?;
                let p = payment(&format!("race-{i}"), at(1_767_300_000, i), "app:same-key", 10_000);
                match store.post_entries(c, l.version, &[p]).await? {
                    Posted::Stale => continue,
                    other => return Ok::<Posted, StoreError>(other),
                }
            }
            Ok(Posted::Stale)
        }));
    }
    let mut done = 0;
    let mut dups = 0;
    for t in tasks {
        match t.await?? {
            Posted::Done { .. } => done += 1,
            Posted::Duplicate { prior } => {
                assert_eq!(prior.customer_id, c);
                dups += 1;
            }
            Posted::Stale => panic!("a task never got an answer"),
        }
    }
    assert_eq!((done, dups), (1, 7));
    let l = store.ledger_of(c).await?;
    assert_eq!(l.entries.len(), 1, "one payment however often it was sent");

    let v = l.version;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let p = payment(&format!("v-{i}"), at(1_767_400_000, i), &format!("app:k-{i}"), 100);
            store.post_entries(c, v, &[p]).await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await??);
    }
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Posted::Done { .. })).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == Posted::Stale).count(), 7);
    assert_eq!(store.ledger_of(c).await?.entries.len(), 2);
    Ok(())
}
