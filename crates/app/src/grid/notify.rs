//! Telling customers about outages through the notification outbox (SMS to the phone on record).
//! All the notices of one event are written in one batch. Keys make every notice idempotent: `outage:<id>:<purpose>:<account>` and
//! `plan:<id>:notice:<account>`, so a retried request never sends twice.

use crate::error::AppResult;
use crate::outbox::{self, Notification};
use bureau_store::{DynStore, Scope};

/// Enqueues one SMS per customer with a phone at the given load points, all in one write; returns
/// how many customers were addressed (a notice already stored under its key is not stored again).
#[allow(clippy::too_many_arguments)]
pub async fn sms_to_customers_at(
    store: &DynStore,
    bureau_id: &str,
    loads: &[String],
    key_prefix: &str,
    subject: &str,
    body: &str,
    not_before: Option<i64>,
    now: i64,
) -> AppResult<u64> {
    let customers = store.customers_at(&Scope::Bureaus(vec![bureau_id.into()]), loads).await?;
    let mut msgs = Vec::with_capacity(customers.len());
    for c in customers {
        let Some(phone) = c.phone.as_deref().filter(|p| !p.trim().is_empty()) else { continue };
        let mut msg =
            Notification::new(format!("{key_prefix}:{}", c.id.as_str()), "sms", phone, subject, body)
                .with_data(serde_json::json!({"customer_id": c.id.as_str(), "supply_point": c.supply_point}));
        if let Some(t) = not_before {
            msg = msg.not_before(t);
        }
        msgs.push(outbox::message(msg, now)?);
    }
    store.enqueue_many(&msgs).await?;
    Ok(msgs.len() as u64)
}

/// Local (Beijing) time of a Unix instant as `YYYY-MM-DD HH:MM`.
pub fn local_time(t: i64) -> String {
    jiff::Timestamp::from_second(t + super::stats::LOCAL_OFFSET_S)
        .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}
