//! Settled marks on both databases: a bank file decided on the open part of each ledger (the
//! entries after its settled mark) posts exactly what the counter's rule gives on the whole ledger,
//! for customers who paid on time, paid late, prepaid or stopped paying; and the marks it leaves
//! behind decide the next file the same way.

use bureau_app::access::Actor;
use bureau_app::billing::{self, RunOptions};
use bureau_app::demo::{self, DemoOptions};
use bureau_app::payments;
use bureau_domain::late_fee::{LateFeeClass, LateFeeRules};
use bureau_domain::ledger::{Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{DynStore, Scope};
use bureau_store_tests::TestDb;
use std::collections::BTreeMap;

/// What the counter's rule posts for each line of `file` (one line per account), each decided on
/// the account's whole ledger: the kinds of the entries, late fees first.
async fn expected(
    store: &DynStore,
    lines: &[(String, Fen, jiff::Timestamp)],
) -> anyhow::Result<BTreeMap<String, Vec<EntryKind>>> {
    let mut out = BTreeMap::new();
    for (id, amount, at) in lines {
        let ledger = store.ledger_of(id).await?;
        let customer = store.get_customer(&Scope::All, id).await?;
        let class = LateFeeClass::from(customer.class);
        let p = payments::NewPayment {
            customer,
            amount: *amount,
            key: IdempotencyKey::parse("key", "bank:T:x")?,
            channel: Channel::BankWithhold,
            by: "clerk".into(),
            reason: String::new(),
            at: *at,
        };
        let made = payments::payment_entries(
            &ledger.entries,
            LateFeeRules::builtin(),
            class,
            &p,
            EntryId("x".into()),
        );
        out.insert(id.clone(), made.into_iter().map(|e| kind_without_key(&e)).collect());
    }
    Ok(out)
}

/// What each ledger owes with the late fees a payment of all of it on `on` makes payable.
async fn owed_with_fees(store: &DynStore, ids: &[String], on: jiff::civil::Date) -> anyhow::Result<Vec<Fen>> {
    let at = bureau_domain::calendar::beijing::instant(on.at(10, 0, 0, 0))?;
    let lines: Vec<(String, Fen, jiff::Timestamp)> =
        ids.iter().map(|id| (id.clone(), Fen(100_000_000), at)).collect();
    let fees = expected(store, &lines).await?;
    let mut out = Vec::new();
    for id in ids {
        let state = bureau_domain::ledger::fold(&store.ledger_of(id).await?.entries);
        let fee: i64 = fees[id]
            .iter()
            .map(|k| match k {
                EntryKind::LateFee { amount, .. } => amount.0,
                _ => 0,
            })
            .sum();
        out.push(Fen(state.balance().0 + fee));
    }
    Ok(out)
}

/// An entry's kind with the payment's key blanked (keys differ per file).
fn kind_without_key(e: &Entry) -> EntryKind {
    match &e.kind {
        EntryKind::Payment { amount, .. } => {
            EntryKind::Payment { amount: *amount, key: IdempotencyKey::parse("key", "bank:T:x").unwrap() }
        }
        other => other.clone(),
    }
}

/// What a posted file wrote for each account: its payment with the payment's late fees.
async fn posted(
    store: &DynStore,
    ids: &[String],
    series: &str,
) -> anyhow::Result<BTreeMap<String, Vec<EntryKind>>> {
    let mut out = BTreeMap::new();
    for id in ids {
        let entries = store.ledger_of(id).await?.entries;
        let pay = entries
            .iter()
            .find(|e| matches!(&e.kind, EntryKind::Payment { key, .. } if key.as_str().contains(series)))
            .expect("the line's payment");
        let fees = format!("fee-{}-", pay.id.0.trim_start_matches("pay-"));
        let mut kinds: Vec<EntryKind> =
            entries.iter().filter(|e| e.id.0.starts_with(&fees)).map(kind_without_key).collect();
        kinds.push(kind_without_key(pay));
        out.insert(id.clone(), kinds);
    }
    Ok(out)
}

/// A bank file paying `amount(i)` on every ledger at `on` 10:00, bank refs `<series><i>`.
fn file(
    ids: &[String],
    series: &str,
    on: jiff::civil::Date,
    amount: Box<dyn Fn(usize) -> Fen + Send>,
) -> (String, Vec<(String, Fen, jiff::Timestamp)>) {
    let mut text = String::from("account_no,amount,paid_at,bank_ref,mode\n");
    let mut lines = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let fen = amount(i);
        text.push_str(&format!("{id},{fen},{on} 10:00:00,{series}{i},withhold\n"));
        let at = bureau_domain::calendar::beijing::instant(on.at(10, 0, 0, 0)).unwrap();
        lines.push((id.clone(), fen, at));
    }
    (text, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_file_decides_on_the_open_part_as_on_the_whole_ledger() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        let mut o = DemoOptions::new(jiff::civil::date(2026, 11, 27));
        o.customers = 80;
        o.months = 5; // bills for 2026-07 … 2026-10, paid on time, late, ahead or not at all
        demo::generate(&db.store, &o).await?;
        let system = Actor::system();
        // October billed too: an open bill, due in November, on top of the settled months.
        let period = BillPeriod::new("period", 2026, 10)?;
        billing::run(
            &db.store,
            &system,
            &TariffBook::builtin(),
            &RunOptions::new(period, period.last_day()),
            &|_| {},
        )
        .await?;
        let ids: Vec<String> = db
            .store
            .ledgers_page(&Scope::All, None, 10_000)
            .await?
            .into_iter()
            .map(|l| l.customer_id)
            .collect();
        assert!(ids.len() >= 70, "{} ledgers", ids.len());

        // Late in November: every open bill is overdue.
        let on = jiff::civil::date(2026, 11, 26);
        let post = |series: &'static str, amount: Box<dyn Fn(usize) -> Fen + Send>| {
            let (store, ids) = (db.store.clone(), ids.clone());
            async move {
                let (text, lines) = file(&ids, series, on, amount);
                let want = expected(&store, &lines).await?;
                let input = payments::BankBatchInput { bank: "T", file_name: "f.csv", text: &text, chunk: 9 };
                let r = payments::post_bank_batch(&store, &Actor::system(), LateFeeRules::builtin(), &input)
                    .await?;
                assert_eq!(
                    r.summary.posted,
                    ids.len() as u64,
                    "{series}: {:?}",
                    r.results.iter().find(|l| !l.code.is_empty())
                );
                let got = posted(&store, &ids, &format!(":{series}")).await?;
                assert_eq!(got, want, "file {series}: the open part decides as the whole ledger");
                anyhow::Ok(got)
            }
        };

        // File A, part of the arrears, on ledgers without marks: read whole, and each posting
        // marks the settled months before the open October bill.
        let got = post("A", Box::new(|i| Fen(1_000 + 37 * i as i64))).await?;
        assert!(
            got.values().flatten().any(|k| matches!(k, EntryKind::LateFee { .. })),
            "some lines reach overdue bills"
        );
        let open = db.store.open_ledgers_of(&ids).await?;
        let read: usize = open.iter().map(|l| l.entries.len()).sum();
        let whole: usize = db.store.ledgers_of(&ids).await?.iter().map(|l| l.entries.len()).sum();
        assert!(read * 2 < whole, "after file A a payment reads {read} of {whole} entries");

        // The walk over every ledger finds the marks the bank file set, and sets no other; again,
        // nothing changes.
        let marks = payments::mark_settled_ledgers(&db.store, &system).await?;
        assert_eq!(marks.ledgers, ids.len() as u64);
        assert_eq!(db.store.open_ledgers_of(&ids).await?, open, "the bank file's marks are the walk's");
        assert_eq!(payments::mark_settled_ledgers(&db.store, &system).await?, marks);

        // B: exactly what is owed with its late fees (a ledger with nothing owed pays 1 yuan
        // ahead); C: a little, on the marks B's postings left.
        let owed = owed_with_fees(&db.store, &ids, on).await?;
        post("B", Box::new(move |i| owed[i].max(Fen(100)))).await?;
        post("C", Box::new(|i| Fen(7 + i as i64))).await?;
        // The marks moved up with the payments that settled everything (file B): a ledger's open
        // part is now at most file C's payment, or B's prepayment and C's.
        let open = db.store.open_ledgers_of(&ids).await?;
        let short = open.iter().filter(|l| l.entries.len() <= 2).count();
        assert!(short * 10 > ids.len() * 9, "{short} of {} ledgers read short after file B", ids.len());
        let read: usize = open.iter().map(|l| l.entries.len()).sum();
        let whole: usize = db.store.ledgers_of(&ids).await?.iter().map(|l| l.entries.len()).sum();
        assert!(read * 5 < whole, "after three files a payment reads {read} of {whole} entries");
        db.destroy().await?;
    }
    Ok(())
}
