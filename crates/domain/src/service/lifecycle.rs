//! The lifecycle of a work order as a pure state machine.
//!
//! The 95598 flow (service-rules.md §2.2): 受理 accept → 派单 dispatch → 接单 take → 到达现场
//! arrive → 处理/复电 handle or restore → 回单 reply → 回访 call back → 归档 archive. Which steps a
//! kind goes through is ours to state, following the category descriptions (§2.1):
//!
//! | kind | path |
//! |---|---|
//! | fault_repair | accepted → dispatched → taken → arrived → restored (or handled: nothing to restore, e.g. a fault inside the customer's installation) → replied → called_back → archived |
//! | complaint, report, service_request | accepted → dispatched → taken → [arrived →] handled → replied → called_back → archived |
//! | opinion | as complaint but never arrives; may also be handled at acceptance (praise) |
//! | consultation | accepted → handled → replied → archived (answered from the knowledge base), or dispatched to a unit first; the call-back is optional |
//!
//! Every kind but consultation is called back before it is archived: "call back after every
//! reply" (§2.2, **unverified**). The customer's rating at call-back is 满意 / 基本满意 / 不满意.
//! A complaint rated 不满意 may be **reopened** (sent back to the handling unit, status
//! `dispatched`) or archived as it is when the bureau judges the handling right.
//!
//! Pausing (挂起) stops the clock while waiting for the customer or a third party; it is allowed
//! while the order is with the handling unit (dispatched, taken, arrived) and resumes to the state
//! it left. Any other event while paused is refused.

use crate::error::FieldError;
use crate::org::coded_enum;
use crate::service::pause::{Pause, PauseReason};
use crate::service::taxonomy::OrderKind;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// Where a work order stands.
    Status, "status" {
        Accepted = "accepted", "已受理", "Accepted";
        Dispatched = "dispatched", "已派单", "Dispatched";
        Taken = "taken", "已接单", "Taken";
        Arrived = "arrived", "已到达现场", "Arrived on site";
        Restored = "restored", "已恢复供电", "Supply restored";
        Handled = "handled", "已处理", "Handled";
        Replied = "replied", "已回单", "Replied";
        CalledBack = "called_back", "已回访", "Called back";
        Archived = "archived", "已归档", "Archived";
        Paused = "paused", "挂起", "Paused";
    }
);

coded_enum!(
    /// What can happen to a work order. `accept` is the first entry of every trail (seq 0, written
    /// with the order at intake: who accepted it, when, through which channel); it is never an
    /// action on an existing order.
    Action, "event" {
        Accept = "accept", "受理", "Accept";
        Dispatch = "dispatch", "派单", "Dispatch";
        Take = "take", "接单", "Take";
        Arrive = "arrive", "到达现场", "Arrive";
        Restore = "restore", "恢复供电", "Restore supply";
        Handle = "handle", "处理完成", "Handle";
        Reply = "reply", "回单", "Reply";
        CallBack = "call_back", "回访", "Call back";
        Archive = "archive", "归档", "Archive";
        Pause = "pause", "挂起", "Pause";
        Resume = "resume", "恢复计时", "Resume";
        Reopen = "reopen", "重新处理", "Reopen";
    }
);

coded_enum!(
    /// The customer's rating at call-back (回访满意度).
    Satisfaction, "satisfaction" {
        Satisfied = "satisfied", "满意", "Satisfied";
        FairlySatisfied = "fairly_satisfied", "基本满意", "Fairly satisfied";
        Dissatisfied = "dissatisfied", "不满意", "Dissatisfied";
    }
);

/// An event with its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Dispatch,
    Take,
    Arrive,
    Restore,
    Handle,
    Reply,
    CallBack { satisfaction: Satisfaction },
    Archive,
    Pause { reason: PauseReason },
    Resume,
    Reopen,
}

impl Event {
    pub fn action(self) -> Action {
        match self {
            Event::Dispatch => Action::Dispatch,
            Event::Take => Action::Take,
            Event::Arrive => Action::Arrive,
            Event::Restore => Action::Restore,
            Event::Handle => Action::Handle,
            Event::Reply => Action::Reply,
            Event::CallBack { .. } => Action::CallBack,
            Event::Archive => Action::Archive,
            Event::Pause { .. } => Action::Pause,
            Event::Resume => Action::Resume,
            Event::Reopen => Action::Reopen,
        }
    }
}

/// Whether an order of this kind must be called back before it is archived.
pub fn call_back_required(kind: OrderKind) -> bool {
    kind != OrderKind::Consultation
}

/// The state of one work order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OrderState {
    pub kind: OrderKind,
    pub status: Status,
    /// While paused: why, and the status the order returns to on resume.
    pub paused: Option<(PauseReason, Status)>,
    /// The rating of the latest call-back.
    pub satisfaction: Option<Satisfaction>,
    /// How many times the order was reopened after a dissatisfied call-back.
    pub reopened: u32,
}

impl OrderState {
    /// A newly accepted order.
    pub fn new(kind: OrderKind) -> OrderState {
        OrderState { kind, status: Status::Accepted, paused: None, satisfaction: None, reopened: 0 }
    }

    /// The status an action leads to from here, or `None` when it is not allowed.
    fn target(&self, action: Action) -> Option<Status> {
        use Action as A;
        use OrderKind as K;
        use Status as S;
        let k = self.kind;
        let visits_site = matches!(k, K::FaultRepair | K::Complaint | K::Report | K::ServiceRequest);
        match (self.status, action) {
            (S::Paused, A::Resume) => self.paused.map(|(_, back)| back),
            (S::Paused, _) => None,
            (S::Dispatched | S::Taken, A::Pause) => Some(S::Paused),
            (S::Arrived, A::Pause) if visits_site => Some(S::Paused),
            (S::Accepted, A::Dispatch) => Some(S::Dispatched),
            (S::Accepted, A::Handle) if matches!(k, K::Consultation | K::Opinion) => Some(S::Handled),
            (S::Dispatched, A::Take) => Some(S::Taken),
            (S::Taken, A::Arrive) if visits_site => Some(S::Arrived),
            (S::Taken, A::Handle) if k != K::FaultRepair => Some(S::Handled),
            (S::Arrived, A::Restore) if k == K::FaultRepair => Some(S::Restored),
            (S::Arrived, A::Handle) if visits_site => Some(S::Handled),
            (S::Restored, A::Reply) if k == K::FaultRepair => Some(S::Replied),
            (S::Handled, A::Reply) => Some(S::Replied),
            (S::Replied, A::CallBack) => Some(S::CalledBack),
            (S::Replied, A::Archive) if !call_back_required(k) => Some(S::Archived),
            (S::CalledBack, A::Archive) => Some(S::Archived),
            (S::CalledBack, A::Reopen)
                if k == K::Complaint && self.satisfaction == Some(Satisfaction::Dissatisfied) =>
            {
                Some(S::Dispatched)
            }
            _ => None,
        }
    }

    /// The actions allowed now, in order.
    pub fn allowed(&self) -> Vec<Action> {
        Action::ALL.iter().copied().filter(|a| self.target(*a).is_some()).collect()
    }

    /// The state after an event, or an `out_of_order` error naming the field `event` that says
    /// what is allowed instead.
    pub fn apply(&self, event: Event) -> Result<OrderState, FieldError> {
        let action = event.action();
        let Some(status) = self.target(action) else {
            let allowed: Vec<&str> = self.allowed().iter().map(|a| a.code()).collect();
            let (list_zh, list_en) = if allowed.is_empty() {
                ("无（工单已归档）".to_string(), "none (the order is archived)".to_string())
            } else {
                (allowed.join(", "), allowed.join(", "))
            };
            return Err(FieldError::new(
                "event",
                "out_of_order",
                format!(
                    "{}工单处于“{}”状态，不能“{}”；当前可以：{list_zh}",
                    self.kind.name_zh(),
                    self.status.name_zh(),
                    action.name_zh()
                ),
                format!(
                    "a {} order that is {} cannot {}; allowed now: {list_en}",
                    self.kind.code(),
                    self.status.code(),
                    action.code()
                ),
            ));
        };
        let mut next = *self;
        next.status = status;
        match event {
            Event::Pause { reason } => next.paused = Some((reason, self.status)),
            Event::Resume => next.paused = None,
            Event::CallBack { satisfaction } => next.satisfaction = Some(satisfaction),
            Event::Reopen => {
                next.reopened += 1;
                next.satisfaction = None;
            }
            _ => {}
        }
        Ok(next)
    }
}

/// An order's audit trail replayed: its state, when each status was first reached, and its pauses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trail {
    pub state: OrderState,
    /// The first time each status was reached (acceptance included), in order.
    pub reached: Vec<(Status, Timestamp)>,
    /// Closed pauses, for [`crate::service::pause::apply_pauses`].
    pub pauses: Vec<Pause>,
    /// The start of a pause still going on.
    pub paused_since: Option<Timestamp>,
}

impl Trail {
    /// When a status was first reached.
    pub fn reached_at(&self, status: Status) -> Option<Timestamp> {
        self.reached.iter().find(|(s, _)| *s == status).map(|(_, t)| *t)
    }
}

/// Replays the events of an order accepted at `accepted`. Errors name `events[i]`: an event out of
/// order, or one dated before the event before it.
pub fn replay(
    kind: OrderKind,
    accepted: Timestamp,
    events: &[(Timestamp, Event)],
) -> Result<Trail, FieldError> {
    let mut trail = Trail {
        state: OrderState::new(kind),
        reached: vec![(Status::Accepted, accepted)],
        pauses: Vec::new(),
        paused_since: None,
    };
    let mut last = accepted;
    for (i, (at, event)) in events.iter().enumerate() {
        if *at < last {
            return Err(FieldError::new(
                &format!("events[{i}].at"),
                "out_of_order",
                "事件时间早于前一事件",
                "the event is dated before the event before it",
            ));
        }
        last = *at;
        trail.state =
            trail.state.apply(*event).map_err(|e| FieldError { field: format!("events[{i}]"), ..e })?;
        match event {
            Event::Pause { .. } => trail.paused_since = Some(*at),
            Event::Resume => {
                if let Some(from) = trail.paused_since.take() {
                    trail.pauses.push(Pause { from, to: *at });
                }
            }
            _ => {}
        }
        if trail.state.status != Status::Paused && trail.reached_at(trail.state.status).is_none() {
            trail.reached.push((trail.state.status, *at));
        }
    }
    Ok(trail)
}

#[cfg(test)]
mod tests;
