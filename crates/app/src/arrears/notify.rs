//! The customer's messages of the arrears workflow, for the outbox. Sent by SMS to the customer's
//! phone; a customer without a phone gets them on the `post` channel (a letter to the address),
//! since the written notice must reach them either way.

use crate::outbox::Notification;
use bureau_domain::calendar::beijing;
use bureau_domain::money::Fen;
use bureau_domain::register::Customer;
use bureau_store::ArrearsStepRow;
use jiff::civil::Date;
use jiff::Timestamp;

fn when(s: Option<i64>) -> String {
    s.and_then(|s| Timestamp::from_second(s).ok())
        .map(|t| beijing::local(t).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn message(c: &Customer, step: &ArrearsStepRow, subject: &str, body: String) -> Notification {
    let (channel, recipient) = match c.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => ("sms", p.to_string()),
        None => ("post", format!("{} {}", c.address, c.name)),
    };
    Notification::new(
        format!("arrears:{}:{}:{}", step.customer_id, step.case_no, step.step),
        channel,
        recipient,
        subject,
        body,
    )
    .with_data(serde_json::json!({
        "customer_id": step.customer_id,
        "case_no": step.case_no,
        "step": step.step,
        "planned_cut_at": step.planned_cut_at.map(|s| when(Some(s))),
        "due_at": step.due_at.map(|s| when(Some(s))),
    }))
}

/// 电费催缴通知.
pub fn reminder(c: &Customer, s: &ArrearsStepRow, arrears: Fen, oldest_due: Option<Date>) -> Notification {
    let due = oldest_due.map(|d| d.to_string()).unwrap_or_default();
    message(
        c,
        s,
        "电费催缴通知 / Payment reminder",
        format!(
            "尊敬的{}（户号{}）：您应于{due}前缴纳的电费尚未结清，欠费{arrears}元，请尽快缴纳。\
             Account {}: electricity charges due {due} are unpaid ({arrears} yuan); please pay soon.",
            c.name, s.customer_id, s.customer_id
        ),
    )
}

/// 停电通知书: the written disconnection notice.
pub fn notice(c: &Customer, s: &ArrearsStepRow, arrears: Fen) -> Notification {
    let cut = when(s.planned_cut_at);
    message(
        c,
        s,
        "欠费停电通知书 / Disconnection notice",
        format!(
            "尊敬的{}（户号{}）：您欠缴电费{arrears}元，经催缴仍未结清。依据《电力供应与使用条例》第三十九条，\
             如在{cut}前仍未结清，将于{cut}起中止供电。结清后24小时内恢复供电。\
             Account {}: {arrears} yuan unpaid after reminders. Unless paid before {cut}, supply will be \
             stopped at {cut}; it is restored within 24 hours of full payment.",
            c.name, s.customer_id, s.customer_id
        ),
    )
}

/// The reminder shortly before the cut.
pub fn final_reminder(c: &Customer, s: &ArrearsStepRow, arrears: Fen) -> Notification {
    let cut = when(s.planned_cut_at);
    message(
        c,
        s,
        "停电前提醒 / Disconnection today",
        format!(
            "尊敬的{}（户号{}）：您欠缴电费{arrears}元，将于{cut}中止供电，请立即缴费。\
             Account {}: {arrears} yuan unpaid; supply will be stopped at {cut}. Please pay now.",
            c.name, s.customer_id, s.customer_id
        ),
    )
}

/// The notice withdrawn after full payment.
pub fn withdrawn(c: &Customer, s: &ArrearsStepRow) -> Notification {
    message(
        c,
        s,
        "停电通知撤销 / Disconnection cancelled",
        format!(
            "尊敬的{}（户号{}）：您的欠费已结清，停电通知撤销，谢谢。\
             Account {}: your arrears are paid; the disconnection is cancelled. Thank you.",
            c.name, s.customer_id, s.customer_id
        ),
    )
}

/// The reconnection order issued after full payment.
pub fn reconnection(c: &Customer, s: &ArrearsStepRow) -> Notification {
    let by = when(s.due_at);
    message(
        c,
        s,
        "复电通知 / Reconnection",
        format!(
            "尊敬的{}（户号{}）：已收到您结清的电费，将于{by}前恢复供电。\
             Account {}: payment received; supply will be restored by {by}.",
            c.name, s.customer_id, s.customer_id
        ),
    )
}
