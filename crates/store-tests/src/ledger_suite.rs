//! The ledger on every store: entries in posting order, the version guard, idempotency keys that
//! the database itself keeps unique (also under concurrent postings), and sums per customer.
//!
//! Runs after `customers` in the suite: customers 2301000001–2301000003 are in bureau A, 2302000001
//! in bureau B.

use bureau_domain::ledger::{fold, BillId, Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_domain::tariff::BillPeriod;
use bureau_store::*;

pub(crate) fn at(second: i64, micro: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(second * 1_000_000 + micro).unwrap()
}

pub(crate) fn entry(id: &str, t: jiff::Timestamp, kind: EntryKind) -> Entry {
    Entry {
        id: EntryId(id.into()),
        at: t,
        by: "clerk1".into(),
        channel: Channel::Counter,
        reason: format!("test {id}"),
        kind,
    }
}

pub(crate) fn charge(id: &str, t: jiff::Timestamp, period: &str, fen: i64) -> Entry {
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

pub(crate) fn payment(id: &str, t: jiff::Timestamp, key: &str, fen: i64) -> Entry {
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
            settle_through: None,
        },
        EntryGroup {
            customer_id: b.into(),
            expected_version: 1,
            entries: vec![payment("pb2", at(t0 + 400, 0), "bank:x:2", 1)],
            settle_through: None,
        },
        EntryGroup {
            customer_id: a.into(),
            expected_version: 2,
            entries: vec![payment("pa1", at(t0 + 400, 0), "counter:k1", 5_000)],
            settle_through: None,
        },
    ];
    let out = store.post_entry_groups(&groups).await?;
    assert_eq!(out[0], Posted::Done { version: 2 });
    assert_eq!(out[1], Posted::Stale);
    assert!(matches!(&out[2], Posted::Duplicate { .. }));
    assert_eq!(store.ledger_balances_of(&[b.to_string()]).await?[0].balance, Fen(0));

    concurrent_postings(store).await
}

/// What a bank file needs of the store. Runs last in the suite (it adds a thousand customers).
pub(crate) async fn bank_files(store: &DynStore) -> anyhow::Result<()> {
    bank_batches(store).await?;
    many_groups(store).await
}

/// A chunk of a bank file: over a thousand groups in one call (more than one statement's worth),
/// new ledgers and existing ones, the same customer twice, a key used twice in the call, keys
/// posted before and stale versions: each group's outcome is what posting the groups one by one
/// in order gives.
async fn many_groups(store: &DynStore) -> anyhow::Result<()> {
    let n = 1_100;
    let ids: Vec<String> = (0..n).map(|i| format!("24{i:08}")).collect();
    let people: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| crate::suite::customer(id, "A", "李四", "和平县", &format!("138{i:08}")))
        .collect();
    store.insert_customers(&people).await?;
    let t = 1_767_500_000;
    let group = |id: &str, v: i64, key: &str, fen: i64| EntryGroup {
        customer_id: id.to_string(),
        expected_version: v,
        entries: vec![payment(&format!("pay-{key}"), at(t, 0), key, fen)],
        settle_through: None,
    };
    let mut groups: Vec<EntryGroup> =
        ids.iter().enumerate().map(|(i, id)| group(id, 0, &format!("bulk:{i}"), 100)).collect();
    groups.push(group(&ids[0], 1, "bulk:again", 5)); // after the first group of ids[0]: done at 2
    groups.push(group(&ids[1], 0, "bulk:1b", 5)); // ids[1] has a ledger by now: stale
    groups.push(group(&ids[5], 1, "bulk:3", 5)); // the key of group 3 in this very call: duplicate
    groups.push(group("2301000003", 0, "bulk:old", 5)); // a ledger that exists: stale
    let out = store.post_entry_groups(&groups).await?;
    assert!(out[..n].iter().all(|o| *o == Posted::Done { version: 1 }), "{:?}", &out[..3]);
    assert_eq!(out[n], Posted::Done { version: 2 });
    assert_eq!(out[n + 1], Posted::Stale);
    assert!(
        matches!(&out[n + 2], Posted::Duplicate { prior } if prior.customer_id == ids[3]),
        "{:?}",
        out[n + 2]
    );
    assert_eq!(out[n + 3], Posted::Stale);
    let l0 = store.ledger_of(&ids[0]).await?;
    assert_eq!((l0.version, l0.entries.len()), (2, 2));
    let l5 = store.ledger_of(&ids[5]).await?;
    assert_eq!((l5.version, l5.entries.len()), (1, 1), "the duplicate wrote nothing");
    assert_eq!(store.entry_by_key("bulk:1b").await?, None);

    // Again over the same ledgers: the right version for even customers, a stale one for odd ones,
    // a key posted before for every tenth.
    let groups: Vec<EntryGroup> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let v = if i == 0 { 2 } else { 1 };
            let key = if i % 10 == 0 { format!("bulk:{i}") } else { format!("bulk2:{i}") };
            group(id, if i % 2 == 0 { v } else { v + 7 }, &key, 100)
        })
        .collect();
    let out = store.post_entry_groups(&groups).await?;
    for (i, o) in out.iter().enumerate() {
        let want_done = i % 10 != 0 && i % 2 == 0;
        match o {
            Posted::Done { version } => assert!(want_done && *version == 2, "{i}: {o:?}"),
            Posted::Stale => assert!(i % 10 != 0 && i % 2 == 1, "{i}: {o:?}"),
            Posted::Duplicate { prior } => assert!(i % 10 == 0 && prior.customer_id == ids[i], "{i}: {o:?}"),
        }
    }
    let sums = store.ledger_balances_of(&ids).await?;
    assert_eq!(sums.len(), n);
    let paid: i64 = sums.iter().map(|s| s.paid.0).sum();
    let done_now = (0..n).filter(|i| i % 10 != 0 && i % 2 == 0).count() as i64;
    assert_eq!(paid, n as i64 * 100 + 5 + done_now * 100, "every payment once, nothing else");
    Ok(())
}

/// What a bank file needs: customers and posted keys looked up many at a time (more than one
/// statement's worth, and with unknown ids and keys mixed in), and the record of batches.
async fn bank_batches(store: &DynStore) -> anyhow::Result<()> {
    let mut ids: Vec<String> = (0..1_200).map(|i| format!("99{i:08}")).collect();
    ids.extend(["2302000001".to_string(), "2301000002".into(), "2301000002".into()]);
    let found = store.customers_by_ids(&ids).await?;
    assert_eq!(
        found.iter().map(|c| (c.id.as_str(), c.bureau_id.as_str())).collect::<Vec<_>>(),
        [("2301000002", "A"), ("2302000001", "B")],
        "the known ones, once each, in account order"
    );
    assert!(store.customers_by_ids(&[]).await?.is_empty());

    let mut keys: Vec<String> = (0..1_100).map(|i| format!("bank:none:{i}")).collect();
    keys.push("bank:x:1".into());
    keys.push("counter:k1".into());
    let mut got: Vec<(String, String)> =
        store.entries_with_keys(&keys).await?.into_iter().map(|c| (c.customer_id, c.entry.id.0)).collect();
    got.sort();
    assert_eq!(got, [("2301000001".to_string(), "p1".to_string()), ("2302000001".into(), "pb1".into())]);

    let batch = |id: &str, bureau: &str, started_at: i64| BankBatchRecord {
        batch_id: id.into(),
        bureau_id: bureau.into(),
        bank: "ICBC".into(),
        file_name: "icbc-20261127.csv".into(),
        posted_by: "clerk1".into(),
        started_at,
        finished_at: started_at + 3,
        lines: 5,
        posted: 3,
        duplicate: 1,
        rejected: 1,
        posted_amount: Fen(123_456),
        has_result: true,
    };
    let file = |n: &str| BankBatchResultFile {
        zh: format!(
            "line,account_no,amount,bank_ref,status,code,message\n2,2301000001,1.00,{n},posted,,已入账\n"
        ),
        en: format!(
            "line,account_no,amount,bank_ref,status,code,message\n2,2301000001,1.00,{n},posted,,posted\n"
        ),
    };
    store.save_bank_batch(&batch("bank-1", "A", 1_800_000_000), &file("r1")).await?;
    store.save_bank_batch(&batch("bank-2", "B", 1_800_000_100), &file("r2")).await?;
    assert!(
        store.save_bank_batch(&batch("bank-2", "B", 1_800_000_200), &file("r3")).await.is_err(),
        "an id is kept once"
    );
    let list = store.list_bank_batches(&Scope::All, 10).await?;
    assert_eq!(
        list,
        [batch("bank-2", "B", 1_800_000_100), batch("bank-1", "A", 1_800_000_000)],
        "newest first"
    );
    assert_eq!(store.list_bank_batches(&Scope::All, 1).await?.len(), 1);
    // By scope: a bureau's staff see its batches only.
    let only_a = store.list_bank_batches(&Scope::Bureaus(vec!["A".into()]), 10).await?;
    assert_eq!(only_a, [batch("bank-1", "A", 1_800_000_000)]);
    assert!(store.list_bank_batches(&Scope::Bureaus(vec!["C".into()]), 10).await?.is_empty());
    assert!(store.list_bank_batches(&Scope::Bureaus(vec![]), 10).await?.is_empty());
    // The result file, as saved; an unknown batch has none.
    let (record, got) = store.bank_batch_result("bank-2").await?.expect("saved");
    assert_eq!((record, got), (batch("bank-2", "B", 1_800_000_100), Some(file("r2"))));
    assert_eq!(store.bank_batch_result("bank-9").await?, None);
    Ok(())
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
