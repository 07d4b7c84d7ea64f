//! Work orders in the store: an order, its deadlines and its notifications are written together or
//! not at all.

use crate::suite::unit;
use bureau_domain::org::{OrgLevel, Role};
use bureau_domain::register::{CustomerDraft, ServiceArea};
use bureau_domain::service::{Action, Channel, OrderKind, Stage, Status};
use bureau_store::*;

fn order(id: &str, bureau: &str, accepted_at: i64) -> WorkOrder {
    WorkOrder {
        id: id.into(),
        customer_id: None,
        bureau_id: bureau.into(),
        kind: OrderKind::FaultRepair,
        subtype: None,
        grade: None,
        channel: Channel::Phone,
        area: ServiceArea::Urban,
        escalation_intent: false,
        escalated: false,
        caller_name: String::new(),
        caller_phone: "13900000001".into(),
        address: "城关镇解放路12号".into(),
        matter: None,
        description: "整栋楼停电".into(),
        status: Status::Accepted,
        paused_reason: None,
        paused_since: None,
        version: 0,
        accepted_at,
        accepted_by: "agent1".into(),
        department_id: None,
        taken_by: None,
        rule_set: "sgcc-current".into(),
        next_due_at: Some(accepted_at + 300),
        next_due_stage: Some(Stage::Dispatch),
        repeat_of: None,
        duplicate_of: None,
        repeat_count: 0,
        satisfaction: None,
        reopened: 0,
        updated_at: accepted_at,
        closed_at: None,
    }
}

fn deadlines(accepted_at: i64) -> Vec<OrderDeadline> {
    vec![
        OrderDeadline { stage: Stage::Dispatch, due_at: accepted_at + 300, done_at: None },
        OrderDeadline { stage: Stage::Arrival, due_at: accepted_at + 2700, done_at: None },
    ]
}

fn message(id: &str, key: &str, recipient: &str, now: i64) -> NewOutboxMessage {
    NewOutboxMessage {
        id: id.into(),
        key: key.into(),
        channel: "sms".into(),
        recipient: recipient.into(),
        subject: "【抢修派单】".into(),
        body: "工单".into(),
        data: None,
        created_at: now,
        due_at: now,
        max_attempts: 8,
    }
}

async fn setup(store: &DynStore) -> anyhow::Result<()> {
    store
        .upsert_org_units(&[
            unit("P", None, OrgLevel::Province),
            unit("C", Some("P"), OrgLevel::City),
            unit("A", Some("C"), OrgLevel::County),
        ])
        .await?;
    let staff = |id: &str, phone: Option<&str>| Staff {
        id: id.into(),
        name: id.into(),
        org_unit_id: "A".into(),
        bureau_id: "A".into(),
        scope_unit_id: "A".into(),
        roles: vec![Role::RepairCrew],
        phone: phone.map(str::to_string),
        password_hash: "$argon2id$v=19$fake".into(),
        active: true,
    };
    store.upsert_staff(&[staff("crew1", Some("13811112222")), staff("lead1", None)]).await?;
    Ok(())
}

/// Runs the work-order store checks against a fresh, migrated store.
pub async fn service_orders(store: &DynStore) -> anyhow::Result<()> {
    setup(store).await?;
    let t0 = 1_790_000_000;

    // The roster comes with each person's phone from the register, in one read.
    let shift = |id: &str, staff: &str, level: i64| DutyShift {
        id: id.into(),
        bureau_id: "A".into(),
        staff_id: staff.into(),
        duty: "crew".into(),
        level,
        crew_name: Some("一班".into()),
        vehicle: None,
        starts_at: t0 - 3600,
        ends_at: t0 + 3600,
        created_at: None,
        created_by: None,
        ended_at: None,
        ended_by: None,
        phone: None,
    };
    store.upsert_duty(&[shift("D1", "crew1", 0), shift("D2", "lead1", 1)]).await?;
    let on = store.on_duty("A", t0).await?;
    let phones: Vec<(&str, Option<&str>)> =
        on.iter().map(|s| (s.staff_id.as_str(), s.phone.as_deref())).collect();
    assert_eq!(phones, [("crew1", Some("13811112222")), ("lead1", None)]);

    // An order with its deadlines and two pages: all there.
    let notes = [
        message("N-1", "wo:W1:dispatch:crew1", "13811112222", t0),
        message("N-2", "wo:W1:esc:1:lead1", "lead1", t0),
    ];
    store.create_work_order(&order("W1", "A", t0), &deadlines(t0), &notes).await?;
    assert_eq!(store.get_work_order("W1").await?.status, Status::Accepted);
    assert_eq!(store.work_order_deadlines("W1").await?.len(), 2);
    assert_eq!(store.outbox_by_key("wo:W1:dispatch:crew1").await?.recipient, "13811112222");
    assert_eq!(store.outbox_by_key("wo:W1:esc:1:lead1").await?.status, OutboxStatus::Pending);

    // A notification that cannot be written (its id is taken) undoes the whole acceptance: no
    // order, no deadlines, and not the page written before it either.
    let notes = [
        message("N-3", "wo:W2:dispatch:crew1", "13811112222", t0),
        message("N-1", "wo:W2:esc:1:lead1", "lead1", t0),
    ];
    let err = store.create_work_order(&order("W2", "A", t0), &deadlines(t0), &notes).await;
    assert!(matches!(err, Err(StoreError::Constraint { .. })), "{err:?}");
    assert!(matches!(store.get_work_order("W2").await, Err(StoreError::NotFound)));
    assert!(store.work_order_deadlines("W2").await?.is_empty());
    assert!(matches!(store.outbox_by_key("wo:W2:dispatch:crew1").await, Err(StoreError::NotFound)));
    let mut q = OrderQuery::new(Scope::All);
    q.limit = 10;
    assert_eq!(store.list_work_orders(&q).await?.len(), 1);

    // An order that cannot be written (its id is taken) sends no page.
    let notes = [message("N-4", "wo:W1b:dispatch:crew1", "13811112222", t0)];
    let err = store.create_work_order(&order("W1", "A", t0 + 1), &deadlines(t0 + 1), &notes).await;
    assert!(matches!(err, Err(StoreError::Constraint { .. })), "{err:?}");
    assert!(matches!(store.outbox_by_key("wo:W1b:dispatch:crew1").await, Err(StoreError::NotFound)));
    assert_eq!(store.get_work_order("W1").await?.accepted_at, t0, "the first order is untouched");

    // A page whose key is already in the outbox is not written again (idempotent keys); the order
    // is still accepted.
    let notes = [message("N-5", "wo:W1:dispatch:crew1", "someone-else", t0)];
    store.create_work_order(&order("W3", "A", t0 + 2), &deadlines(t0 + 2), &notes).await?;
    assert_eq!(store.get_work_order("W3").await?.accepted_at, t0 + 2);
    let kept = store.outbox_by_key("wo:W1:dispatch:crew1").await?;
    assert_eq!((kept.id.as_str(), kept.recipient.as_str()), ("N-1", "13811112222"));

    // An order of an unknown bureau is refused by the schema, with nothing written.
    let notes = [message("N-6", "wo:W4:dispatch:crew1", "13811112222", t0)];
    let err = store.create_work_order(&order("W4", "nowhere", t0), &deadlines(t0), &notes).await;
    assert!(matches!(err, Err(StoreError::Constraint { .. })), "{err:?}");
    assert!(matches!(store.outbox_by_key("wo:W4:dispatch:crew1").await, Err(StoreError::NotFound)));

    // Many orders at once are written in groups (one transaction for those arriving together); a
    // bad one among them fails alone and every other lands with its deadlines and its page.
    let mut tasks = Vec::new();
    for i in 0..40i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("G{i:02}");
            let bureau = if i == 17 { "nowhere" } else { "A" };
            let notes = [message(&format!("NG-{i}"), &format!("wo:{id}:dispatch:crew1"), "13811112222", t0)];
            store.create_work_order(&order(&id, bureau, t0 + 10 + i), &deadlines(t0 + 10 + i), &notes).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await?;
        let id = format!("G{i:02}");
        if i == 17 {
            assert!(matches!(r, Err(StoreError::Constraint { .. })), "{r:?}");
            assert!(matches!(store.get_work_order(&id).await, Err(StoreError::NotFound)));
            assert!(matches!(store.outbox_by_key("wo:G17:dispatch:crew1").await, Err(StoreError::NotFound)));
        } else {
            r?;
            assert_eq!(store.get_work_order(&id).await?.accepted_at, t0 + 10 + i as i64);
            assert_eq!(store.work_order_deadlines(&id).await?.len(), 2, "{id}");
            assert_eq!(store.outbox_by_key(&format!("wo:{id}:dispatch:crew1")).await?.id, format!("NG-{i}"));
        }
    }
    q.limit = 100;
    assert_eq!(store.list_work_orders(&q).await?.len(), 2 + 39);

    // Every order's trail begins with its acceptance, written with it (grouped or not): seq 0,
    // who, when and the channel.
    for id in ["W1", "G05"] {
        let trail = store.work_order_events(id).await?;
        assert_eq!(trail.len(), 1, "{id}");
        let e = &trail[0];
        let o = store.get_work_order(id).await?;
        assert_eq!(
            (e.seq, e.event, e.from_status, e.to_status),
            (0, Action::Accept, Status::Accepted, Status::Accepted)
        );
        assert_eq!((e.at, e.actor.as_str()), (o.accepted_at, "agent1"));
        assert_eq!(e.detail.as_deref(), Some(r#"{"channel":"phone"}"#));
    }
    // A failed order left no trail either.
    assert!(store.work_order_events("G17").await?.is_empty());

    caller_history(store, t0).await?;
    roster_changes(store, t0).await?;
    knowledge_revisions(store, t0).await?;
    screen_pops(store, t0).await?;
    Ok(())
}

/// Intake's one read: the customer with their recent orders, or a phone number's orders.
async fn caller_history(store: &DynStore, t0: i64) -> anyhow::Result<()> {
    let c = CustomerDraft {
        id: "2301009001".into(),
        bureau_id: "A".into(),
        name: "王五".into(),
        address: "城关镇解放路12号".into(),
        phone: "13700000001".into(),
        class: "residential".into(),
        area: "rural".into(),
        supply_point: String::new(),
        book_id: String::new(),
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    store.upsert_customers(std::slice::from_ref(&c)).await?;
    let mine = |id: &str, at: i64| WorkOrder {
        customer_id: Some("2301009001".into()),
        matter: Some("meter-1".into()),
        ..order(id, "A", at)
    };
    store.create_work_order(&mine("H1", t0 - 40 * 86_400), &[], &[]).await?;
    store.create_work_order(&mine("H2", t0 - 86_400), &[], &[]).await?;
    store
        .create_work_order(&WorkOrder { closed_at: Some(t0 - 60), ..mine("H3", t0 - 3600) }, &[], &[])
        .await?;
    let a = Scope::Bureaus(vec!["A".into()]);
    let h = store.caller_history(&a, Some("2301009001"), "", t0 - 30 * 86_400, 200).await?;
    assert_eq!(h.customer.as_ref().map(|c| c.name.as_str()), Some("王五"));
    let got: Vec<(&str, Option<i64>)> = h.orders.iter().map(|o| (o.id.as_str(), o.closed_at)).collect();
    assert_eq!(got, [("H3", Some(t0 - 60)), ("H2", None)], "newest first, only the window");
    assert_eq!(h.orders[0].matter.as_deref(), Some("meter-1"));
    assert_eq!(h.orders[0].kind, OrderKind::FaultRepair);
    // A customer with no order in the window: the customer, no orders.
    let h = store.caller_history(&a, Some("2301009001"), "", t0 + 1, 200).await?;
    assert!(h.customer.is_some() && h.orders.is_empty());
    // Out of scope or unknown: no customer.
    let elsewhere = Scope::Bureaus(vec!["C".into()]);
    assert_eq!(store.caller_history(&elsewhere, Some("2301009001"), "", 0, 200).await?.customer, None);
    assert_eq!(store.caller_history(&a, Some("2301009999"), "", 0, 200).await?.customer, None);
    // By phone: the orders from that number (the G and W orders of the suite), limited.
    let h = store.caller_history(&Scope::All, None, "13900000001", t0, 5).await?;
    assert_eq!(h.customer, None);
    assert_eq!(h.orders.len(), 5);
    assert_eq!(h.orders[0].id, "G39", "newest first");
    Ok(())
}

/// Shifts added and ended; `on_duty` sees every change at once, whatever it had cached.
async fn roster_changes(store: &DynStore, t0: i64) -> anyhow::Result<()> {
    let on = |v: Vec<DutyShift>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(on(store.on_duty("A", t0).await?), ["D1", "D2"]);
    let s = DutyShift {
        id: "D3".into(),
        bureau_id: "A".into(),
        staff_id: "lead1".into(),
        duty: "leader".into(),
        level: 0,
        crew_name: None,
        vehicle: Some("冀T-D0101".into()),
        starts_at: t0 - 60,
        ends_at: t0 + 7200,
        created_at: Some(t0 - 120),
        created_by: Some("lead1".into()),
        ended_at: None,
        ended_by: None,
        phone: None,
    };
    store.add_shift(&s).await?;
    assert_eq!(on(store.on_duty("A", t0).await?), ["D1", "D3", "D2"], "by level, then duty");
    assert!(matches!(store.add_shift(&s).await, Err(StoreError::Constraint { .. })));
    let unknown = DutyShift { id: "D4".into(), staff_id: "ghost".into(), ..s.clone() };
    assert!(matches!(store.add_shift(&unknown).await, Err(StoreError::Constraint { .. })));
    // Ended at t0 + 10: on duty before, not from then on; the plan stays.
    store.end_shift("D3", t0 + 10, "lead1").await?;
    assert_eq!(on(store.on_duty("A", t0 + 9).await?), ["D1", "D3", "D2"]);
    assert_eq!(on(store.on_duty("A", t0 + 10).await?), ["D1", "D2"]);
    let d3 = store.get_shift("D3").await?;
    assert_eq!((d3.ends_at, d3.ended_at, d3.ended_by.as_deref()), (t0 + 7200, Some(t0 + 10), Some("lead1")));
    assert_eq!((d3.created_at, d3.created_by.as_deref()), (Some(t0 - 120), Some("lead1")));
    assert!(matches!(store.end_shift("D3", t0 + 20, "lead1").await, Err(StoreError::Constraint { .. })));
    assert!(
        matches!(store.end_shift("D1", t0 + 4000, "lead1").await, Err(StoreError::Constraint { .. })),
        "already over"
    );
    assert!(matches!(store.end_shift("D-none", t0, "lead1").await, Err(StoreError::NotFound)));
    // The roster lists ended shifts too, by start.
    let all = on(store.roster("A", t0 - 7200, t0 + 7200).await?);
    assert_eq!(all, ["D1", "D2", "D3"]);
    // A replaced shift (the import path) shows at once as well.
    let moved = DutyShift { ends_at: t0 + 5, ..store.get_shift("D2").await? };
    store.upsert_duty(&[moved]).await?;
    assert_eq!(on(store.on_duty("A", t0 + 9).await?), ["D1", "D3"]);
    Ok(())
}

/// Answers keep every revision; an edit on a stale revision, or of a retired answer, changes
/// nothing.
async fn knowledge_revisions(store: &DynStore, t0: i64) -> anyhow::Result<()> {
    let a = KnowledgeArticle {
        id: "KB-1".into(),
        kind: Some(OrderKind::Consultation),
        subtype: None,
        title: "电费账单查询".into(),
        body: "请提供户号。".into(),
        tags: "账单".into(),
        updated_at: t0,
        updated_by: "mgr".into(),
        revision: 1,
        retired_at: None,
    };
    assert_eq!(store.upsert_articles(std::slice::from_ref(&a)).await?, 1);
    let changed = KnowledgeArticle { body: "不会覆盖".into(), ..a.clone() };
    assert_eq!(store.upsert_articles(&[changed]).await?, 0, "seeding twice changes nothing");
    assert_eq!(store.get_article("KB-1").await?.body, "请提供户号。");
    let edit = KnowledgeArticle {
        body: "请提供户号或身份证号。".into(), updated_at: t0 + 60, ..a.clone()
    };
    let v2 = store.revise_article(&edit, "edit").await?;
    assert_eq!((v2.revision, v2.retired_at), (2, None));
    let stale = KnowledgeArticle { body: "旧稿".into(), ..a.clone() };
    assert!(matches!(
        store.revise_article(&stale, "edit").await,
        Err(StoreError::Constraint { constraint }) if constraint == ARTICLE_CONFLICT
    ));
    assert_eq!(store.search_articles("身份证", None, 10).await?.len(), 1);
    let v3 = store.revise_article(&KnowledgeArticle { updated_at: t0 + 120, ..v2.clone() }, "retire").await?;
    assert_eq!((v3.revision, v3.retired_at), (3, Some(t0 + 120)));
    assert!(store.search_articles("身份证", None, 10).await?.is_empty(), "retired answers are not found");
    assert!(matches!(store.revise_article(&v3, "edit").await, Err(StoreError::Constraint { .. })));
    assert!(matches!(
        store.revise_article(&KnowledgeArticle { id: "KB-none".into(), ..v3.clone() }, "edit").await,
        Err(StoreError::NotFound)
    ));
    let h = store.article_revisions("KB-1").await?;
    let got: Vec<(i64, &str, &str)> =
        h.iter().map(|r| (r.revision, r.change.as_str(), r.body.as_str())).collect();
    assert_eq!(
        got,
        [
            (1, "add", "请提供户号。"),
            (2, "edit", "请提供户号或身份证号。"),
            (3, "retire", "请提供户号或身份证号。")
        ]
    );
    assert_eq!(store.list_articles(false, 100).await?.len(), 0);
    assert_eq!(store.list_articles(true, 100).await?.len(), 1);
    Ok(())
}

/// The screen pop: the latest call per agent, replaced by the next; unknown agents refused.
async fn screen_pops(store: &DynStore, t0: i64) -> anyhow::Result<()> {
    assert_eq!(store.latest_call("crew1").await?, None);
    let call = |phone: &str, at: i64| IncomingCall {
        agent_id: "crew1".into(),
        phone: phone.into(),
        at,
        posted_by: "lead1".into(),
    };
    store.record_call(&call("13900000001", t0)).await?;
    store.record_call(&call("13900000002", t0 + 5)).await?;
    assert_eq!(store.latest_call("crew1").await?, Some(call("13900000002", t0 + 5)));
    assert_eq!(store.latest_call("lead1").await?, None);
    let ghost = IncomingCall { agent_id: "ghost".into(), ..call("1", t0) };
    assert!(matches!(store.record_call(&ghost).await, Err(StoreError::Constraint { .. })));
    Ok(())
}
