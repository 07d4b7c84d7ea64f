//! The arrears workflow on both databases: the daily pass over two customers with one overdue bill
//! each (January 2026, due 15 February), dates worked by hand from data/arrears/arrears.toml
//! (reminders on due + 1 and due + 15 at 09:00; the cut allowed once more than 30 days overdue, from
//! 18 March; notice 7 days ahead for a household, 3 for others; final reminder 30 / 60 minutes
//! before; reconnection within 24 hours of full payment). Times are Beijing time; the rules count
//! elapsed days, so weekends and holidays do not move them.
//!
//! - R (household) pays after the notice: the notice is withdrawn and the scheduled final reminder
//!   cancelled in the outbox.
//! - O (a shop) is disconnected on 18 March, pays on 20 March at 15:30 and gets a reconnection order
//!   due 21 March 15:30, whichever time the pass runs.

mod support;

use bureau_app::access::Actor;
use bureau_app::arrears::{self, pass_instant, PassReport};
use bureau_app::outbox::{Outbox, OutboxConfig, WebhookRoute};
use bureau_domain::arrears::ArrearsRules;
use bureau_domain::calendar::beijing;
use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::ledger::{BillId, Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_domain::org::OrgLevel;
use bureau_domain::register::CustomerDraft;
use bureau_domain::tariff::BillPeriod;
use bureau_store::{DynStore, OrgUnit, OutboxStatus, Posted};
use bureau_store_tests::TestDb;
use jiff::civil::date;
use jiff::Timestamp;
use support::listener::Listener;

fn bj(s: &str) -> Timestamp {
    beijing::parse_rfc3339("t", &format!("{s}:00+08:00")).unwrap()
}

fn show(secs: i64) -> String {
    beijing::local(Timestamp::from_second(secs).unwrap()).strftime("%m-%d %H:%M").to_string()
}

async fn county(store: &DynStore) -> anyhow::Result<()> {
    store
        .upsert_org_units(&[OrgUnit {
            id: "B1".into(),
            parent_id: None,
            level: OrgLevel::County,
            name_zh: "安平县供电局".into(),
            name_en: "Anping".into(),
        }])
        .await?;
    let customer = |id: &str, class: &str, phone: &str| {
        CustomerDraft {
            id: id.into(),
            bureau_id: "B1".into(),
            name: format!("客户{id}"),
            address: "城关镇".into(),
            phone: phone.into(),
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
            customer("R0001", "residential", "13800000001"),
            customer("O0001", "industrial_commercial", "13800000002"),
        ])
        .await?;
    let period = BillPeriod::new("p", 2026, 1)?;
    for id in ["R0001", "O0001"] {
        let charge = Entry {
            id: EntryId("charge-2026-01".into()),
            at: beijing::start_of(date(2026, 1, 31))?,
            by: "system".into(),
            channel: Channel::Billing,
            reason: "2026-01 电费".into(),
            kind: EntryKind::Charge {
                bill: BillId("2026-01".into()),
                period,
                due: date(2026, 2, 15),
                amount: Fen(10_000),
            },
        };
        assert!(matches!(store.post_entries(id, 0, &[charge]).await?, Posted::Done { .. }));
    }
    Ok(())
}

async fn pay(store: &DynStore, id: &str, at: Timestamp) -> anyhow::Result<()> {
    let l = store.ledger_of(id).await?;
    let key = format!("pay-{id}");
    let e = Entry {
        id: EntryId(key.clone()),
        at,
        by: "clerk".into(),
        channel: Channel::Counter,
        reason: "缴费".into(),
        kind: EntryKind::Payment { amount: Fen(10_000), key: IdempotencyKey::parse("key", &key)? },
    };
    assert!(matches!(store.post_entries(id, l.version, &[e]).await?, Posted::Done { .. }));
    Ok(())
}

async fn pass(store: &DynStore, y: i16, m: i8, d: i8) -> anyhow::Result<PassReport> {
    Ok(arrears::run_pass(store, &Actor::system(), ArrearsRules::builtin(), pass_instant(date(y, m, d)))
        .await?)
}

/// (customer, step, when) of the steps a pass took.
fn taken(r: &PassReport) -> Vec<(String, String, String)> {
    r.taken.iter().map(|t| (t.customer_id.clone(), t.step.clone(), show(t.at))).collect()
}

fn t(c: &str, s: &str, at: &str) -> (String, String, String) {
    (c.into(), s.into(), at.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_notices_cut_and_reconnection_by_hand() -> anyhow::Result<()> {
    let rules = ArrearsRules::builtin();
    for db in TestDb::each().await? {
        let store = &db.store;
        county(store).await?;

        // On the due date nothing is overdue.
        let r = pass(store, 2026, 2, 15).await?;
        assert_eq!((r.opened, r.taken.len()), (0, 0));

        // The day after: a case each and the first reminder at 09:00.
        let r = pass(store, 2026, 2, 16).await?;
        assert_eq!(r.opened, 2);
        assert_eq!(
            taken(&r),
            vec![t("O0001", "reminder-1", "02-16 09:00"), t("R0001", "reminder-1", "02-16 09:00")]
        );
        // Twice a day issues nothing twice.
        let again = arrears::run_pass(store, &Actor::system(), rules, bj("2026-02-16T17:00")).await?;
        assert_eq!((again.opened, again.taken.len()), (0, 0));
        assert!(pass(store, 2026, 2, 17).await?.taken.is_empty());

        // Every message goes through the outbox; the worker delivers the first reminders to a real
        // webhook on loopback at 09:00.
        let hook = Listener::start(&[]).await;
        let cfg = OutboxConfig {
            webhooks: vec![WebhookRoute { channel: "sms".into(), url: hook.url.clone() }],
            ..OutboxConfig::default()
        };
        let worker = Outbox::new(store.clone(), cfg)?;
        let run = worker.run_once(bj("2026-02-16T09:00").as_second()).await?;
        assert_eq!((run.claimed, run.sent), (2, 2), "{run:?}");
        let got = hook.received();
        let mut keys: Vec<&str> = got.iter().filter_map(|r| r.header("idempotency-key")).collect();
        keys.sort();
        assert_eq!(keys, vec!["arrears:O0001:1:reminder-1", "arrears:R0001:1:reminder-1"]);
        let body = &got[0].body;
        assert_eq!(body["subject"], "电费催缴通知 / Payment reminder");
        assert!(body["body"].as_str().unwrap().contains("100.00"), "{body}");

        // Due + 15: the second reminder.
        let r = pass(store, 2026, 3, 2).await?;
        assert_eq!(
            taken(&r),
            vec![t("O0001", "reminder-2", "03-02 09:00"), t("R0001", "reminder-2", "03-02 09:00")]
        );

        // The household's notice 7 days before the first day the cut is allowed (18 March), the
        // final reminder 30 minutes before the cut at 09:00.
        assert!(pass(store, 2026, 3, 10).await?.taken.is_empty());
        let r = pass(store, 2026, 3, 11).await?;
        assert_eq!(
            taken(&r),
            vec![t("R0001", "notice-1", "03-11 09:00"), t("R0001", "final-1", "03-18 08:30")]
        );
        // The shop's notice 3 days before, final reminder one hour before the cut.
        let r = pass(store, 2026, 3, 15).await?;
        assert_eq!(
            taken(&r),
            vec![t("O0001", "notice-1", "03-15 09:00"), t("O0001", "final-1", "03-18 08:00")]
        );
        let cases = store.arrears_cases_of("O0001").await?;
        let notice = cases[0].steps.iter().find(|s| s.step == "notice-1").unwrap();
        assert_eq!(show(notice.planned_cut_at.unwrap()), "03-18 09:00");

        // The household pays on 12 March: the next pass withdraws the notice, cancels the final
        // reminder still waiting in the outbox and closes the case.
        pay(store, "R0001", bj("2026-03-12T10:00")).await?;
        let r = pass(store, 2026, 3, 13).await?;
        assert_eq!(taken(&r), vec![t("R0001", "withdrawn", "03-13 08:00")]);
        assert_eq!(r.closed, 1);
        let fin = store.outbox_by_key("arrears:R0001:1:final-1").await?;
        assert_eq!(fin.status, OutboxStatus::Cancelled);
        assert!(store.arrears_cases_of("R0001").await?[0].closed_at.is_some());

        // 18 March, 08:00: the shop's disconnection order, to be carried out from 09:00 while the
        // notice holds (served 15 March, so at the latest 22 March 17:00).
        let r = pass(store, 2026, 3, 18).await?;
        assert_eq!(taken(&r), vec![t("O0001", "disconnect", "03-18 08:00")]);
        let (_, orders) = arrears::cases(store, &Actor::system(), bj("2026-03-18T08:00")).await?;
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].planned_cut_at.as_deref(), Some("2026-03-18T09:00:00+08:00"));
        assert_eq!(orders[0].due_at.as_deref(), Some("2026-03-22T17:00:00+08:00"));
        assert!(pass(store, 2026, 3, 18).await?.taken.is_empty());

        // The crew cuts at 10:00; the shop pays on 20 March at 15:30. A pass at 15:45 orders the
        // reconnection due 24 hours after the payment, not after the pass.
        arrears::complete_order(
            store,
            &Actor::system(),
            rules,
            "O0001",
            "disconnect",
            bj("2026-03-18T10:00"),
        )
        .await?;
        pay(store, "O0001", bj("2026-03-20T15:30")).await?;
        let r = arrears::run_for_customer(store, &Actor::system(), rules, "O0001", bj("2026-03-20T15:45"))
            .await?;
        assert_eq!(
            taken(&r),
            vec![t("O0001", "paid", "03-20 15:30"), t("O0001", "reconnect", "03-20 15:45")]
        );
        assert_eq!(r.taken[1].due_at.map(show).as_deref(), Some("03-21 15:30"));
        let (cases, orders) = arrears::cases(store, &Actor::system(), bj("2026-03-21T16:00")).await?;
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].next_step, "await_reconnection");
        assert_eq!(cases[0].deadline.as_deref(), Some("2026-03-21T15:30:00+08:00"));
        assert!(cases[0].late, "16:00 is past the deadline");
        let reconnect = orders.iter().find(|o| o.order == "reconnect").unwrap();
        assert!(reconnect.late && reconnect.done_at.is_none());
        assert!(pass(store, 2026, 3, 21).await?.taken.is_empty());

        // Reconnected: the case closes. A second report of the same order is refused.
        let c = arrears::complete_order(
            store,
            &Actor::system(),
            rules,
            "O0001",
            "reconnect",
            bj("2026-03-21T11:00"),
        )
        .await?;
        assert!(c.closed_at.is_some());
        let again = arrears::complete_order(
            store,
            &Actor::system(),
            rules,
            "O0001",
            "reconnect",
            bj("2026-03-21T11:05"),
        )
        .await;
        assert!(again.is_err());
        assert!(pass(store, 2026, 3, 22).await?.taken.is_empty());

        db.destroy().await?;
    }
    Ok(())
}

/// Takes the pass on the given days (Beijing 08:00 each), as the schedule would.
async fn passes(store: &DynStore, days: &[(i16, i8, i8)]) -> anyhow::Result<()> {
    for &(y, m, d) in days {
        pass(store, y, m, d).await?;
    }
    Ok(())
}

async fn counter_payment(
    store: &DynStore,
    account: &str,
    amount: &str,
    key: &str,
) -> anyhow::Result<bureau_app::payments::PaymentResult> {
    let form = bureau_app::payments::PaymentForm {
        account_no: account.into(),
        amount: amount.into(),
        idempotency_key: key.into(),
        method: None,
    };
    Ok(bureau_app::payments::take_payment(store, &Actor::system(), LateFeeRules::builtin(), &form).await?)
}

/// The payment hook: a payment at the counter that clears a disconnected customer's arrears orders
/// the reconnection at once, due 24 hours after the payment; one that clears a household's arrears
/// after the notice withdraws it at once. A partial payment changes no case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_that_clears_the_arrears_moves_the_case_at_once() -> anyhow::Result<()> {
    let rules = ArrearsRules::builtin();
    for db in TestDb::each().await? {
        let store = &db.store;
        county(store).await?;
        // Reminders, the notices (R on 11 March, O on 15 March), O's disconnection order on
        // 18 March, carried out at 10:00.
        passes(store, &[(2026, 2, 16), (2026, 3, 2), (2026, 3, 11), (2026, 3, 15), (2026, 3, 18)]).await?;
        arrears::complete_order(
            store,
            &Actor::system(),
            rules,
            "O0001",
            "disconnect",
            bj("2026-03-18T10:00"),
        )
        .await?;
        let steps = |id: &'static str| async move {
            let c = store.arrears_cases_of(id).await?.remove(0);
            anyhow::Ok((c.closed_at, c.steps.into_iter().map(|s| s.step).collect::<Vec<_>>()))
        };
        let (_, before) = steps("O0001").await?;
        // (by instant, then name: the order and the final reminder both at 08:00)
        assert_eq!(before, ["reminder-1", "reminder-2", "notice-1", "disconnect", "final-1"]);

        // Ten yuan of the hundred (and the late fee): still in arrears, the case stays as it was.
        let part = counter_payment(store, "O0001", "10.00", "hook-part").await?;
        assert!(part.account.arrears > Fen::ZERO);
        assert_eq!(steps("O0001").await?.1, before);

        // The rest, to the fen the counter asks: the reconnection order is there when the clerk
        // hands over the receipt, due 24 hours after the payment.
        let owed = bureau_app::payments::customer_account(
            store,
            &Actor::system(),
            LateFeeRules::builtin(),
            "O0001",
            None,
        )
        .await?;
        let paid = counter_payment(store, "O0001", &owed.to_clear.to_string(), "hook-full").await?;
        assert_eq!(paid.account.arrears, Fen::ZERO);
        let case = store.arrears_cases_of("O0001").await?.remove(0);
        let reconnect = case.steps.iter().find(|s| s.step == "reconnect").expect("a reconnection order");
        assert_eq!(reconnect.due_at, Some(paid.payment.at.as_second() + 24 * 3600));
        assert_eq!(reconnect.by_staff, "system");
        let paid_step = case.steps.iter().find(|s| s.step == "paid").expect("the payment step");
        assert_eq!(paid_step.at, paid.payment.at.as_second(), "the clock runs from the payment");
        assert_eq!(case.next_step, "await_reconnection");
        assert!(store.outbox_by_key("arrears:O0001:1:reconnect").await.is_ok(), "the customer is told");
        // The same payment submitted again posts nothing and orders nothing twice.
        let again = counter_payment(store, "O0001", &owed.to_clear.to_string(), "hook-full").await?;
        assert!(again.duplicate);
        assert_eq!(store.arrears_cases_of("O0001").await?.remove(0).steps.len(), case.steps.len());
        // The household paid after the notice, before any cut: the notice is withdrawn and the case
        // closed at once.
        let owed = bureau_app::payments::customer_account(
            store,
            &Actor::system(),
            LateFeeRules::builtin(),
            "R0001",
            None,
        )
        .await?;
        counter_payment(store, "R0001", &owed.to_clear.to_string(), "hook-r").await?;
        let (closed, steps_r) = steps("R0001").await?;
        assert!(closed.is_some());
        assert_eq!(steps_r.last().map(String::as_str), Some("withdrawn"));

        // The next daily pass has nothing left to do for it.
        let r = arrears::run_pass(store, &Actor::system(), rules, jiff::Timestamp::now()).await?;
        assert!(r.taken.is_empty(), "{:?}", r.taken);

        db.destroy().await?;
    }
    Ok(())
}

/// The same hook for a bank file (代扣/代收): a line that clears the disconnected shop's arrears
/// orders the reconnection, due 24 hours after the bank's payment time; a line that clears the
/// household's arrears withdraws its notice; the same file again orders nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_file_line_that_clears_the_arrears_moves_the_case() -> anyhow::Result<()> {
    let rules = ArrearsRules::builtin();
    for db in TestDb::each().await? {
        let store = &db.store;
        county(store).await?;
        passes(store, &[(2026, 2, 16), (2026, 3, 2), (2026, 3, 11), (2026, 3, 15), (2026, 3, 18)]).await?;
        arrears::complete_order(
            store,
            &Actor::system(),
            rules,
            "O0001",
            "disconnect",
            bj("2026-03-18T10:00"),
        )
        .await?;
        // Paid a minute ago by the bank (whole seconds, as a bank file gives them).
        let paid_at = Timestamp::from_second(Timestamp::now().as_second() - 60)?;
        let day = beijing::date_of(paid_at);
        let owed = |id: &'static str| async move {
            let a = bureau_app::payments::customer_account(
                store,
                &Actor::system(),
                LateFeeRules::builtin(),
                id,
                Some(day),
            )
            .await?;
            anyhow::Ok(a.to_clear)
        };
        let stamp = beijing::local(paid_at).strftime("%Y-%m-%d %H:%M:%S").to_string();
        let text = format!(
            "account_no,amount,paid_at,bank_ref,mode\nO0001,{},{stamp},B1,withhold\nR0001,{},{stamp},B2,withhold\n",
            owed("O0001").await?,
            owed("R0001").await?,
        );
        let post = || async {
            let input = bureau_app::payments::BankBatchInput {
                bank: "ICBC",
                file_name: "f.csv",
                text: &text,
                chunk: 0,
            };
            bureau_app::payments::post_bank_batch(store, &Actor::system(), LateFeeRules::builtin(), &input)
                .await
        };
        let r = post().await?;
        assert_eq!((r.summary.posted, r.summary.rejected), (2, 0), "{:?}", r.results);

        let case = store.arrears_cases_of("O0001").await?.remove(0);
        let reconnect = case.steps.iter().find(|s| s.step == "reconnect").expect("a reconnection order");
        assert_eq!(reconnect.due_at, Some(paid_at.as_second() + 24 * 3600));
        assert_eq!(reconnect.by_staff, "system");
        assert_eq!(case.next_step, "await_reconnection");
        assert!(store.outbox_by_key("arrears:O0001:1:reconnect").await.is_ok(), "the customer is told");
        let r_case = store.arrears_cases_of("R0001").await?.remove(0);
        assert!(r_case.closed_at.is_some());
        assert_eq!(r_case.steps.last().map(|s| s.step.as_str()), Some("withdrawn"));

        let again = post().await?;
        assert_eq!((again.summary.posted, again.summary.duplicate), (0, 2));
        assert_eq!(store.arrears_cases_of("O0001").await?.remove(0).steps.len(), case.steps.len());
        db.destroy().await?;
    }
    Ok(())
}

/// The schedule of `bureau serve`: a server started after the day's time catches up at once; the
/// day's pass then runs once, the next day's from its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_pass_runs_once_a_day_and_catches_up() -> anyhow::Result<()> {
    use bureau_app::arrears::schedule::{run_if_due, DailyPass};
    let rules = ArrearsRules::builtin();
    let at_8 = DailyPass::default();
    for db in TestDb::each().await? {
        let store = &db.store;
        county(store).await?;
        // Before the day's time: nothing.
        assert!(run_if_due(store, rules, &at_8, bj("2026-02-16T07:59")).await?.is_none());
        assert_eq!(store.arrears_pass("2026-02-16").await?, None);
        // The server starts at 10:30: the day's pass runs now, and is recorded.
        let r = run_if_due(store, rules, &at_8, bj("2026-02-16T10:30")).await?.expect("the catch-up pass");
        assert_eq!((r.opened, r.taken.len()), (2, 2));
        let rec = store.arrears_pass("2026-02-16").await?.expect("recorded");
        assert_eq!((rec.customers, rec.opened, rec.taken), (2, 2, 2));
        assert_eq!(rec.started_at, bj("2026-02-16T10:30").as_second());
        // A restart the same day runs nothing.
        assert!(run_if_due(store, rules, &at_8, bj("2026-02-16T18:00")).await?.is_none());
        // The next day, from 08:00.
        assert!(run_if_due(store, rules, &at_8, bj("2026-02-17T07:00")).await?.is_none());
        let r = run_if_due(store, rules, &at_8, bj("2026-02-17T08:00")).await?.expect("the next day's pass");
        assert_eq!(r.customers, 2);
        assert!(store.arrears_pass("2026-02-17").await?.is_some());
        db.destroy().await?;
    }
    Ok(())
}
