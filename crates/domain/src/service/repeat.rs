//! Repeat detection: the same customer about the same matter within a window.
//!
//! A **repeat complaint** (重复投诉), in China Southern Grid's wording, is the same customer
//! complaining again about the same matter after a complaint or opinion order was closed; three or
//! more repeats go to the bureau's leaders and the provincial company, which supervises the case
//! (shititong.cn exam pages, **question bank, answer unseen**; service-rules.md §2.3). No State Grid
//! rule was found. Treating an order that arrives while an earlier one on the same matter is still
//! open as a **duplicate** to be merged is our design choice, and so is the default window.
//!
//! "The same matter": when both orders carry a matter key (set by the agent, e.g. an address, a
//! meter number or a short topic), the keys are compared after trimming, lower-casing and folding
//! whitespace, whatever the kinds; otherwise the kind and the sub-type must both be equal.

use crate::error::FieldError;
use crate::service::taxonomy::{OrderKind, SubType};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// What repeat detection needs to know of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRef {
    pub id: String,
    /// The account number (户号) or, for a caller without one, a stable caller key (phone).
    pub customer: String,
    pub kind: OrderKind,
    pub subtype: Option<SubType>,
    /// An optional key for the matter, e.g. `meter 3301234567` or `transformer T-12 voltage`.
    pub matter: Option<String>,
    pub accepted: Timestamp,
    /// When the order was closed (archived); `None` while open.
    pub closed: Option<Timestamp>,
}

/// How far back to look, and when repeats escalate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RepeatPolicy {
    /// Earlier orders accepted at most this long before the new one are considered.
    pub window: SignedDuration,
    /// Escalate to the bureau's leaders at this many repeats.
    pub escalate_at: u32,
}

impl Default for RepeatPolicy {
    /// 30 days (our choice; no rule found) and escalation at 3 repeats (China Southern Grid,
    /// question bank).
    fn default() -> RepeatPolicy {
        RepeatPolicy { window: SignedDuration::from_hours(30 * 24), escalate_at: 3 }
    }
}

impl RepeatPolicy {
    pub fn new(window: SignedDuration, escalate_at: u32) -> Result<RepeatPolicy, FieldError> {
        if window <= SignedDuration::ZERO {
            return Err(FieldError::invalid(
                "window",
                "时间窗口应大于零",
                "the window must be longer than zero",
            ));
        }
        if escalate_at == 0 {
            return Err(FieldError::invalid(
                "escalate_at",
                "升级次数至少为1",
                "escalate_at must be at least 1",
            ));
        }
        Ok(RepeatPolicy { window, escalate_at })
    }
}

/// How an earlier order relates to the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The earlier order was still open when the new one was accepted: a candidate for merging.
    Duplicate,
    /// The earlier order had been closed: the new one is a repeat (重复).
    Repeat,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepeatMatch {
    pub id: String,
    pub relation: Relation,
    #[serde(serialize_with = "crate::calendar::beijing::serialize")]
    pub accepted: Timestamp,
}

/// The result of a check: the earlier orders on the same matter, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RepeatCheck {
    pub matches: Vec<RepeatMatch>,
    /// How many closed orders on the same matter came before within the window.
    pub repeat_count: u32,
    /// `repeat_count` reached the policy's `escalate_at`.
    pub escalate: bool,
}

impl RepeatCheck {
    pub fn is_duplicate(&self) -> bool {
        self.matches.iter().any(|m| m.relation == Relation::Duplicate)
    }
}

fn fold(key: &str) -> String {
    key.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether two orders are from the same customer about the same matter (see the module doc).
pub fn same_matter(a: &OrderRef, b: &OrderRef) -> bool {
    if a.customer.trim() != b.customer.trim() || a.customer.trim().is_empty() {
        return false;
    }
    match (&a.matter, &b.matter) {
        (Some(x), Some(y)) if !x.trim().is_empty() && !y.trim().is_empty() => fold(x) == fold(y),
        _ => a.kind == b.kind && a.subtype == b.subtype,
    }
}

/// Finds the earlier orders of `history` on the same matter as `new` within the window.
pub fn check_repeat(new: &OrderRef, history: &[OrderRef], policy: &RepeatPolicy) -> RepeatCheck {
    let since = new.accepted.checked_sub(policy.window).unwrap_or(Timestamp::MIN);
    let mut matches: Vec<RepeatMatch> = history
        .iter()
        .filter(|o| {
            o.id != new.id && o.accepted >= since && o.accepted <= new.accepted && same_matter(o, new)
        })
        .map(|o| RepeatMatch {
            id: o.id.clone(),
            relation: match o.closed {
                Some(c) if c <= new.accepted => Relation::Repeat,
                _ => Relation::Duplicate,
            },
            accepted: o.accepted,
        })
        .collect();
    matches.sort_by(|a, b| b.accepted.cmp(&a.accepted).then_with(|| a.id.cmp(&b.id)));
    let repeat_count = matches.iter().filter(|m| m.relation == Relation::Repeat).count() as u32;
    RepeatCheck { matches, repeat_count, escalate: repeat_count >= policy.escalate_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn order(
        id: &str,
        customer: &str,
        subtype: Option<SubType>,
        accepted: &str,
        closed: Option<&str>,
    ) -> OrderRef {
        OrderRef {
            id: id.into(),
            customer: customer.into(),
            kind: OrderKind::Complaint,
            subtype,
            matter: None,
            accepted: ts(accepted),
            closed: closed.map(ts),
        }
    }

    #[test]
    fn repeats_duplicates_and_the_window() {
        let b = Some(SubType::Business);
        let history = vec![
            order("A", "3301000001", b, "2026-01-05T10:00:00+08:00", Some("2026-01-09T10:00:00+08:00")),
            order("B", "3301000001", b, "2026-01-20T10:00:00+08:00", Some("2026-01-22T10:00:00+08:00")),
            // Outside a 30-day window of 2026-02-10: accepted 2026-01-10 09:59 is 31 days before.
            order("C", "3301000001", b, "2026-01-10T09:59:00+08:00", Some("2026-01-11T10:00:00+08:00")),
            // Another customer, another class.
            order("D", "3301000002", b, "2026-02-01T10:00:00+08:00", None),
            order("E", "3301000001", Some(SubType::Service), "2026-02-01T10:00:00+08:00", None),
            // Still open: a duplicate.
            order("F", "3301000001", b, "2026-02-09T10:00:00+08:00", None),
        ];
        let new = order("N", " 3301000001 ", b, "2026-02-10T10:00:00+08:00", None);
        let r = check_repeat(&new, &history, &RepeatPolicy::default());
        let ids: Vec<(&str, Relation)> = r.matches.iter().map(|m| (m.id.as_str(), m.relation)).collect();
        assert_eq!(ids, [("F", Relation::Duplicate), ("B", Relation::Repeat)]);
        assert_eq!((r.repeat_count, r.escalate, r.is_duplicate()), (1, false, true));
        // A 40-day window reaches A and C too: 3 repeats escalate.
        let wide = RepeatPolicy::new(SignedDuration::from_hours(40 * 24), 3).unwrap();
        let r = check_repeat(&new, &history, &wide);
        assert_eq!(r.repeat_count, 3);
        assert!(r.escalate);
        // The window is configurable down to the minute: exactly 31 days back is still inside.
        let edge = RepeatPolicy::new(SignedDuration::from_mins(31 * 24 * 60 + 1), 9).unwrap();
        assert!(check_repeat(&new, &history, &edge).matches.iter().any(|m| m.id == "C"));
        // An order is not its own repeat, and later orders do not count.
        let mut with_self = history.clone();
        with_self.push(new.clone());
        with_self.push(order("G", "3301000001", b, "2026-02-11T10:00:00+08:00", None));
        assert_eq!(check_repeat(&new, &with_self, &RepeatPolicy::default()).matches.len(), 2);
    }

    #[test]
    fn a_matter_key_links_orders_of_different_kinds() {
        let mut earlier =
            order("A", "3301000001", None, "2026-03-01T10:00:00+08:00", Some("2026-03-02T10:00:00+08:00"));
        earlier.kind = OrderKind::Opinion;
        earlier.matter = Some("Transformer  T-12 low voltage".into());
        let mut new =
            order("N", "3301000001", Some(SubType::SupplyQuality), "2026-03-05T10:00:00+08:00", None);
        assert!(!same_matter(&earlier, &new), "different kinds and no key on the new order");
        new.matter = Some(" transformer t-12 LOW voltage".into());
        assert!(same_matter(&earlier, &new));
        let r = check_repeat(&new, &[earlier], &RepeatPolicy::default());
        assert_eq!(r.repeat_count, 1);
        // An empty customer key never matches.
        let a = order("A", "", None, "2026-03-01T10:00:00+08:00", None);
        assert!(!same_matter(&a, &a.clone()));
    }

    #[test]
    fn a_policy_must_make_sense() {
        assert_eq!(RepeatPolicy::new(SignedDuration::ZERO, 3).unwrap_err().field, "window");
        assert_eq!(RepeatPolicy::new(SignedDuration::from_hours(1), 0).unwrap_err().field, "escalate_at");
    }
}
