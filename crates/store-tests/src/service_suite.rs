//! Work orders in the store: an order, its deadlines and its notifications are written together or
//! not at all.

use crate::suite::unit;
use bureau_domain::org::{OrgLevel, Role};
use bureau_domain::register::ServiceArea;
use bureau_domain::service::{Channel, OrderKind, Stage, Status};
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
    Ok(())
}
