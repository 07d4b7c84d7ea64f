//! Work orders on both databases: acceptance with hand-worked deadlines, the lifecycle and its
//! audit trail, pauses, repeats, concurrent agents, and the repair-dispatch linkage delivering to a
//! real HTTP listener.

mod support;

use bureau_app::access::Actor;
use bureau_app::demo::{self, DemoOptions};
use bureau_app::outbox::{Outbox, OutboxConfig, WebhookRoute};
use bureau_app::service::dispatch::{self, ShiftInput};
use bureau_app::service::{self, ActRequest, Intake};
use bureau_app::AppError;
use bureau_domain::calendar::beijing;
use bureau_domain::service::{Stage, Status};
use bureau_store::{DynStore, OrderQuery, OutboxStatus, Scope};
use bureau_store_tests::TestDb;
use support::listener::Listener;

fn at(rfc3339: &str) -> i64 {
    beijing::parse_rfc3339("t", rfc3339).unwrap().as_second()
}

fn show(secs: i64) -> String {
    beijing::format_rfc3339(jiff::Timestamp::from_second(secs).unwrap())
}

async fn county(db: &TestDb) -> anyhow::Result<()> {
    let mut o = DemoOptions::new(jiff::civil::date(2026, 11, 27));
    o.customers = 60;
    o.months = 1;
    demo::generate(&db.store, &o).await?;
    Ok(())
}

async fn actor(store: &DynStore, login: &str) -> anyhow::Result<Actor> {
    let units = store.list_org_units().await?;
    Ok(Actor::for_staff(&store.get_staff(login).await?, &units))
}

async fn a_customer(store: &DynStore) -> anyhow::Result<bureau_domain::register::Customer> {
    Ok(store.list_customers(&Scope::All, None, 1).await?.remove(0))
}

fn act(event: &str) -> ActRequest {
    ActRequest { event: event.into(), ..ActRequest::default() }
}

fn deadline(v: &[bureau_store::OrderDeadline], s: Stage) -> &bureau_store::OrderDeadline {
    v.iter().find(|d| d.stage == s).unwrap_or_else(|| panic!("no {s:?} deadline in {v:?}"))
}

#[tokio::test]
async fn fault_repair_lifecycle_with_deadlines_trail_and_reply() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        county(&db).await?;
        let agent = actor(&db.store, "agent").await?;
        let crew = actor(&db.store, "crew").await?;
        // A Friday morning in October, urban: dispatch 5 min, arrive 45 min, restore 3 h after that.
        let t0 = at("2026-10-09T09:30:00+08:00");
        let intake = Intake {
            kind: "fault_repair".into(),
            area: Some("urban".into()),
            caller_phone: "13900000001".into(),
            address: "城关镇解放路12号".into(),
            description: "整栋楼停电".into(),
            bureau_id: Some(agent.bureau_id.clone()),
            ..Intake::default()
        };
        let a = service::accept(&db.store, &agent, &intake, t0).await?;
        assert_eq!(a.order.status, Status::Accepted);
        assert_eq!(a.order.rule_set, "sgcc-current");
        assert_eq!(show(deadline(&a.deadlines, Stage::Dispatch).due_at), "2026-10-09T09:35:00+08:00");
        assert_eq!(show(deadline(&a.deadlines, Stage::Arrival).due_at), "2026-10-09T10:15:00+08:00");
        assert_eq!(show(deadline(&a.deadlines, Stage::Restoration).due_at), "2026-10-09T13:15:00+08:00");
        assert_eq!(a.order.next_due_stage, Some(Stage::Dispatch));
        let id = a.order.id.clone();

        service::act(&db.store, &agent, &id, &act("dispatch"), t0 + 120).await?;
        // Taking is the crew's, not the agent's.
        assert!(matches!(
            service::act(&db.store, &agent, &id, &act("take"), t0 + 180).await,
            Err(AppError::Forbidden)
        ));
        service::act(&db.store, &crew, &id, &act("take"), t0 + 240).await?;
        // Out of order: restoring before arriving names the event and what is allowed.
        let e = service::act(&db.store, &crew, &id, &act("restore"), t0 + 300).await.unwrap_err();
        let AppError::Invalid(errs) = e else { panic!("{e:?}") };
        assert_eq!((errs[0].field.as_str(), errs[0].code), ("event", "out_of_order"));
        assert!(errs[0].message.en.contains("allowed now: arrive, pause"), "{}", errs[0].message.en);
        // Arrives 50 minutes after acceptance: 5 minutes late.
        service::act(&db.store, &crew, &id, &act("arrive"), t0 + 50 * 60).await?;
        service::act(&db.store, &crew, &id, &act("restore"), t0 + 2 * 3600).await?;
        // The reply of a repair must say what failed, whose asset it was and what was done.
        let e = service::act(&db.store, &crew, &id, &act("reply"), t0 + 2 * 3600 + 60).await.unwrap_err();
        let AppError::Invalid(errs) = e else { panic!("{e:?}") };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fault_cause", "asset_ownership", "repair_record"]);
        let reply = ActRequest {
            event: "reply".into(),
            fault_cause: Some("低压熔断器熔断".into()),
            asset_ownership: Some("供电公司".into()),
            repair_record: Some("更换熔断器，恢复供电".into()),
            ..ActRequest::default()
        };
        service::act(&db.store, &crew, &id, &reply, t0 + 2 * 3600 + 120).await?;
        let cb = ActRequest {
            event: "call_back".into(),
            satisfaction: Some("satisfied".into()),
            ..ActRequest::default()
        };
        service::act(&db.store, &agent, &id, &cb, t0 + 3 * 3600).await?;
        let v = service::act(&db.store, &agent, &id, &act("archive"), t0 + 3 * 3600 + 60).await?;
        assert_eq!(v.order.status, Status::Archived);
        assert_eq!(v.order.closed_at, Some(t0 + 3 * 3600 + 60));
        assert_eq!(v.order.taken_by.as_deref(), Some("crew"));
        assert!(v.allowed.is_empty());
        // The trail: the acceptance, then one event per transition, in order, with who and when;
        // nothing after archive.
        let trail: Vec<(i64, &str, &str, &str)> =
            v.events.iter().map(|e| (e.seq, e.event.code(), e.actor.as_str(), e.to_status.code())).collect();
        assert_eq!(
            trail,
            [
                (0, "accept", "agent", "accepted"),
                (1, "dispatch", "agent", "dispatched"),
                (2, "take", "crew", "taken"),
                (3, "arrive", "crew", "arrived"),
                (4, "restore", "crew", "restored"),
                (5, "reply", "crew", "replied"),
                (6, "call_back", "agent", "called_back"),
                (7, "archive", "agent", "archived"),
            ]
        );
        assert!(v.events[5].detail.as_deref().unwrap().contains("低压熔断器熔断"));
        // Deadlines met or missed, as recorded.
        assert_eq!(deadline(&v.deadlines, Stage::Dispatch).done_at, Some(t0 + 120));
        let arr = deadline(&v.deadlines, Stage::Arrival);
        assert!(arr.done_at.unwrap() > arr.due_at, "arrival was late");
        let res = deadline(&v.deadlines, Stage::Restoration);
        assert!(res.done_at.unwrap() <= res.due_at);
        assert_eq!(v.order.next_due_at, None);
        // The report: in October 2026, fault repair: dispatch 1/1, arrival 0/1, restoration 1/1.
        let manager = actor(&db.store, "manager").await?;
        let rows = service::report(
            &db.store,
            &manager,
            at("2026-10-01T00:00:00+08:00"),
            at("2026-11-01T00:00:00+08:00"),
            t0 + 86400,
        )
        .await?;
        let got: Vec<(String, &str, i64, i64)> = rows
            .iter()
            .map(|r| (r.tally.month.clone(), r.tally.stage.code(), r.tally.due, r.tally.met))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-10".to_string(), "arrival", 1, 0),
                ("2026-10".to_string(), "dispatch", 1, 1),
                ("2026-10".to_string(), "restoration", 1, 1),
            ]
        );
        assert_eq!(rows[1].percent_met, Some(100.0));
        let mut csv = Vec::new();
        service::report_csv(&rows, &mut csv)?;
        assert!(String::from_utf8(csv)?.contains("2026-10,fault_repair,,arrival,1,0,0.0"));
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn complaint_over_the_national_day_holiday_pause_resume_and_dissatisfied_reopen() -> anyhow::Result<()>
{
    for db in TestDb::each().await? {
        county(&db).await?;
        let agent = actor(&db.store, "agent").await?;
        let c = a_customer(&db.store).await?;
        // Wednesday 30 Sep 2026, 16:00. Contact within 24 h: 1 Oct 16:00. Reply within 5 working
        // days: 1–7 Oct are off; 8 Oct (1), 9 Oct (2), Sat 10 Oct is a make-up working day (3),
        // 12 Oct (4), 13 Oct (5) → 13 Oct 16:00. Call back 1 working day after: 14 Oct 16:00.
        let t0 = at("2026-09-30T16:00:00+08:00");
        let intake = Intake {
            kind: "complaint".into(),
            subtype: Some("service".into()),
            customer_id: Some(c.id.as_str().to_string()),
            escalation_intent: true,
            description: "营业员态度差".into(),
            ..Intake::default()
        };
        let a = service::accept(&db.store, &agent, &intake, t0).await?;
        assert_eq!(show(deadline(&a.deadlines, Stage::Contact).due_at), "2026-10-01T16:00:00+08:00");
        assert_eq!(show(deadline(&a.deadlines, Stage::Reply).due_at), "2026-10-13T16:00:00+08:00");
        assert_eq!(show(deadline(&a.deadlines, Stage::CallBack).due_at), "2026-10-14T16:00:00+08:00");
        assert!(a.order.escalation_intent && !a.order.escalated);
        assert_eq!(a.order.grade.map(|g| g.code()), Some("ordinary"));
        assert_eq!(a.order.area, c.area, "taken from the customer");
        let id = a.order.id.clone();
        service::act(&db.store, &agent, &id, &act("dispatch"), t0 + 600).await?;
        // Paused from Thu 8 Oct 09:00 to Fri 9 Oct 09:00 waiting for the customer: one working
        // day of clock stands still, so the reply moves from 13 Oct to 14 Oct 16:00.
        let pause = ActRequest {
            event: "pause".into(),
            reason: Some("waiting_for_customer".into()),
            ..ActRequest::default()
        };
        let v = service::act(&db.store, &agent, &id, &pause, at("2026-10-08T09:00:00+08:00")).await?;
        assert_eq!(v.order.status, Status::Paused);
        assert_eq!(v.allowed, ["resume"]);
        let e = service::act(&db.store, &agent, &id, &act("handle"), at("2026-10-08T10:00:00+08:00"))
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Invalid(ref v) if v[0].code == "out_of_order"), "{e:?}");
        let v = service::act(&db.store, &agent, &id, &act("resume"), at("2026-10-09T09:00:00+08:00")).await?;
        assert_eq!(v.order.status, Status::Dispatched, "back where it was");
        assert_eq!(show(deadline(&v.deadlines, Stage::Reply).due_at), "2026-10-14T16:00:00+08:00");
        // The contact deadline was missed (nobody took it before 1 Oct 16:00) and is not moved.
        assert_eq!(show(deadline(&v.deadlines, Stage::Contact).due_at), "2026-10-01T16:00:00+08:00");
        for e in ["take", "handle", "reply"] {
            service::act(&db.store, &agent, &id, &act(e), at("2026-10-09T10:00:00+08:00")).await?;
        }
        let bad = ActRequest {
            event: "call_back".into(),
            satisfaction: Some("meh".into()),
            ..ActRequest::default()
        };
        let e =
            service::act(&db.store, &agent, &id, &bad, at("2026-10-09T11:00:00+08:00")).await.unwrap_err();
        assert!(matches!(e, AppError::Invalid(ref v) if v[0].field == "satisfaction"), "{e:?}");
        let cb = ActRequest {
            event: "call_back".into(),
            satisfaction: Some("dissatisfied".into()),
            ..ActRequest::default()
        };
        service::act(&db.store, &agent, &id, &cb, at("2026-10-09T11:00:00+08:00")).await?;
        let v = service::act(&db.store, &agent, &id, &act("reopen"), at("2026-10-09T11:05:00+08:00")).await?;
        assert_eq!((v.order.status, v.order.reopened, v.order.satisfaction), (Status::Dispatched, 1, None));
        // A second complaint from the same customer on the same matter while this one is open is
        // linked to it as a duplicate.
        let again = service::accept(&db.store, &agent, &intake, at("2026-10-10T09:00:00+08:00")).await?;
        assert_eq!(again.order.duplicate_of.as_deref(), Some(id.as_str()));
        assert_eq!(again.repeats, std::slice::from_ref(&id));
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn bad_intake_names_every_field_and_escalated_channels_count() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    county(&db).await?;
    let agent = actor(&db.store, "agent").await?;
    let e = service::accept(
        &db.store,
        &agent,
        &Intake {
            kind: "billing".into(),
            channel: Some("fax".into()),
            customer_id: Some("0000000000".into()),
            ..Intake::default()
        },
        at("2026-10-09T09:30:00+08:00"),
    )
    .await
    .unwrap_err();
    let AppError::Invalid(errs) = e else { panic!("{e:?}") };
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["kind", "channel", "customer_id", "caller_phone", "description"]);
    assert!(errs[0].message.zh.contains("fault_repair") || errs[0].message.en.contains("fault_repair"));
    let e = service::accept(
        &db.store,
        &agent,
        &Intake {
            kind: "complaint".into(),
            subtype: Some("reconnection".into()),
            caller_phone: "1".into(),
            description: "x".into(),
            ..Intake::default()
        },
        0,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AppError::Invalid(ref v) if v[0].field == "subtype"), "{e:?}");
    let e = service::accept(
        &db.store,
        &agent,
        &Intake {
            kind: "fault_repair".into(),
            caller_phone: "1".into(),
            description: "x".into(),
            ..Intake::default()
        },
        0,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AppError::Invalid(ref v) if v[0].field == "area"), "{e:?}");
    // A complaint through 12398 counts as escalated and must be closed in 10 working days.
    let a = service::accept(
        &db.store,
        &agent,
        &Intake {
            kind: "complaint".into(),
            channel: Some("hotline12398".into()),
            caller_phone: "13911112222".into(),
            description: "多次停电".into(),
            ..Intake::default()
        },
        at("2026-10-09T09:30:00+08:00"),
    )
    .await?;
    assert!(a.order.escalated);
    // 9 Oct (Fri) + 10 working days: 10(S,make-up),12,13,14,15,16,19,20,21,22 → 22 Oct 09:30.
    assert_eq!(show(deadline(&a.deadlines, Stage::Close).due_at), "2026-10-22T09:30:00+08:00");
    // Praise has no time limit: accepted with no deadlines.
    let p = service::accept(
        &db.store,
        &agent,
        &Intake {
            kind: "opinion".into(),
            subtype: Some("praise".into()),
            caller_phone: "1".into(),
            description: "抢修及时".into(),
            ..Intake::default()
        },
        at("2026-10-09T09:30:00+08:00"),
    )
    .await?;
    assert!(p.deadlines.is_empty());
    // An unknown event names the field.
    let e = service::act(&db.store, &agent, &p.order.id, &act("teleport"), 0).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid(ref v) if v[0].field == "event"), "{e:?}");
    let e = service::act(&db.store, &agent, "W-nope", &act("dispatch"), 0).await.unwrap_err();
    assert!(matches!(e, AppError::NotFound { .. }), "{e:?}");
    db.destroy().await
}

#[tokio::test]
async fn two_agents_at_once_lose_no_transition() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        county(&db).await?;
        let agent = actor(&db.store, "agent").await?;
        let agent2 = actor(&db.store, "agent02").await?;
        let t0 = at("2026-10-12T10:00:00+08:00");
        let intake = Intake {
            kind: "service_request".into(),
            subtype: Some("meter_abnormal".into()),
            caller_phone: "13900000009".into(),
            description: "电表走字快".into(),
            ..Intake::default()
        };
        // Many orders; on each, two agents at once: one pauses, the other dispatches... only one
        // order of events is valid per state, so race "dispatch" from both: exactly one wins, the
        // other gets out_of_order — and the trail has exactly one dispatch.
        for i in 0..10 {
            let a = service::accept(
                &db.store,
                &agent,
                &Intake { matter: Some(format!("m{i}")), ..intake.clone() },
                t0,
            )
            .await?;
            let id = a.order.id.clone();
            let (s1, s2) = (db.store.clone(), db.store.clone());
            let dispatch = act("dispatch");
            let (x, y) = tokio::join!(
                service::act(&s1, &agent, &id, &dispatch, t0 + 60),
                service::act(&s2, &agent2, &id, &dispatch, t0 + 60)
            );
            assert!(x.is_ok() != y.is_ok(), "exactly one dispatch wins: {x:?} / {y:?}");
            let loser = match (x, y) {
                (Err(e), _) | (_, Err(e)) => e,
                _ => unreachable!(),
            };
            assert!(matches!(loser, AppError::Invalid(ref v) if v[0].code == "out_of_order"), "{loser:?}");
            // Two different, compatible actions at once: both land, in some order.
            let note =
                ActRequest { event: "take".into(), note: Some("我来".into()), ..ActRequest::default() };
            let crew = actor(&db.store, "crew").await?;
            let handle = act("handle");
            let (p, q) = tokio::join!(
                service::act(&s1, &crew, &id, &note, t0 + 120),
                service::act(&s2, &agent2, &id, &handle, t0 + 120)
            );
            let v = service::view(&db.store, &agent, &id).await?;
            let seqs: Vec<i64> = v.events.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, (0..=v.order.version).collect::<Vec<_>>(), "a gapless trail");
            // handle before take is out of order; take then handle are both fine. Whichever ran
            // first, every success is in the trail (after the acceptance and the dispatch) and the
            // version counts them.
            let successes = 2 + usize::from(p.is_ok()) + usize::from(q.is_ok());
            assert_eq!(v.events.len(), successes, "{p:?} {q:?}");
        }
        let mut q = OrderQuery::new(Scope::All);
        q.caller_phone = Some("13900000009".into());
        let all = db.store.list_work_orders(&q).await?;
        assert_eq!(all.len(), 10);
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn fault_repair_notifies_the_duty_roster_and_escalates_when_nobody_takes_it() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        county(&db).await?;
        let agent = actor(&db.store, "agent").await?;
        let leader = actor(&db.store, "leader").await?;
        let crew = actor(&db.store, "crew").await?;
        let shift = |staff: &str, duty: &str, level: i64| ShiftInput {
            staff_id: staff.into(),
            duty: duty.into(),
            level,
            crew_name: (duty == "crew").then(|| "城关抢修一班".to_string()),
            vehicle: (duty == "crew").then(|| "抢修车 黑A-12345".to_string()),
            starts_at: "2027-03-09T08:00:00+08:00".into(),
            ends_at: "2027-03-10T08:00:00+08:00".into(),
            ..ShiftInput::default()
        };
        dispatch::set_roster(
            &db.store,
            &leader,
            &[
                shift("leader", "leader", 0),
                shift("crew", "crew", 0),
                shift("engineer", "leader", 1),
                shift("manager", "supervisor", 2),
            ],
        )
        .await?;
        // Bad roster rows name their field.
        let e = dispatch::set_roster(
            &db.store,
            &leader,
            &[ShiftInput { duty: "cook".into(), ..shift("nobody", "x", 9) }],
        )
        .await
        .unwrap_err();
        let AppError::Invalid(errs) = e else { panic!("{e:?}") };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["shifts[0].staff_id", "shifts[0].duty", "shifts[0].level"]);

        let hook = Listener::start(&[]).await;
        let worker = Outbox::new(
            db.store.clone(),
            OutboxConfig {
                webhooks: vec![WebhookRoute { channel: "*".into(), url: hook.url.clone() }],
                ..OutboxConfig::default()
            },
        )?;
        // After the demo county's own roster ends, so that only these shifts are on duty.
        let t0 = at("2027-03-09T21:10:00+08:00");
        let intake = Intake {
            kind: "fault_repair".into(),
            area: Some("rural".into()),
            caller_phone: "13900000002".into(),
            address: "东风村三组".into(),
            description: "线路断线".into(),
            ..Intake::default()
        };
        // Order 1: nobody takes it.
        let a = service::accept(&db.store, &agent, &intake, t0).await?;
        assert_eq!(a.notified, ["crew", "leader"]);
        let r = worker.run_once(t0).await?;
        assert_eq!(r.sent, 2, "{r:?}");
        let got = hook.received();
        let mut staff: Vec<String> =
            got.iter().map(|m| m.body["data"]["staff_id"].as_str().unwrap().to_string()).collect();
        staff.sort();
        assert_eq!(staff, ["crew", "leader"]);
        assert!(got.iter().all(|m| m.body["data"]["order_id"] == a.order.id.as_str()));
        assert!(got.iter().any(|m| m.body["data"]["vehicle"] == "抢修车 黑A-12345"));
        assert!(
            got[0].body["body"].as_str().unwrap().contains("到达时限2027-03-09T22:40:00+08:00"),
            "{}",
            got[0].body
        );
        // Ten minutes on (the default take timeout), still not taken: level 1 hears of it...
        assert_eq!(worker.run_once(t0 + 599).await?.sent, 0);
        assert_eq!(worker.run_once(t0 + 600).await?.sent, 1);
        let got = hook.received();
        assert_eq!(got[2].body["data"]["staff_id"], "engineer");
        assert_eq!(got[2].body["data"]["level"], 1);
        assert!(got[2].body["subject"].as_str().unwrap().contains("无人接单"));
        // ...and after twenty, level 2.
        assert_eq!(worker.run_once(t0 + 1200).await?.sent, 1);
        assert_eq!(hook.received()[3].body["data"]["staff_id"], "manager");

        // Order 2: the crew takes it within the timeout; no escalation is sent.
        let b = service::accept(
            &db.store,
            &agent,
            &Intake { address: "西山村".into(), ..intake.clone() },
            t0 + 60,
        )
        .await?;
        assert_eq!(worker.run_once(t0 + 60).await?.sent, 2);
        service::act(&db.store, &agent, &b.order.id, &act("dispatch"), t0 + 120).await?;
        service::act(&db.store, &crew, &b.order.id, &act("take"), t0 + 300).await?;
        assert_eq!(worker.run_once(t0 + 10_000).await?.sent, 0);
        assert_eq!(hook.received().len(), 6);
        let esc = db.store.outbox_by_key(&format!("wo:{}:esc:1:engineer", b.order.id)).await?;
        assert_eq!(esc.status, OutboxStatus::Cancelled);
        // Outside the shift nobody is on duty.
        let late = service::accept(&db.store, &agent, &intake, at("2027-03-11T09:00:00+08:00")).await?;
        assert!(late.notified.is_empty());
        db.destroy().await?;
    }
    Ok(())
}
