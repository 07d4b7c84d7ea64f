use super::*;
use crate::service::pause::apply_pauses;
use crate::service::sla::RuleBook;
use Event as E;

fn run(kind: OrderKind, events: &[Event]) -> Result<OrderState, FieldError> {
    events.iter().try_fold(OrderState::new(kind), |s, e| s.apply(*e))
}

const SATISFIED: Event = E::CallBack { satisfaction: Satisfaction::Satisfied };
const DISSATISFIED: Event = E::CallBack { satisfaction: Satisfaction::Dissatisfied };
const WAIT: Event = E::Pause { reason: PauseReason::WaitingForCustomer };

#[test]
fn fault_repair_full_path() {
    let s = run(
        OrderKind::FaultRepair,
        &[E::Dispatch, E::Take, E::Arrive, E::Restore, E::Reply, SATISFIED, E::Archive],
    )
    .unwrap();
    assert_eq!(s.status, Status::Archived);
    assert!(s.allowed().is_empty());
    // A fault inside the customer's installation: handled, nothing to restore.
    let s = run(OrderKind::FaultRepair, &[E::Dispatch, E::Take, E::Arrive, E::Handle, E::Reply]).unwrap();
    assert_eq!(s.status, Status::Replied);
}

#[test]
fn fault_repair_refuses_skipped_steps() {
    // Cannot restore before arriving, nor handle from taken, nor archive without a call-back.
    let taken = run(OrderKind::FaultRepair, &[E::Dispatch, E::Take]).unwrap();
    let e = taken.apply(E::Restore).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("event", "out_of_order"));
    assert!(e.message.en.contains("allowed now: arrive, pause"), "{}", e.message.en);
    assert!(taken.apply(E::Handle).is_err());
    let replied =
        run(OrderKind::FaultRepair, &[E::Dispatch, E::Take, E::Arrive, E::Restore, E::Reply]).unwrap();
    assert!(replied.apply(E::Archive).is_err());
    assert_eq!(replied.allowed(), [Action::CallBack]);
    // Accepted orders must be dispatched first.
    assert!(OrderState::new(OrderKind::FaultRepair).apply(E::Take).is_err());
    assert!(OrderState::new(OrderKind::FaultRepair).apply(E::Handle).is_err());
}

#[test]
fn consultation_short_path_and_optional_call_back() {
    let s = run(OrderKind::Consultation, &[E::Handle, E::Reply, E::Archive]).unwrap();
    assert_eq!(s.status, Status::Archived);
    let s = run(OrderKind::Consultation, &[E::Dispatch, E::Take, E::Handle, E::Reply, SATISFIED, E::Archive])
        .unwrap();
    assert_eq!(s.status, Status::Archived);
    // A consultation never goes on site.
    assert!(run(OrderKind::Consultation, &[E::Dispatch, E::Take, E::Arrive]).is_err());
}

#[test]
fn complaint_reopened_after_a_dissatisfied_call_back() {
    let path = [E::Dispatch, E::Take, E::Handle, E::Reply, DISSATISFIED];
    let s = run(OrderKind::Complaint, &path).unwrap();
    assert_eq!(s.satisfaction, Some(Satisfaction::Dissatisfied));
    assert_eq!(s.allowed(), [Action::Archive, Action::Reopen]);
    let s = s.apply(E::Reopen).unwrap();
    assert_eq!((s.status, s.reopened, s.satisfaction), (Status::Dispatched, 1, None));
    let s = run(
        OrderKind::Complaint,
        &[&path[..], &[E::Reopen, E::Take, E::Arrive, E::Handle, E::Reply, SATISFIED, E::Archive]].concat(),
    )
    .unwrap();
    assert_eq!((s.status, s.reopened), (Status::Archived, 1));
    // Satisfied or fairly satisfied: no reopening.
    let s = run(
        OrderKind::Complaint,
        &[
            E::Dispatch,
            E::Take,
            E::Handle,
            E::Reply,
            E::CallBack { satisfaction: Satisfaction::FairlySatisfied },
        ],
    )
    .unwrap();
    assert!(s.apply(E::Reopen).is_err());
    // Only complaints are reopened.
    let s =
        run(OrderKind::ServiceRequest, &[E::Dispatch, E::Take, E::Handle, E::Reply, DISSATISFIED]).unwrap();
    assert_eq!(s.apply(E::Reopen).unwrap_err().code, "out_of_order");
}

#[test]
fn opinion_and_praise() {
    assert_eq!(
        run(OrderKind::Opinion, &[E::Handle, E::Reply, SATISFIED, E::Archive]).unwrap().status,
        Status::Archived
    );
    assert!(run(OrderKind::Opinion, &[E::Dispatch, E::Take, E::Arrive]).is_err());
    assert!(run(OrderKind::Complaint, &[E::Handle]).is_err());
}

#[test]
fn pause_and_resume_return_to_the_same_state() {
    let s = run(OrderKind::ServiceRequest, &[E::Dispatch, E::Take, E::Arrive, WAIT]).unwrap();
    assert_eq!(s.status, Status::Paused);
    assert_eq!(s.paused, Some((PauseReason::WaitingForCustomer, Status::Arrived)));
    assert_eq!(s.allowed(), [Action::Resume]);
    assert!(s.apply(E::Handle).is_err());
    assert!(s.apply(WAIT).is_err());
    let s = s.apply(E::Resume).unwrap();
    assert_eq!((s.status, s.paused), (Status::Arrived, None));
    // Not before dispatch, not after handling, and no resume without a pause.
    assert!(OrderState::new(OrderKind::Complaint).apply(WAIT).is_err());
    assert!(run(OrderKind::Complaint, &[E::Dispatch, E::Take, E::Handle, WAIT]).is_err());
    assert!(run(OrderKind::Complaint, &[E::Dispatch, E::Resume]).is_err());
}

/// Every (kind, status, action) pair that is allowed, listed by hand; everything else is refused.
#[test]
fn the_whole_transition_table() {
    use Action as A;
    use Status as S;
    let common = [
        (S::Accepted, A::Dispatch, S::Dispatched),
        (S::Dispatched, A::Take, S::Taken),
        (S::Dispatched, A::Pause, S::Paused),
        (S::Taken, A::Pause, S::Paused),
        (S::Handled, A::Reply, S::Replied),
        (S::Replied, A::CallBack, S::CalledBack),
        (S::CalledBack, A::Archive, S::Archived),
    ];
    for kind in OrderKind::ALL.iter().copied() {
        let mut expected: Vec<(S, A, S)> = common.to_vec();
        match kind {
            OrderKind::FaultRepair => expected.extend([
                (S::Taken, A::Arrive, S::Arrived),
                (S::Arrived, A::Pause, S::Paused),
                (S::Arrived, A::Restore, S::Restored),
                (S::Arrived, A::Handle, S::Handled),
                (S::Restored, A::Reply, S::Replied),
            ]),
            OrderKind::Complaint | OrderKind::Report | OrderKind::ServiceRequest => expected.extend([
                (S::Taken, A::Arrive, S::Arrived),
                (S::Arrived, A::Pause, S::Paused),
                (S::Taken, A::Handle, S::Handled),
                (S::Arrived, A::Handle, S::Handled),
            ]),
            OrderKind::Opinion => {
                expected.extend([(S::Accepted, A::Handle, S::Handled), (S::Taken, A::Handle, S::Handled)])
            }
            OrderKind::Consultation => expected.extend([
                (S::Accepted, A::Handle, S::Handled),
                (S::Taken, A::Handle, S::Handled),
                (S::Replied, A::Archive, S::Archived),
            ]),
        }
        for from in Status::ALL.iter().copied().filter(|s| *s != S::Paused) {
            for action in Action::ALL.iter().copied() {
                if matches!(action, A::Resume | A::Reopen) {
                    continue; // depend on more than the status; tested above
                }
                let st = OrderState { status: from, ..OrderState::new(kind) };
                let want = expected.iter().find(|(f, a, _)| *f == from && *a == action).map(|(_, _, t)| *t);
                assert_eq!(st.target(action), want, "{kind:?} {from:?} {action:?}");
            }
        }
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn replaying_a_trail_gives_times_and_pauses_for_the_clock() {
    let accepted = ts("2026-03-02T10:00:00+08:00");
    let events = [
        (ts("2026-03-02T10:05:00+08:00"), E::Dispatch),
        (ts("2026-03-02T11:00:00+08:00"), E::Take),
        (ts("2026-03-03T14:00:00+08:00"), WAIT),
        (ts("2026-03-03T16:30:00+08:00"), E::Resume),
        (ts("2026-03-04T09:00:00+08:00"), E::Handle),
        (ts("2026-03-04T10:00:00+08:00"), E::Reply),
    ];
    let t = replay(OrderKind::Complaint, accepted, &events).unwrap();
    assert_eq!(t.state.status, Status::Replied);
    assert_eq!(t.reached_at(Status::Taken), Some(ts("2026-03-02T11:00:00+08:00")));
    assert_eq!(t.reached_at(Status::Paused), None);
    assert_eq!(
        t.pauses,
        [Pause { from: ts("2026-03-03T14:00:00+08:00"), to: ts("2026-03-03T16:30:00+08:00") }]
    );
    assert_eq!(t.paused_since, None);
    // Feed the pauses to the reply clock: due Mon 9 Mar 10:00, moved 2 h 30 min of working time.
    let b = RuleBook::builtin();
    let d = b.deadlines(OrderKind::Complaint, None, None, accepted).unwrap();
    let m = apply_pauses(d[1].clock, accepted, d[1].due, &t.pauses, b.calendar()).unwrap();
    assert_eq!(crate::calendar::beijing::format_rfc3339(m.due), "2026-03-09T12:30:00+08:00");

    // Errors name the event.
    let mut bad = events.to_vec();
    bad[4].1 = E::Archive;
    assert_eq!(replay(OrderKind::Complaint, accepted, &bad).unwrap_err().field, "events[4]");
    let mut bad = events.to_vec();
    bad[2].0 = ts("2026-03-02T09:00:00+08:00");
    assert_eq!(replay(OrderKind::Complaint, accepted, &bad).unwrap_err().field, "events[2].at");
    // A pause still going on.
    let t = replay(OrderKind::Complaint, accepted, &events[..3]).unwrap();
    assert_eq!(t.paused_since, Some(ts("2026-03-03T14:00:00+08:00")));
}

#[test]
fn events_read_from_json() {
    let e: Event =
        serde_json::from_str(r#"{"event":"call_back","satisfaction":"fairly_satisfied"}"#).unwrap();
    assert_eq!(e, E::CallBack { satisfaction: Satisfaction::FairlySatisfied });
    let e: Event = serde_json::from_str(r#"{"event":"pause","reason":"waiting_for_third_party"}"#).unwrap();
    assert_eq!(e.action(), Action::Pause);
    assert!(serde_json::from_str::<Event>(r#"{"event":"teleport"}"#).is_err());
}
