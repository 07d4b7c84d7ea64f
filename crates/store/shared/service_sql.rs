// Work orders, their trail and deadlines, the duty roster and the knowledge base, on SQLite and
// PostgreSQL (included by both store crates after `sql_store.rs` and `outbox_sql.rs`).

use bureau_domain::service::{
    Action as SvcAction, Channel as SvcChannel, ComplaintGrade, OrderKind, PauseReason, Satisfaction,
    Stage, Status as SvcStatus, SubType,
};

const ORDER_COLUMNS: &str = "customer_id, id, bureau_id, kind, subtype, grade, channel, area, escalation_intent,
    escalated, caller_name, caller_phone, address, matter, description, status, paused_reason, paused_since,
    version, accepted_at, accepted_by, department_id, taken_by, rule_set, next_due_at, next_due_stage, repeat_of,
    duplicate_of, repeat_count, satisfaction, reopened, updated_at, closed_at";

fn coded<T>(what: &str, text: &str, parse: fn(&str) -> Result<T, bureau_domain::error::FieldError>) -> StoreResult<T> {
    parse(text).map_err(|_| corrupt(what, text))
}

fn opt_coded<T>(
    what: &str,
    text: Option<String>,
    parse: fn(&str) -> Result<T, bureau_domain::error::FieldError>,
) -> StoreResult<Option<T>> {
    text.map(|t| coded(what, &t, parse)).transpose()
}

fn pause_reason_code(r: PauseReason) -> &'static str {
    match r {
        PauseReason::WaitingForCustomer => "waiting_for_customer",
        PauseReason::WaitingForThirdParty => "waiting_for_third_party",
    }
}

fn parse_pause_reason(s: &str) -> Result<PauseReason, bureau_domain::error::FieldError> {
    match s {
        "waiting_for_customer" => Ok(PauseReason::WaitingForCustomer),
        "waiting_for_third_party" => Ok(PauseReason::WaitingForThirdParty),
        _ => Err(bureau_domain::error::FieldError::required("paused_reason")),
    }
}

fn order_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<WorkOrder> {
    let customer_id: String = r.try_get("customer_id").map_err(db_err)?;
    let kind: String = r.try_get("kind").map_err(db_err)?;
    let channel: String = r.try_get("channel").map_err(db_err)?;
    let area: String = r.try_get("area").map_err(db_err)?;
    let status: String = r.try_get("status").map_err(db_err)?;
    Ok(WorkOrder {
        id: r.try_get("id").map_err(db_err)?,
        customer_id: (!customer_id.is_empty()).then_some(customer_id),
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        kind: coded("kind", &kind, OrderKind::parse)?,
        subtype: opt_coded("subtype", r.try_get("subtype").map_err(db_err)?, SubType::parse)?,
        grade: opt_coded("grade", r.try_get("grade").map_err(db_err)?, ComplaintGrade::parse)?,
        channel: coded("channel", &channel, SvcChannel::parse)?,
        area: ServiceArea::parse(&area).map_err(|_| corrupt("area", &area))?,
        escalation_intent: r.try_get("escalation_intent").map_err(db_err)?,
        escalated: r.try_get("escalated").map_err(db_err)?,
        caller_name: r.try_get("caller_name").map_err(db_err)?,
        caller_phone: r.try_get("caller_phone").map_err(db_err)?,
        address: r.try_get("address").map_err(db_err)?,
        matter: r.try_get("matter").map_err(db_err)?,
        description: r.try_get("description").map_err(db_err)?,
        status: coded("status", &status, SvcStatus::parse)?,
        paused_reason: opt_coded("paused_reason", r.try_get("paused_reason").map_err(db_err)?, parse_pause_reason)?,
        paused_since: r.try_get("paused_since").map_err(db_err)?,
        version: r.try_get("version").map_err(db_err)?,
        accepted_at: r.try_get("accepted_at").map_err(db_err)?,
        accepted_by: r.try_get("accepted_by").map_err(db_err)?,
        department_id: r.try_get("department_id").map_err(db_err)?,
        taken_by: r.try_get("taken_by").map_err(db_err)?,
        rule_set: r.try_get("rule_set").map_err(db_err)?,
        next_due_at: r.try_get("next_due_at").map_err(db_err)?,
        next_due_stage: opt_coded("next_due_stage", r.try_get("next_due_stage").map_err(db_err)?, Stage::parse)?,
        repeat_of: r.try_get("repeat_of").map_err(db_err)?,
        duplicate_of: r.try_get("duplicate_of").map_err(db_err)?,
        repeat_count: r.try_get("repeat_count").map_err(db_err)?,
        satisfaction: opt_coded("satisfaction", r.try_get("satisfaction").map_err(db_err)?, Satisfaction::parse)?,
        reopened: r.try_get("reopened").map_err(db_err)?,
        updated_at: r.try_get("updated_at").map_err(db_err)?,
        closed_at: r.try_get("closed_at").map_err(db_err)?,
    })
}

fn push_order_scope<'a>(qb: &mut QueryBuilder<'a, Db>, scope: &'a Scope) {
    push_scope(qb, "bureau_id", scope);
}

async fn write_deadlines(
    tx: &mut sqlx::Transaction<'_, Db>,
    o: &WorkOrder,
    deadlines: &[OrderDeadline],
) -> StoreResult<()> {
    for d in deadlines {
        sqlx::query(
            "INSERT INTO work_order_deadlines (customer_id, order_id, stage, due_at, done_at, bureau_id, kind,
                                               department_id, accepted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (customer_id, order_id, stage) DO UPDATE SET due_at = excluded.due_at,
               done_at = excluded.done_at, department_id = excluded.department_id",
        )
        .bind(o.customer_id.as_deref().unwrap_or(""))
        .bind(&o.id)
        .bind(d.stage.code())
        .bind(d.due_at)
        .bind(d.done_at)
        .bind(&o.bureau_id)
        .bind(o.kind.code())
        .bind(&o.department_id)
        .bind(o.accepted_at)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// The acceptance event's data: the channel the order came through (a code: letters, digits and
/// underscores, so it needs no escaping).
fn acceptance_detail(o: &WorkOrder) -> String {
    format!("{{\"channel\":\"{}\"}}", o.channel.code())
}

/// A row of [`ServiceStore::caller_history`]: the order columns are `order_*` (NULL when a
/// customer has no order in the window).
fn past_order_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Option<PastOrder>> {
    let Some(id) = r.try_get::<Option<String>, _>("order_id").map_err(db_err)? else { return Ok(None) };
    let kind: String = r.try_get("order_kind").map_err(db_err)?;
    Ok(Some(PastOrder {
        id,
        kind: coded("kind", &kind, OrderKind::parse)?,
        subtype: opt_coded("subtype", r.try_get("order_subtype").map_err(db_err)?, SubType::parse)?,
        matter: r.try_get("order_matter").map_err(db_err)?,
        accepted_at: r.try_get("order_accepted_at").map_err(db_err)?,
        closed_at: r.try_get("order_closed_at").map_err(db_err)?,
    }))
}

/// A new order with its deadlines and notifications, as handed to the store.
struct NewOrder {
    order: WorkOrder,
    deadlines: Vec<OrderDeadline>,
    notifications: Vec<NewOutboxMessage>,
}

/// Writes new orders, their deadlines and their notifications inside the caller's transaction,
/// three statements for the lot: on SQLite a statement costs a round trip to the connection's
/// thread, so rows go in many to a statement.
async fn insert_work_orders(tx: &mut sqlx::Transaction<'_, Db>, orders: &[&NewOrder]) -> StoreResult<()> {
    // Under SQLite's 32,766 bound parameters: 33 a row here, 9 a deadline, 10 a notification.
    for chunk in orders.chunks(256) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO work_orders (customer_id, id, bureau_id, kind, subtype, grade, channel, area, escalation_intent,
               escalated, caller_name, caller_phone, address, matter, description, status, paused_reason, paused_since,
               version, accepted_at, accepted_by, department_id, taken_by, rule_set, next_due_at, next_due_stage,
               repeat_of, duplicate_of, repeat_count, satisfaction, reopened, updated_at, closed_at) ",
        );
        qb.push_values(chunk, |mut b, n| {
            let o = &n.order;
            b.push_bind(o.customer_id.clone().unwrap_or_default())
                .push_bind(o.id.clone())
                .push_bind(o.bureau_id.clone())
                .push_bind(o.kind.code())
                .push_bind(o.subtype.map(|s| s.code()))
                .push_bind(o.grade.map(|g| g.code()))
                .push_bind(o.channel.code())
                .push_bind(o.area.code())
                .push_bind(o.escalation_intent)
                .push_bind(o.escalated)
                .push_bind(o.caller_name.clone())
                .push_bind(o.caller_phone.clone())
                .push_bind(o.address.clone())
                .push_bind(o.matter.clone())
                .push_bind(o.description.clone())
                .push_bind(o.status.code())
                .push_bind(o.paused_reason.map(pause_reason_code))
                .push_bind(o.paused_since)
                .push_bind(o.version)
                .push_bind(o.accepted_at)
                .push_bind(o.accepted_by.clone())
                .push_bind(o.department_id.clone())
                .push_bind(o.taken_by.clone())
                .push_bind(o.rule_set.clone())
                .push_bind(o.next_due_at)
                .push_bind(o.next_due_stage.map(|s| s.code()))
                .push_bind(o.repeat_of.clone())
                .push_bind(o.duplicate_of.clone())
                .push_bind(o.repeat_count)
                .push_bind(o.satisfaction.map(|s| s.code()))
                .push_bind(o.reopened)
                .push_bind(o.updated_at)
                .push_bind(o.closed_at);
        });
        qb.build().execute(&mut **tx).await.map_err(db_err)?;

        let deadlines: Vec<(&WorkOrder, &OrderDeadline)> =
            chunk.iter().flat_map(|n| n.deadlines.iter().map(move |d| (&n.order, d))).collect();
        for part in deadlines.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO work_order_deadlines (customer_id, order_id, stage, due_at, done_at, bureau_id, kind,
                                                   department_id, accepted_at) ",
            );
            qb.push_values(part, |mut b, (o, d)| {
                b.push_bind(o.customer_id.clone().unwrap_or_default())
                    .push_bind(o.id.clone())
                    .push_bind(d.stage.code())
                    .push_bind(d.due_at)
                    .push_bind(d.done_at)
                    .push_bind(o.bureau_id.clone())
                    .push_bind(o.kind.code())
                    .push_bind(o.department_id.clone())
                    .push_bind(o.accepted_at);
            });
            qb.build().execute(&mut **tx).await.map_err(db_err)?;
        }

        // The first entry of each trail: who accepted the order, when, and through which channel.
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO work_order_events (customer_id, order_id, seq, at, actor, event, from_status, to_status,
                                            detail) ",
        );
        qb.push_values(chunk, |mut b, n| {
            let o = &n.order;
            b.push_bind(o.customer_id.clone().unwrap_or_default())
                .push_bind(o.id.clone())
                .push_bind(0_i64)
                .push_bind(o.accepted_at)
                .push_bind(o.accepted_by.clone())
                .push_bind(SvcAction::Accept.code())
                .push_bind(SvcStatus::Accepted.code())
                .push_bind(SvcStatus::Accepted.code())
                .push_bind(acceptance_detail(o));
        });
        qb.build().execute(&mut **tx).await.map_err(db_err)?;

        let messages: Vec<&NewOutboxMessage> = chunk.iter().flat_map(|n| n.notifications.iter()).collect();
        for part in messages.chunks(CHUNK) {
            insert_outbox_rows(tx, part).await?;
        }
    }
    Ok(())
}

/// Group commit of new work orders. Orders accepted at the same moment are written in one
/// transaction instead of one each: the writer (SQLite's single one above all) spends its time on
/// rows, not on commits and round trips. Each caller still gets its answer only after the commit
/// that holds its order, so an accepted order is exactly as durable as before. When a group fails,
/// it is rolled back and each of its orders is written again on its own, so that one bad order
/// never takes the others with it.
///
/// There is no background task: a caller queues its order, then either finds it written by the
/// caller who went before, or takes the writer's turn and writes everything queued so far. The
/// write itself runs in a task of its own, so that a caller who goes away (a closed connection
/// drops the request) cannot abandon the others' orders half way.
#[derive(Default)]
struct GroupCommit {
    queue: std::sync::Mutex<Vec<(NewOrder, tokio::sync::oneshot::Sender<StoreResult<()>>)>>,
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// The most orders written in one transaction.
const GROUP_MAX: usize = 512;

impl GroupCommit {
    async fn write(&self, writer: &sqlx::Pool<Db>, order: NewOrder) -> StoreResult<()> {
        let (done, mut answer) = tokio::sync::oneshot::channel();
        self.queue.lock().expect("group commit queue").push((order, done));
        loop {
            tokio::select! {
                biased;
                r = &mut answer => return r.unwrap_or_else(|_| Err(abandoned())),
                turn = self.turn.clone().lock_owned() => {
                    let group: Vec<_> = {
                        let mut q = self.queue.lock().expect("group commit queue");
                        let n = q.len().min(GROUP_MAX);
                        q.drain(..n).collect()
                    };
                    if group.is_empty() {
                        // Ours was in the group of the caller before us, whose write has ended
                        // (it held the turn until then): the answer is already here.
                        drop(turn);
                        return answer.await.unwrap_or_else(|_| Err(abandoned()));
                    }
                    let writer = writer.clone();
                    tokio::spawn(async move {
                        write_group(&writer, group).await;
                        drop(turn);
                    });
                }
            }
        }
    }
}

fn abandoned() -> StoreError {
    StoreError::Database("the write of this work order was abandoned (the program is stopping)".into())
}

async fn write_orders(writer: &sqlx::Pool<Db>, orders: &[&NewOrder]) -> StoreResult<()> {
    let mut tx = writer.begin().await.map_err(db_err)?;
    insert_work_orders(&mut tx, orders).await?;
    tx.commit().await.map_err(db_err)
}

async fn write_group(writer: &sqlx::Pool<Db>, group: Vec<(NewOrder, tokio::sync::oneshot::Sender<StoreResult<()>>)>) {
    let orders: Vec<&NewOrder> = group.iter().map(|(o, _)| o).collect();
    let together = write_orders(writer, &orders).await;
    if together.is_ok() || group.len() == 1 {
        let mut together = Some(together);
        for (_, done) in group {
            let r = match together.take() {
                Some(Err(e)) => Err(e),
                _ => Ok(()),
            };
            let _ = done.send(r);
        }
        return;
    }
    for (order, done) in group {
        let _ = done.send(write_orders(writer, &[&order]).await);
    }
}

#[async_trait::async_trait]
impl ServiceStore for SqlStore {
    async fn create_work_order(
        &self,
        o: &WorkOrder,
        deadlines: &[OrderDeadline],
        notifications: &[NewOutboxMessage],
    ) -> StoreResult<()> {
        let order = NewOrder { order: o.clone(), deadlines: deadlines.to_vec(), notifications: notifications.to_vec() };
        self.intake.write(&self.writer, order).await
    }

    async fn transition_work_order(&self, t: &Transition) -> StoreResult<()> {
        let o = &t.order;
        let cid = o.customer_id.as_deref().unwrap_or("");
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let n = sqlx::query(
            "UPDATE work_orders SET status = $3, paused_reason = $4, paused_since = $5, version = $6,
               department_id = $7, taken_by = $8, next_due_at = $9, next_due_stage = $10, satisfaction = $11,
               reopened = $12, updated_at = $13, closed_at = $14, escalated = $15
             WHERE customer_id = $1 AND id = $2 AND version = $16",
        )
        .bind(cid)
        .bind(&o.id)
        .bind(o.status.code())
        .bind(o.paused_reason.map(pause_reason_code))
        .bind(o.paused_since)
        .bind(o.version)
        .bind(&o.department_id)
        .bind(&o.taken_by)
        .bind(o.next_due_at)
        .bind(o.next_due_stage.map(|s| s.code()))
        .bind(o.satisfaction.map(|s| s.code()))
        .bind(o.reopened)
        .bind(o.updated_at)
        .bind(o.closed_at)
        .bind(o.escalated)
        .bind(t.expected_version)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Constraint { constraint: VERSION_CONFLICT.to_string() });
        }
        let e = &t.event;
        sqlx::query(
            "INSERT INTO work_order_events (customer_id, order_id, seq, at, actor, event, from_status, to_status, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(cid)
        .bind(&o.id)
        .bind(e.seq)
        .bind(e.at)
        .bind(&e.actor)
        .bind(e.event.code())
        .bind(e.from_status.code())
        .bind(e.to_status.code())
        .bind(&e.detail)
        .execute(&mut *tx)
        .await
        .map_err(|err| match db_err(err) {
            StoreError::Constraint { .. } => StoreError::Constraint { constraint: VERSION_CONFLICT.to_string() },
            other => other,
        })?;
        write_deadlines(&mut tx, o, &t.deadlines).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn get_work_order(&self, id: &str) -> StoreResult<WorkOrder> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        order_from_row(&row)
    }

    async fn caller_history(
        &self,
        scope: &Scope,
        customer_id: Option<&str>,
        caller_phone: &str,
        since: i64,
        limit: u32,
    ) -> StoreResult<CallerHistory> {
        const PAST: &str = "w.id AS order_id, w.kind AS order_kind, w.subtype AS order_subtype,
            w.matter AS order_matter, w.accepted_at AS order_accepted_at, w.closed_at AS order_closed_at";
        let limit = i64::from(limit.clamp(1, 10_000));
        let mut qb;
        match customer_id {
            Some(id) => {
                qb = QueryBuilder::<Db>::new(format!(
                    "SELECT c.customer_id, c.bureau_id, c.name, c.address, c.phone, c.class, c.area, c.supply_point,
                            c.book_id, {PAST}
                     FROM customers c LEFT JOIN work_orders w ON w.customer_id = c.customer_id AND w.accepted_at >= "
                ));
                qb.push_bind(since);
                push_scope(&mut qb, "w.bureau_id", scope);
                qb.push(" WHERE c.customer_id = ");
                qb.push_bind(id);
                push_scope(&mut qb, "c.bureau_id", scope);
            }
            None => {
                qb = QueryBuilder::<Db>::new(format!("SELECT {PAST} FROM work_orders w WHERE w.caller_phone = "));
                qb.push_bind(caller_phone);
                qb.push(" AND w.accepted_at >= ");
                qb.push_bind(since);
                push_scope(&mut qb, "w.bureau_id", scope);
            }
        }
        qb.push(" ORDER BY w.accepted_at DESC, w.id DESC LIMIT ");
        qb.push_bind(limit);
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let customer = match (customer_id, rows.first()) {
            (Some(_), Some(r)) => Some(customer_from_row(r)?),
            _ => None,
        };
        let mut orders = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(o) = past_order_from_row(r)? {
                orders.push(o);
            }
        }
        Ok(CallerHistory { customer, orders })
    }

    async fn work_order_events(&self, id: &str) -> StoreResult<Vec<OrderEvent>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, event, from_status, to_status, detail FROM work_order_events
             WHERE order_id = $1 AND customer_id = (SELECT customer_id FROM work_orders WHERE id = $1)
             ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let ev: String = r.try_get("event").map_err(db_err)?;
                let from: String = r.try_get("from_status").map_err(db_err)?;
                let to: String = r.try_get("to_status").map_err(db_err)?;
                Ok(OrderEvent {
                    seq: r.try_get("seq").map_err(db_err)?,
                    at: r.try_get("at").map_err(db_err)?,
                    actor: r.try_get("actor").map_err(db_err)?,
                    event: coded("event", &ev, SvcAction::parse)?,
                    from_status: coded("from_status", &from, SvcStatus::parse)?,
                    to_status: coded("to_status", &to, SvcStatus::parse)?,
                    detail: r.try_get("detail").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn work_order_deadlines(&self, id: &str) -> StoreResult<Vec<OrderDeadline>> {
        let rows = sqlx::query(
            "SELECT stage, due_at, done_at FROM work_order_deadlines
             WHERE order_id = $1 AND customer_id = (SELECT customer_id FROM work_orders WHERE id = $1)
             ORDER BY due_at, stage",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let stage: String = r.try_get("stage").map_err(db_err)?;
                Ok(OrderDeadline {
                    stage: coded("stage", &stage, Stage::parse)?,
                    due_at: r.try_get("due_at").map_err(db_err)?,
                    done_at: r.try_get("done_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn list_work_orders(&self, q: &OrderQuery) -> StoreResult<Vec<WorkOrder>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE 1 = 1"));
        push_order_scope(&mut qb, &q.scope);
        if q.open_only {
            qb.push(" AND closed_at IS NULL");
        }
        if let Some(c) = &q.customer_id {
            qb.push(" AND customer_id = ");
            qb.push_bind(c.as_str());
        }
        if let Some(p) = &q.caller_phone {
            qb.push(" AND caller_phone = ");
            qb.push_bind(p.as_str());
        }
        if let Some(k) = q.kind {
            qb.push(" AND kind = ");
            qb.push_bind(k.code());
        }
        if let Some(s) = q.status {
            qb.push(" AND status = ");
            qb.push_bind(s.code());
        }
        if let Some(t) = &q.taken_by {
            qb.push(" AND taken_by = ");
            qb.push_bind(t.as_str());
        }
        if let Some(f) = q.accepted_from {
            qb.push(" AND accepted_at >= ");
            qb.push_bind(f);
        }
        if q.by_due {
            qb.push(" ORDER BY CASE WHEN next_due_at IS NULL THEN 1 ELSE 0 END, next_due_at, accepted_at, id");
        } else {
            qb.push(" ORDER BY accepted_at DESC, id DESC");
        }
        qb.push(" LIMIT ");
        qb.push_bind(i64::from(q.limit.clamp(1, 10_000)));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(order_from_row).collect()
    }

    async fn orders_due_before(&self, scope: &Scope, before: i64, limit: u32) -> StoreResult<Vec<WorkOrder>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {ORDER_COLUMNS} FROM work_orders WHERE closed_at IS NULL AND next_due_at IS NOT NULL
               AND paused_since IS NULL AND next_due_at < "
        ));
        qb.push_bind(before);
        push_order_scope(&mut qb, scope);
        qb.push(" ORDER BY next_due_at, id LIMIT ");
        qb.push_bind(i64::from(limit.clamp(1, 10_000)));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(order_from_row).collect()
    }

    async fn deadline_report(&self, scope: &Scope, from: i64, to: i64, now: i64) -> StoreResult<Vec<DeadlineTally>> {
        // Grouped by day in SQL (integer arithmetic, the same on both engines; +8 h for Beijing),
        // then by Beijing month here.
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT (accepted_at + 28800) / 86400 AS day, kind, department_id, stage,
                    COUNT(*) AS due, SUM(CASE WHEN done_at IS NOT NULL AND done_at <= due_at THEN 1 ELSE 0 END) AS met
             FROM work_order_deadlines WHERE accepted_at >= ",
        );
        qb.push_bind(from);
        qb.push(" AND accepted_at < ");
        qb.push_bind(to);
        qb.push(" AND (done_at IS NOT NULL OR due_at <= ");
        qb.push_bind(now);
        qb.push(")");
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" GROUP BY (accepted_at + 28800) / 86400, kind, department_id, stage");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let mut out: std::collections::BTreeMap<(String, String, Option<String>, String), (i64, i64)> =
            std::collections::BTreeMap::new();
        for r in &rows {
            let day: i64 = r.try_get("day").map_err(db_err)?;
            let date = jiff::civil::date(1970, 1, 1)
                .checked_add(jiff::Span::new().days(day))
                .map_err(|_| corrupt("accepted_at", &day.to_string()))?;
            let month = format!("{:04}-{:02}", date.year(), date.month());
            let kind: String = r.try_get("kind").map_err(db_err)?;
            let dept: Option<String> = r.try_get("department_id").map_err(db_err)?;
            let stage: String = r.try_get("stage").map_err(db_err)?;
            let due: i64 = r.try_get("due").map_err(db_err)?;
            let met: Option<i64> = r.try_get("met").map_err(db_err)?;
            let e = out.entry((month, kind, dept, stage)).or_default();
            e.0 += due;
            e.1 += met.unwrap_or(0);
        }
        out.into_iter()
            .map(|((month, kind, department_id, stage), (due, met))| {
                Ok(DeadlineTally {
                    month,
                    kind: coded("kind", &kind, OrderKind::parse)?,
                    department_id,
                    stage: coded("stage", &stage, Stage::parse)?,
                    due,
                    met,
                })
            })
            .collect()
    }

    async fn upsert_duty(&self, shifts: &[DutyShift]) -> StoreResult<u64> {
        // Many rows to a statement (a year of the demo's roster is 1,800 rows). One statement may
        // not touch a row twice on PostgreSQL: a shift given twice counts as written once, last wins.
        let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, s) in shifts.iter().enumerate() {
            last.insert(s.id.as_str(), i);
        }
        let shifts: Vec<&DutyShift> =
            shifts.iter().enumerate().filter(|(i, s)| last.get(s.id.as_str()) == Some(i)).map(|(_, s)| s).collect();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut n = 0;
        for chunk in shifts.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO duty_roster (id, bureau_id, staff_id, duty, level, crew_name, vehicle, starts_at, ends_at,
                                          created_at, created_by) ",
            );
            qb.push_values(chunk, |mut b, s| {
                b.push_bind(s.id.clone())
                    .push_bind(s.bureau_id.clone())
                    .push_bind(s.staff_id.clone())
                    .push_bind(s.duty.clone())
                    .push_bind(s.level)
                    .push_bind(s.crew_name.clone())
                    .push_bind(s.vehicle.clone())
                    .push_bind(s.starts_at)
                    .push_bind(s.ends_at)
                    .push_bind(s.created_at)
                    .push_bind(s.created_by.clone());
            });
            qb.push(
                " ON CONFLICT (id) DO UPDATE SET bureau_id = excluded.bureau_id, staff_id = excluded.staff_id,
                   duty = excluded.duty, level = excluded.level, crew_name = excluded.crew_name,
                   vehicle = excluded.vehicle, starts_at = excluded.starts_at, ends_at = excluded.ends_at",
            );
            n += qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        self.roster_cache.clear();
        Ok(n)
    }

    async fn on_duty(&self, bureau_id: &str, at: i64) -> StoreResult<Vec<DutyShift>> {
        if let Some(hit) = self.roster_cache.get(bureau_id, at) {
            return Ok(hit);
        }
        let generation = self.roster_cache.generation();
        // Everyone on duty at some instant of [at, at + window): the cached list answers any `at`
        // in that window exactly, by filtering.
        let until = at + RosterCache::WINDOW_SECS;
        let rows = sqlx::query(&format!(
            "SELECT {DUTY_COLUMNS}, s.phone FROM duty_roster d LEFT JOIN staff s ON s.id = d.staff_id
             WHERE d.bureau_id = $1 AND d.starts_at < $3 AND d.ends_at > $2 AND (d.ended_at IS NULL OR d.ended_at > $2)
             ORDER BY d.level, d.duty, d.staff_id"
        ))
        .bind(bureau_id)
        .bind(at)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let shifts = rows.iter().map(duty_from_row).collect::<StoreResult<Vec<_>>>()?;
        let now = RosterCache::on_duty_at(&shifts, at);
        self.roster_cache.put(generation, bureau_id, at, until, shifts);
        Ok(now)
    }

    async fn roster(&self, bureau_id: &str, from: i64, to: i64) -> StoreResult<Vec<DutyShift>> {
        let rows = sqlx::query(&format!(
            "SELECT {DUTY_COLUMNS}, s.phone FROM duty_roster d LEFT JOIN staff s ON s.id = d.staff_id
             WHERE d.bureau_id = $1 AND d.starts_at < $3 AND d.ends_at > $2
             ORDER BY d.starts_at, d.level, d.duty, d.staff_id, d.id LIMIT 5000"
        ))
        .bind(bureau_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(duty_from_row).collect()
    }

    async fn get_shift(&self, id: &str) -> StoreResult<DutyShift> {
        let row = sqlx::query(&format!(
            "SELECT {DUTY_COLUMNS}, s.phone FROM duty_roster d LEFT JOIN staff s ON s.id = d.staff_id WHERE d.id = $1"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        duty_from_row(&row)
    }

    async fn add_shift(&self, s: &DutyShift) -> StoreResult<()> {
        let r = sqlx::query(
            "INSERT INTO duty_roster (id, bureau_id, staff_id, duty, level, crew_name, vehicle, starts_at, ends_at,
                                      created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&s.id)
        .bind(&s.bureau_id)
        .bind(&s.staff_id)
        .bind(&s.duty)
        .bind(s.level)
        .bind(&s.crew_name)
        .bind(&s.vehicle)
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(s.created_at)
        .bind(&s.created_by)
        .execute(&self.writer)
        .await;
        self.roster_cache.clear();
        r.map(|_| ()).map_err(db_err)
    }

    async fn end_shift(&self, id: &str, at: i64, by: &str) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE duty_roster SET ended_at = $2, ended_by = $3 WHERE id = $1 AND ended_at IS NULL AND ends_at > $2",
        )
        .bind(id)
        .bind(at)
        .bind(by)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        self.roster_cache.clear();
        if n == 1 {
            return Ok(());
        }
        self.get_shift(id).await?;
        Err(StoreError::Constraint { constraint: "duty_roster_ended".into() })
    }

    async fn upsert_articles(&self, articles: &[KnowledgeArticle]) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut n = 0;
        for a in articles {
            let added = sqlx::query(
                "INSERT INTO knowledge_articles (id, kind, subtype, title, body, tags, updated_at, updated_by, revision)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&a.id)
            .bind(a.kind.map(|k| k.code()))
            .bind(a.subtype.map(|s| s.code()))
            .bind(&a.title)
            .bind(&a.body)
            .bind(&a.tags)
            .bind(a.updated_at)
            .bind(&a.updated_by)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if added == 1 {
                insert_revision(&mut tx, &KnowledgeArticle { revision: 1, ..a.clone() }, "add").await?;
            }
            n += added;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn get_article(&self, id: &str) -> StoreResult<KnowledgeArticle> {
        let row = sqlx::query(&format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        article_from_row(&row)
    }

    async fn list_articles(&self, include_retired: bool, limit: u32) -> StoreResult<Vec<KnowledgeArticle>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles"));
        if !include_retired {
            qb.push(" WHERE retired_at IS NULL");
        }
        qb.push(" ORDER BY title, id LIMIT ");
        qb.push_bind(i64::from(limit.clamp(1, 10_000)));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(article_from_row).collect()
    }

    async fn revise_article(&self, a: &KnowledgeArticle, change: &str) -> StoreResult<KnowledgeArticle> {
        let retire = match change {
            "edit" => false,
            "retire" => true,
            other => return Err(StoreError::Database(format!("unknown knowledge-base change {other}"))),
        };
        let next = KnowledgeArticle {
            revision: a.revision + 1,
            retired_at: retire.then_some(a.updated_at),
            ..a.clone()
        };
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let n = sqlx::query(
            "UPDATE knowledge_articles SET kind = $2, subtype = $3, title = $4, body = $5, tags = $6, updated_at = $7,
               updated_by = $8, revision = $9, retired_at = $10
             WHERE id = $1 AND revision = $11 AND retired_at IS NULL",
        )
        .bind(&next.id)
        .bind(next.kind.map(|k| k.code()))
        .bind(next.subtype.map(|s| s.code()))
        .bind(&next.title)
        .bind(&next.body)
        .bind(&next.tags)
        .bind(next.updated_at)
        .bind(&next.updated_by)
        .bind(next.revision)
        .bind(next.retired_at)
        .bind(a.revision)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            drop(tx);
            self.get_article(&a.id).await?;
            return Err(StoreError::Constraint { constraint: ARTICLE_CONFLICT.into() });
        }
        insert_revision(&mut tx, &next, change).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(next)
    }

    async fn article_revisions(&self, id: &str) -> StoreResult<Vec<ArticleRevision>> {
        let rows = sqlx::query(
            "SELECT revision, change, at, by_staff, kind, subtype, title, body, tags FROM knowledge_revisions
             WHERE article_id = $1 ORDER BY revision",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ArticleRevision {
                    revision: r.try_get("revision").map_err(db_err)?,
                    change: r.try_get("change").map_err(db_err)?,
                    at: r.try_get("at").map_err(db_err)?,
                    by: r.try_get("by_staff").map_err(db_err)?,
                    kind: opt_coded("kind", r.try_get("kind").map_err(db_err)?, OrderKind::parse)?,
                    subtype: opt_coded("subtype", r.try_get("subtype").map_err(db_err)?, SubType::parse)?,
                    title: r.try_get("title").map_err(db_err)?,
                    body: r.try_get("body").map_err(db_err)?,
                    tags: r.try_get("tags").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn search_articles(&self, q: &str, kind: Option<OrderKind>, limit: u32) -> StoreResult<Vec<KnowledgeArticle>> {
        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles WHERE retired_at IS NULL"));
        for word in q.split_whitespace().take(8) {
            let pattern = format!("%{}", like_prefix(&word.to_lowercase()));
            qb.push(" AND (LOWER(title) LIKE ");
            qb.push_bind(pattern.clone());
            qb.push(" ESCAPE '\\' OR LOWER(body) LIKE ");
            qb.push_bind(pattern.clone());
            qb.push(" ESCAPE '\\' OR LOWER(tags) LIKE ");
            qb.push_bind(pattern);
            qb.push(" ESCAPE '\\')");
        }
        if let Some(k) = kind {
            qb.push(" AND (kind IS NULL OR kind = ");
            qb.push_bind(k.code());
            qb.push(")");
        }
        qb.push(" ORDER BY title, id LIMIT ");
        qb.push_bind(i64::from(limit.clamp(1, 500)));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(article_from_row).collect()
    }

    async fn record_call(&self, c: &IncomingCall) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO screen_pops (agent_id, phone, at, posted_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (agent_id) DO UPDATE SET phone = excluded.phone, at = excluded.at, posted_by = excluded.posted_by",
        )
        .bind(&c.agent_id)
        .bind(&c.phone)
        .bind(c.at)
        .bind(&c.posted_by)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn latest_call(&self, agent_id: &str) -> StoreResult<Option<IncomingCall>> {
        let row = sqlx::query("SELECT agent_id, phone, at, posted_by FROM screen_pops WHERE agent_id = $1")
            .bind(agent_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            Ok(IncomingCall {
                agent_id: r.try_get("agent_id").map_err(db_err)?,
                phone: r.try_get("phone").map_err(db_err)?,
                at: r.try_get("at").map_err(db_err)?,
                posted_by: r.try_get("posted_by").map_err(db_err)?,
            })
        })
        .transpose()
    }
}

const DUTY_COLUMNS: &str = "d.id, d.bureau_id, d.staff_id, d.duty, d.level, d.crew_name, d.vehicle, d.starts_at,
    d.ends_at, d.created_at, d.created_by, d.ended_at, d.ended_by";

fn duty_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<DutyShift> {
    Ok(DutyShift {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        staff_id: r.try_get("staff_id").map_err(db_err)?,
        duty: r.try_get("duty").map_err(db_err)?,
        level: r.try_get("level").map_err(db_err)?,
        crew_name: r.try_get("crew_name").map_err(db_err)?,
        vehicle: r.try_get("vehicle").map_err(db_err)?,
        starts_at: r.try_get("starts_at").map_err(db_err)?,
        ends_at: r.try_get("ends_at").map_err(db_err)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
        created_by: r.try_get("created_by").map_err(db_err)?,
        ended_at: r.try_get("ended_at").map_err(db_err)?,
        ended_by: r.try_get("ended_by").map_err(db_err)?,
        phone: r.try_get("phone").map_err(db_err)?,
    })
}

const ARTICLE_COLUMNS: &str = "id, kind, subtype, title, body, tags, updated_at, updated_by, revision, retired_at";

fn article_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<KnowledgeArticle> {
    Ok(KnowledgeArticle {
        id: r.try_get("id").map_err(db_err)?,
        kind: opt_coded("kind", r.try_get("kind").map_err(db_err)?, OrderKind::parse)?,
        subtype: opt_coded("subtype", r.try_get("subtype").map_err(db_err)?, SubType::parse)?,
        title: r.try_get("title").map_err(db_err)?,
        body: r.try_get("body").map_err(db_err)?,
        tags: r.try_get("tags").map_err(db_err)?,
        updated_at: r.try_get("updated_at").map_err(db_err)?,
        updated_by: r.try_get("updated_by").map_err(db_err)?,
        revision: r.try_get("revision").map_err(db_err)?,
        retired_at: r.try_get("retired_at").map_err(db_err)?,
    })
}

/// Appends a revision of an answer to its history, as it reads after the change.
async fn insert_revision(
    tx: &mut sqlx::Transaction<'_, Db>,
    a: &KnowledgeArticle,
    change: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO knowledge_revisions (article_id, revision, change, at, by_staff, kind, subtype, title, body, tags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&a.id)
    .bind(a.revision)
    .bind(change)
    .bind(a.updated_at)
    .bind(&a.updated_by)
    .bind(a.kind.map(|k| k.code()))
    .bind(a.subtype.map(|s| s.code()))
    .bind(&a.title)
    .bind(&a.body)
    .bind(&a.tags)
    .execute(&mut **tx)
    .await
    .map_err(|e| match db_err(e) {
        StoreError::Constraint { .. } => StoreError::Constraint { constraint: ARTICLE_CONFLICT.into() },
        other => other,
    })?;
    Ok(())
}

/// Who is on duty, kept for a few seconds per bureau: intake asks for every fault repair, and the
/// answer changes only when the roster does. A roster change through this store clears it at
/// once; the generation counter keeps a read that raced with a change from being cached after it.
/// Another process's change shows within [`ROSTER_CACHE_SECS`].
#[derive(Default)]
struct RosterCache {
    inner: std::sync::Mutex<RosterCacheInner>,
}

#[derive(Default)]
struct RosterCacheInner {
    generation: u64,
    /// bureau → (read at, the window `[from, until)` of `at` covered, the shifts on duty at some
    /// instant of it)
    bureaus: std::collections::HashMap<String, (std::time::Instant, i64, i64, Vec<DutyShift>)>,
}

impl RosterCache {
    /// How far ahead of the `at` asked for a read covers.
    const WINDOW_SECS: i64 = 60;

    fn lock(&self) -> std::sync::MutexGuard<'_, RosterCacheInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn on_duty_at(shifts: &[DutyShift], at: i64) -> Vec<DutyShift> {
        shifts
            .iter()
            .filter(|s| s.starts_at <= at && s.ends_at > at && s.ended_at.is_none_or(|e| e > at))
            .cloned()
            .collect()
    }

    fn get(&self, bureau_id: &str, at: i64) -> Option<Vec<DutyShift>> {
        let inner = self.lock();
        let (read, from, until, shifts) = inner.bureaus.get(bureau_id)?;
        let fresh = read.elapsed() < std::time::Duration::from_secs(ROSTER_CACHE_SECS as u64);
        (fresh && *from <= at && at < *until).then(|| Self::on_duty_at(shifts, at))
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }

    fn put(&self, generation: u64, bureau_id: &str, from: i64, until: i64, shifts: Vec<DutyShift>) {
        let mut inner = self.lock();
        if inner.generation == generation {
            inner.bureaus.insert(bureau_id.to_string(), (std::time::Instant::now(), from, until, shifts));
        }
    }

    fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.bureaus.clear();
    }
}
