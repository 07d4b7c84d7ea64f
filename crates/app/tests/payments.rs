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
    o.payments = false; // every bill still open
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

async fn staff_actor(db: &TestDb, id: &str) -> anyhow::Result<Actor> {
    let staff = db.store.get_staff(id).await?;
    let units = db.store.list_org_units().await?;
    Ok(Actor::for_staff(&staff, &units))
}

/// A customer with two open bills (2026-08, 2026-09) in the small demo, and its September due date.
async fn customer_with_bills(db: &TestDb) -> anyhow::Result<(String, jiff::civil::Date)> {
    let bills = db.store.list_bills(&Scope::All, "2026-09", None, 10_000).await?;
    let b = bills.iter().find(|b| b.total > Fen(5_000)).expect("a bill above 50 yuan");
    Ok((b.customer_id.clone(), b.due_on.as_deref().unwrap().parse()?))
}

fn form(account: &str, amount: &str, key: &str) -> payments::PaymentForm {
    payments::PaymentForm {
        account_no: account.into(),
        amount: amount.into(),
        idempotency_key: key.into(),
        method: None,
    }
}

/// What the counter sees of an account, for "nothing changed" comparisons.
fn position(a: &payments::Account) -> (Fen, Fen, Fen, Vec<(String, Fen, Fen)>) {
    let bills =
        a.state.bills.iter().map(|b| (b.bill.0.clone(), b.charge_open(), b.late_fee_open())).collect();
    (a.balance, a.credit, a.arrears, bills)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_posts_once_however_often_it_is_sent() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let rules = LateFeeRules::builtin();
        let clerk = staff_actor(&db, "clerk").await?;
        let (id, _) = customer_with_bills(&db).await?;

        let first = payments::take_payment(&db.store, &clerk, rules, &form(&id, "30.00", "ui-0001")).await?;
        assert!(!first.duplicate);
        let again = payments::take_payment(&db.store, &clerk, rules, &form(&id, "30.00", "ui-0001")).await?;
        assert!(again.duplicate);
        assert_eq!(again.payment.id, first.payment.id);
        assert_eq!(again.receipt, first.receipt);

        // Eight submissions of one new key at the same moment: one payment.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (store, clerk, id) = (db.store.clone(), clerk.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                payments::take_payment(
                    &store,
                    &clerk,
                    LateFeeRules::builtin(),
                    &form(&id, "12.34", "ui-0002"),
                )
                .await
            }));
        }
        let mut ids = std::collections::HashSet::new();
        let mut fresh = 0;
        for t in tasks {
            let r = t.await??;
            ids.insert(r.payment.id.clone());
            fresh += usize::from(!r.duplicate);
        }
        assert_eq!((ids.len(), fresh), (1, 1), "one payment posted, seven answered as duplicates");
        let l = db.store.ledger_of(&id).await?;
        let pays = l.entries.iter().filter(|e| matches!(e.kind, EntryKind::Payment { .. })).count();
        assert_eq!(pays, 2);

        // The same key with another amount or for another account is a conflict, and posts nothing.
        let v = l.version;
        let e = payments::take_payment(&db.store, &clerk, rules, &form(&id, "30.01", "ui-0001"))
            .await
            .unwrap_err();
        assert!(matches!(&e, bureau_app::AppError::Conflict(f) if f.field == "amount"), "{e:?}");
        let other = db.store.list_bills(&Scope::All, "2026-09", None, 10).await?[0].customer_id.clone();
        if other != id {
            let e = payments::take_payment(&db.store, &clerk, rules, &form(&other, "30.00", "ui-0001"))
                .await
                .unwrap_err();
            assert!(matches!(&e, bureau_app::AppError::Conflict(f) if f.field == "account_no"), "{e:?}");
        }
        assert_eq!(db.store.ledger_of(&id).await?.version, v);
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_leaves_every_balance_unchanged() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let rules = LateFeeRules::builtin();
        let clerk = staff_actor(&db, "clerk").await?;
        let (id, _) = customer_with_bills(&db).await?;
        let before = db.store.ledger_balances(&Scope::All, None, 10_000).await?;
        let cases: Vec<(payments::PaymentForm, &str, &str)> = vec![
            (form(&id, "-5.00", "k1"), "amount", "negative"),
            (form(&id, "12.345", "k2"), "amount", "invalid"),
            (form(&id, "abc", "k3"), "amount", "invalid"),
            (form(&id, "0", "k4"), "amount", "zero"),
            (form(&id, "1e3", "k5"), "amount", "invalid"),
            (form(&id, "10.00", ""), "idempotency_key", "required"),
            (form(&id, "10.00", "has space"), "idempotency_key", "invalid"),
            (form("2399999999", "10.00", "k6"), "account_no", "unknown"),
            (form("12", "10.00", "k7"), "account_no", "invalid"),
        ];
        for (f, field, code) in cases {
            let e = payments::take_payment(&db.store, &clerk, rules, &f).await.unwrap_err();
            let bureau_app::AppError::Invalid(errs) = &e else { panic!("{f:?}: {e:?}") };
            assert!(errs.iter().any(|x| x.field == field && x.code == code), "{f:?}: {errs:?}");
            assert!(errs.iter().all(|x| !x.message.zh.is_empty() && !x.message.en.is_empty()));
        }
        // Every error at once.
        let e = payments::take_payment(&db.store, &clerk, rules, &form("", "-1", "")).await.unwrap_err();
        let bureau_app::AppError::Invalid(errs) = e else { panic!() };
        assert_eq!(errs.len(), 3, "{errs:?}");
        // A refund above the credit and a reversal without an approver change nothing either.
        let r = payments::refund_credit(
            &db.store,
            &clerk,
            rules,
            &payments::RefundForm {
                account_no: id.clone(),
                amount: "1.00".into(),
                reason: "test".into(),
                version: db.store.ledger_of(&id).await?.version,
                approver: "manager".into(),
                approver_password: "demo2026".into(),
            },
        )
        .await;
        assert!(matches!(r, Err(bureau_app::AppError::Invalid(_))), "{r:?}");
        assert_eq!(db.store.ledger_balances(&Scope::All, None, 10_000).await?, before);
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_fees_reversal_and_refund() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let rules = LateFeeRules::builtin();
        let clerk = staff_actor(&db, "clerk").await?;
        let (id, due) = customer_with_bills(&db).await?;
        let customer = db.store.get_customer(&Scope::All, &id).await?;
        let on = due.checked_add(jiff::Span::new().days(15))?;
        let at = bureau_domain::calendar::beijing::instant(on.at(10, 0, 1, 0))?; // line 1 of the file
        let before = payments::customer_account(&db.store, &clerk, rules, &id, Some(on)).await?;
        assert_eq!(before.open_bills.len(), 2);
        let expected_fees: Vec<Fen> = before.open_bills.iter().map(|b| b.late_fee_to_date).collect();
        assert!(expected_fees.iter().all(|f| *f >= Fen(100)), "{expected_fees:?}");

        // Paying everything shown as "to clear" posts both bills' late fees and leaves nothing owed.
        let p = payments::NewPayment {
            customer: customer.clone(),
            amount: before.to_clear,
            key: bureau_domain::ledger::IdempotencyKey::parse("k", "late-1")?,
            channel: bureau_domain::ledger::Channel::Counter,
            by: "clerk".into(),
            reason: "柜台缴费（现金）".into(),
            at,
        };
        let paid = payments::post_payment(&db.store, rules, p.clone()).await?;
        let fees: Vec<Fen> = paid
            .late_fees
            .iter()
            .map(|e| match e.kind {
                EntryKind::LateFee { amount, .. } => amount,
                _ => Fen::ZERO,
            })
            .collect();
        assert_eq!(fees, expected_fees);
        assert_eq!(paid.account.balance, Fen::ZERO);
        assert_eq!(paid.receipt.amount, before.to_clear);
        assert_eq!(paid.receipt.to_credit, Fen::ZERO);
        let on_receipt: Fen = paid.receipt.lines.iter().map(|l| l.charge + l.late_fee).sum();
        assert_eq!(on_receipt, before.to_clear, "the receipt's lines add up to the payment");

        // A reversal needs a second person with the manager role and the right password.
        let rev = |approver: &str, password: &str, reason: &str| payments::ReversalForm {
            account_no: id.clone(),
            entry_id: paid.payment.id.0.clone(),
            reason: reason.into(),
            approver: approver.into(),
            approver_password: password.into(),
        };
        for (f, code) in [
            (rev("clerk", "demo2026", "收错户"), "same_person"),
            (rev("manager", "wrong", "收错户"), "wrong_credentials"),
            (rev("nobody", "demo2026", "收错户"), "wrong_credentials"),
            (rev("", "", "收错户"), "required"),
        ] {
            let e = payments::reverse_entry(&db.store, &clerk, rules, &f).await.unwrap_err();
            assert!(matches!(&e, bureau_app::AppError::Invalid(v) if v[0].code == code), "{code}: {e:?}");
        }
        let e = payments::reverse_entry(&db.store, &clerk, rules, &rev("manager", "demo2026", " "))
            .await
            .unwrap_err();
        assert!(matches!(&e, bureau_app::AppError::Invalid(v) if v[0].field == "reason"), "{e:?}");

        // Approved: the payment and its late fees are cancelled; the balances are exactly as before.
        let done =
            payments::reverse_entry(&db.store, &clerk, rules, &rev("manager", "demo2026", "收错户")).await?;
        assert_eq!(done.reversals.len(), 3);
        let after = payments::customer_account(&db.store, &clerk, rules, &id, Some(on)).await?;
        assert_eq!(position(&after), position(&before));
        assert_eq!(after.late_fee_to_date, before.late_fee_to_date);
        let e = payments::reverse_entry(&db.store, &clerk, rules, &rev("manager", "demo2026", "再冲"))
            .await
            .unwrap_err();
        assert!(matches!(&e, bureau_app::AppError::Invalid(v) if v[0].code == "duplicate"), "{e:?}");
        // The reversed payment's key stays spent: resending it is answered as reversed, not posted.
        let e = payments::post_payment(&db.store, rules, p).await.unwrap_err();
        assert!(matches!(&e, bureau_app::AppError::Conflict(f) if f.code == "reversed"), "{e:?}");

        // Overpaying leaves credit; a refund takes back at most the credit, once.
        let now = payments::customer_account(&db.store, &clerk, rules, &id, None).await?;
        let amount = format!("{}", now.to_clear + Fen(10_000));
        let over = payments::take_payment(&db.store, &clerk, rules, &form(&id, &amount, "over-1")).await?;
        let credit = over.account.credit;
        assert_eq!(credit, Fen(10_000), "the late fees to date were posted with it and paid first");
        assert_eq!(over.account.balance, -credit);
        let version = db.store.ledger_of(&id).await?.version;
        let refund_by = |amount: &str, approver: &str, password: &str| payments::RefundForm {
            account_no: id.clone(),
            amount: amount.into(),
            reason: "销户退费".into(),
            version,
            approver: approver.into(),
            approver_password: password.into(),
        };
        let refund = |amount: &str| refund_by(amount, "manager", "demo2026");
        // A refund needs a second person's approval, like a reversal: nothing moves without it.
        let credit_text = format!("{credit}");
        for (approver, password, code) in [
            ("", "", "required"),
            ("clerk", "demo2026", "same_person"),
            ("manager", "wrong", "wrong_credentials"),
            ("agent", "demo2026", "not_allowed"),
        ] {
            let e = payments::refund_credit(
                &db.store,
                &clerk,
                rules,
                &refund_by(&credit_text, approver, password),
            )
            .await
            .unwrap_err();
            assert!(
                matches!(&e, bureau_app::AppError::Invalid(v) if v[0].field == "approver" && v[0].code == code),
                "{approver}: {e:?}"
            );
        }
        assert_eq!(db.store.ledger_of(&id).await?.version, version, "a refund refused moved nothing");
        let too_much = format!("{}", credit + Fen(1));
        let e = payments::refund_credit(&db.store, &clerk, rules, &refund(&too_much)).await.unwrap_err();
        assert!(matches!(&e, bureau_app::AppError::Invalid(v) if v[0].code == "exceeds_credit"), "{e:?}");
        let r = payments::refund_credit(&db.store, &clerk, rules, &refund(&format!("{credit}"))).await?;
        assert!(r.refund.reason.contains("审批：manager"), "the approver is recorded: {}", r.refund.reason);
        assert_eq!(r.account.credit, Fen::ZERO);
        assert_eq!(r.account.balance, Fen::ZERO);
        let e = payments::refund_credit(&db.store, &clerk, rules, &refund("1.00")).await.unwrap_err();
        assert!(
            matches!(&e, bureau_app::AppError::Conflict(f) if f.code == "stale"),
            "a resent form refunds once: {e:?}"
        );
        db.destroy().await?;
    }
    Ok(())
}

/// A bank file: each payment is posted with the late fees it makes payable, exactly as the counter
/// would post it on the bank's day; a run cut short and run again (here: the first half of the file,
/// then the whole file) posts every line exactly once; the same file again posts nothing; two
/// uploads of one file at once post each line once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_file_posts_each_line_once_with_its_late_fees() -> anyhow::Result<()> {
    use bureau_domain::ledger::bank_file::LineStatus;
    use bureau_domain::ledger::{Channel, EntryId, IdempotencyKey};
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let rules = LateFeeRules::builtin();
        let clerk = staff_actor(&db, "clerk").await?;
        let (id, due) = customer_with_bills(&db).await?;
        let on = due.checked_add(jiff::Span::new().days(15))?;

        // What the counter's rule gives for the first line on the ledger as it is now.
        let ledger = db.store.ledger_of(&id).await?;
        let customer = db.store.get_customer(&Scope::All, &id).await?;
        let class = bureau_domain::late_fee::LateFeeClass::from(customer.class);
        let at = bureau_domain::calendar::beijing::instant(on.at(10, 0, 1, 0))?; // line 1 of the file
        let first = payments::NewPayment {
            customer,
            amount: Fen(2_000),
            key: IdempotencyKey::parse("key", "bank:ICBC:L01")?,
            channel: Channel::BankWithhold,
            by: "clerk".into(),
            reason: String::new(),
            at,
        };
        let want: Vec<EntryKind> =
            payments::payment_entries(&ledger.entries, rules, class, &first, EntryId("x".into()))
                .into_iter()
                .filter(|e| matches!(e.kind, EntryKind::LateFee { .. }))
                .map(|e| e.kind)
                .collect();
        assert!(!want.is_empty(), "the first payment reaches an overdue bill");

        let others: Vec<String> = db
            .store
            .list_bills(&Scope::All, "2026-09", None, 50)
            .await?
            .into_iter()
            .map(|b| b.customer_id)
            .filter(|c| *c != id)
            .take(3)
            .collect();
        let mut text = String::from("account_no,amount,paid_at,bank_ref,mode\n");
        for n in 1..=12 {
            let who = if n % 4 == 1 { &id } else { &others[n % 3] };
            let amount = if n == 1 { "20.00".to_string() } else { format!("{n}.{n:02}") };
            text.push_str(&format!("{who},{amount},{on} 10:00:{n:02},L{n:02},withhold\n"));
        }
        let half: String = text.lines().take(7).map(|l| format!("{l}\n")).collect();
        let post = |text: String, chunk: usize| {
            let (store, clerk) = (db.store.clone(), clerk.clone());
            async move {
                let input = payments::BankBatchInput { bank: "ICBC", file_name: "f.csv", text: &text, chunk };
                payments::post_bank_batch(&store, &clerk, LateFeeRules::builtin(), &input).await
            }
        };
        let r = post(half, 4).await?;
        assert_eq!((r.summary.posted, r.summary.duplicate, r.summary.rejected), (6, 0, 0));
        let r = post(text.clone(), 5).await?;
        assert_eq!((r.summary.posted, r.summary.duplicate, r.summary.rejected), (6, 6, 0), "{:?}", r.results);
        let statuses: Vec<LineStatus> = r.results.iter().map(|l| l.status).collect();
        assert!(
            statuses[..6].iter().all(|s| *s == LineStatus::Duplicate)
                && statuses[6..].iter().all(|s| *s == LineStatus::Posted)
        );
        assert_eq!(
            r.results.iter().map(|l| l.line).collect::<Vec<_>>(),
            (2..=13).collect::<Vec<_>>(),
            "input order"
        );

        let l = db.store.ledger_of(&id).await?;
        let pay = l
            .entries
            .iter()
            .find(|e| matches!(&e.kind, EntryKind::Payment { key, .. } if key.as_str() == "bank:ICBC:L01"))
            .expect("the first line's payment");
        assert_eq!(
            (pay.at, pay.channel, pay.reason.as_str()),
            (at, Channel::BankWithhold, "银行代扣（ICBC）")
        );
        let prefix = format!("fee-{}-", pay.id.0.trim_start_matches("pay-"));
        let got: Vec<EntryKind> =
            l.entries.iter().filter(|e| e.id.0.starts_with(&prefix)).map(|e| e.kind.clone()).collect();
        assert_eq!(got, want, "the late fees the counter would post");
        let pays = l.entries.iter().filter(|e| matches!(e.kind, EntryKind::Payment { .. })).count();
        assert_eq!(pays, 3, "lines 2, 6 and 10 of the file, once each");

        // The same file again, and a fresh file twice at once.
        let v = db.store.ledger_of(&id).await?.version;
        let r = post(text.clone(), 0).await?;
        assert_eq!((r.summary.posted, r.summary.duplicate), (0, 12));
        assert_eq!(db.store.ledger_of(&id).await?.version, v);
        let fresh = text.replace(",L", ",M");
        let (a, b) = tokio::join!(tokio::spawn(post(fresh.clone(), 3)), tokio::spawn(post(fresh, 3)));
        let (a, b) = (a??, b??);
        assert_eq!(a.summary.posted + b.summary.posted, 12);
        assert_eq!(a.summary.duplicate + b.summary.duplicate, 12);
        let pays = db
            .store
            .ledger_of(&id)
            .await?
            .entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Payment { .. }))
            .count();
        assert_eq!(pays, 6);
        db.destroy().await?;
    }
    Ok(())
}

/// The batches posted are listed to the staff of the poster's bureau (scope), and each keeps its
/// result file, downloadable later in either language exactly as it was answered; another bureau's
/// staff neither list it nor read its file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_batch_is_listed_by_scope_and_keeps_its_result_file() -> anyhow::Result<()> {
    use bureau_domain::i18n::Lang;
    use bureau_domain::ledger::bank_file::format_results;
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let clerk = staff_actor(&db, "clerk").await?;
        assert!(!clerk.bureau_id.is_empty());
        let (id, due) = customer_with_bills(&db).await?;
        let text = format!(
            "account_no,amount,paid_at,bank_ref,mode\n{id},12.34,{due} 09:00:00,S1,collect\n9999999999,1.00,{due} 09:00:00,S2,collect\n{id},-1,{due},S3,collect\n"
        );
        let input = payments::BankBatchInput { bank: "BOC", file_name: "boc.csv", text: &text, chunk: 0 };
        let r = payments::post_bank_batch(&db.store, &clerk, LateFeeRules::builtin(), &input).await?;
        assert_eq!((r.summary.posted, r.summary.rejected), (1, 2));
        let batch = &r.summary.batch_id;

        let mine = payments::bank_batches(&db.store, &clerk, 10).await?;
        assert_eq!(mine.iter().map(|b| b.batch_id.as_str()).collect::<Vec<_>>(), [batch.as_str()]);
        assert_eq!((mine[0].bureau_id.as_str(), mine[0].has_result), (clerk.bureau_id.as_str(), true));
        for lang in [Lang::Zh, Lang::En] {
            let file = payments::bank_batch_result(&db.store, &clerk, batch, lang).await?;
            assert_eq!(file, format_results(&r.results, lang));
            assert_eq!(file.lines().count(), 4, "header and one line per input line");
        }

        let mut other = Actor::system();
        other.staff_id = "elsewhere".into();
        other.bureau_id = "NOT-A-BUREAU".into();
        other.scope = Scope::Bureaus(vec!["NOT-A-BUREAU".into()]);
        assert!(payments::bank_batches(&db.store, &other, 10).await?.is_empty(), "another bureau's batch");
        let e = payments::bank_batch_result(&db.store, &other, batch, Lang::En).await.unwrap_err();
        assert!(matches!(e, bureau_app::AppError::NotFound { .. }), "{e:?}");
        let e = payments::bank_batch_result(&db.store, &clerk, "bank-nope", Lang::En).await.unwrap_err();
        assert!(matches!(e, bureau_app::AppError::NotFound { .. }), "{e:?}");
        // The system (all bureaus) sees it too.
        assert_eq!(payments::bank_batches(&db.store, &Actor::system(), 10).await?.len(), 1);
        db.destroy().await?;
    }
    Ok(())
}

/// The chunks of a bank file overlap: while one chunk is written the next is read and decided, so a
/// chunk may be decided on a ledger that the chunk before it is still changing (here: the same three
/// accounts in every chunk). Such a group is refused as stale and decided again after the chunk
/// before it, so whatever the interleaving every line posts once, and each payment carries exactly
/// the late fees the counter's rule gives on the ledger with the file's earlier payments in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_chunks_decide_each_payment_on_the_ledger_before_it() -> anyhow::Result<()> {
    use bureau_domain::ledger::bank_file::LineStatus;
    use bureau_domain::ledger::{Channel, Entry, EntryId, IdempotencyKey};
    use std::collections::{BTreeMap, HashSet};
    for db in TestDb::each().await? {
        small_demo(&db).await?;
        let rules = LateFeeRules::builtin();
        let clerk = staff_actor(&db, "clerk").await?;
        let mut accounts: Vec<(String, jiff::civil::Date)> = Vec::new();
        for b in db.store.list_bills(&Scope::All, "2026-09", None, 10_000).await? {
            if b.total > Fen(5_000) && accounts.iter().all(|(id, _)| *id != b.customer_id) {
                accounts.push((b.customer_id.clone(), b.due_on.as_deref().unwrap().parse()?));
            }
        }
        accounts.truncate(3);
        assert_eq!(accounts.len(), 3, "three customers with a bill above 50 yuan");
        let latest_due = accounts.iter().map(|(_, d)| *d).max().unwrap();

        // Lines go to the three accounts in turn, so from two lines a chunk on, each chunk shares an
        // account with the chunk before it (from three on, all of them).
        for (round, chunk) in [2usize, 3, 5].into_iter().enumerate() {
            let on = latest_due.checked_add(jiff::Span::new().days(10 + 5 * round as i64))?;
            // What the counter's rule gives, line after line, on each ledger as it is now.
            let mut want: BTreeMap<String, Vec<EntryKind>> = BTreeMap::new();
            let mut before: BTreeMap<String, (Vec<Entry>, HashSet<String>)> = BTreeMap::new();
            for (id, _) in &accounts {
                let entries = db.store.ledger_of(id).await?.entries;
                let ids = entries.iter().map(|e| e.id.0.clone()).collect();
                before.insert(id.clone(), (entries, ids));
            }
            let mut text = String::from("account_no,amount,paid_at,bank_ref,mode\n");
            for n in 0..24usize {
                let id = &accounts[n % 3].0;
                let amount = Fen(700 + 13 * n as i64);
                let (minute, second) = (n / 60, n % 60);
                text.push_str(&format!(
                    "{id},{}.{:02},{on} 10:{minute:02}:{second:02},R{round}-{n:02},withhold\n",
                    amount.0 / 100,
                    amount.0 % 100
                ));
                let customer = db.store.get_customer(&Scope::All, id).await?;
                let class = bureau_domain::late_fee::LateFeeClass::from(customer.class);
                let payment = payments::NewPayment {
                    customer,
                    amount,
                    key: IdempotencyKey::parse("key", &format!("bank:ICBC:R{round}-{n:02}"))?,
                    channel: Channel::BankWithhold,
                    by: "clerk".into(),
                    reason: String::new(),
                    at: bureau_domain::calendar::beijing::instant(on.at(10, minute as i8, second as i8, 0))?,
                };
                let entries = &mut before.get_mut(id).unwrap().0;
                let made = payments::payment_entries(
                    entries,
                    rules,
                    class,
                    &payment,
                    EntryId(format!("pay-{n:02}")),
                );
                want.entry(id.clone()).or_default().extend(made.iter().map(|e| e.kind.clone()));
                entries.extend(made);
                entries.sort_by(|a, b| (a.at, &a.id.0).cmp(&(b.at, &b.id.0)));
            }
            assert!(
                want.values().flatten().any(|k| matches!(k, EntryKind::LateFee { .. })),
                "the payments reach overdue bills"
            );

            let input = payments::BankBatchInput { bank: "ICBC", file_name: "f.csv", text: &text, chunk };
            let r = payments::post_bank_batch(&db.store, &clerk, rules, &input).await?;
            assert_eq!(
                (r.summary.posted, r.summary.duplicate, r.summary.rejected),
                (24, 0, 0),
                "chunk {chunk}"
            );
            assert!(r.results.iter().all(|l| l.status == LineStatus::Posted));
            assert_eq!(r.results.iter().map(|l| l.line).collect::<Vec<_>>(), (2..=25).collect::<Vec<_>>());
            for (id, _) in &accounts {
                let seen = &before[id].1;
                let got: Vec<EntryKind> = db
                    .store
                    .ledger_of(id)
                    .await?
                    .entries
                    .into_iter()
                    .filter(|e| !seen.contains(&e.id.0))
                    .map(|e| e.kind)
                    .collect();
                assert_eq!(got, want[id], "account {id}, chunk {chunk}");
            }
        }
        db.destroy().await?;
    }
    Ok(())
}
