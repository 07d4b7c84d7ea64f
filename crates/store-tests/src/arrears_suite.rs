//! The arrears workflow's record on every database: one open case per customer (also when two
//! passes open it at once), steps kept once by name, work orders completed once, projections that
//! stop at the close, and the lists by scope.
//!
//! Runs after `customers` in the suite: 2301000001–2301000003 are in bureau A, 2302000001 in B.

use bureau_store::*;

fn update(next_step: &str, arrears_fen: i64, at: i64) -> CaseUpdate {
    CaseUpdate {
        oldest_due: "2026-06-21".into(),
        arrears_fen,
        next_step: next_step.into(),
        next_at: Some(at + 3600),
        deadline: None,
        closed_at: None,
        updated_at: at,
    }
}

fn step(customer_id: &str, case_no: i64, name: &str, at: i64) -> ArrearsStepRow {
    ArrearsStepRow {
        customer_id: customer_id.into(),
        case_no,
        step: name.into(),
        at,
        by_staff: "system".into(),
        planned_cut_at: None,
        due_at: None,
        done_at: None,
        done_by: None,
        detail: None,
    }
}

pub(crate) async fn arrears(store: &DynStore) -> anyhow::Result<()> {
    let a = "2301000001";
    assert!(store.arrears_cases_of(a).await?.is_empty());

    // Opening: case 1 with the projection given; opening again finds the same open case.
    let first = store.open_arrears_case(a, "A", 1000, &update("send_reminder", 12_345, 1000)).await?;
    assert_eq!(
        first,
        ArrearsCaseRow {
            customer_id: a.into(),
            case_no: 1,
            bureau_id: "A".into(),
            opened_at: 1000,
            oldest_due: "2026-06-21".into(),
            arrears_fen: 12_345,
            next_step: "send_reminder".into(),
            next_at: Some(4600),
            deadline: None,
            closed_at: None,
            updated_at: 1000,
            steps: Vec::new(),
        }
    );
    let again = store.open_arrears_case(a, "A", 2000, &update("serve_notice", 1, 2000)).await?;
    assert_eq!(again, first, "the open case, untouched");

    // Steps: kept once by name (the first one written stays), returned oldest first.
    assert!(store.record_arrears_step(&step(a, 1, "reminder-1", 1100)).await?);
    assert!(!store.record_arrears_step(&step(a, 1, "reminder-1", 1900)).await?, "a step is taken once");
    let mut notice = step(a, 1, "notice-1", 1200);
    notice.planned_cut_at = Some(9000);
    notice.detail = Some("copy_to_authority".into());
    assert!(store.record_arrears_step(&notice).await?);
    let mut order = step(a, 1, "disconnect", 9000);
    order.planned_cut_at = Some(9000);
    order.due_at = Some(9000 + 86_400);
    assert!(store.record_arrears_step(&order).await?);
    // A step of a case that does not exist is refused.
    assert!(store.record_arrears_step(&step(a, 7, "reminder-1", 1100)).await.is_err());
    let case = store.arrears_cases_of(a).await?.remove(0);
    assert_eq!(case.steps, vec![step(a, 1, "reminder-1", 1100), notice.clone(), order.clone()]);

    // A work order is completed once; a step without a deadline is not a work order.
    assert!(!store.complete_arrears_order(a, 1, "reminder-1", 9500, "crew1").await?);
    assert!(!store.complete_arrears_order(a, 1, "reconnect", 9500, "crew1").await?, "no such order");
    assert!(!store.complete_arrears_order(a, 2, "disconnect", 9500, "crew1").await?, "no such case");
    assert!(store.complete_arrears_order(a, 1, "disconnect", 9500, "crew1").await?);
    assert!(!store.complete_arrears_order(a, 1, "disconnect", 9600, "crew2").await?, "done already");
    let done = store.arrears_cases_of(a).await?.remove(0).steps.remove(2);
    assert_eq!((done.done_at, done.done_by.as_deref()), (Some(9500), Some("crew1")));

    // The projection moves with each pass; closing ends it and later writes do not reopen it.
    let mut u = update("await_payment", 12_345, 9500);
    u.deadline = Some(20_000);
    store.update_arrears_case(a, 1, &u).await?;
    let got = store.arrears_cases_of(a).await?.remove(0);
    assert_eq!((got.next_step.as_str(), got.deadline, got.updated_at), ("await_payment", Some(20_000), 9500));
    let mut closing = update("idle", 0, 10_000);
    closing.next_at = None;
    closing.closed_at = Some(10_000);
    store.update_arrears_case(a, 1, &closing).await?;
    store.update_arrears_case(a, 1, &update("send_reminder", 999, 11_000)).await?;
    let closed = store.arrears_cases_of(a).await?.remove(0);
    assert_eq!((closed.closed_at, closed.arrears_fen, closed.updated_at), (Some(10_000), 0, 10_000));

    assert!(store.customers_with_open_case(&[a.to_string()]).await?.is_empty(), "a closed case is not open");

    // New arrears after the close open case 2; the customer's cases come newest first.
    let second = store.open_arrears_case(a, "A", 12_000, &update("send_reminder", 500, 12_000)).await?;
    assert_eq!((second.case_no, second.opened_at, second.steps.len()), (2, 12_000, 0));
    assert!(store.record_arrears_step(&step(a, 2, "reminder-1", 12_100)).await?, "names are per case");
    let mine: Vec<i64> = store.arrears_cases_of(a).await?.iter().map(|c| c.case_no).collect();
    assert_eq!(mine, [2, 1]);

    // Two passes opening the same customer's case at once: one case.
    let c = "2301000003";
    let u = update("send_reminder", 700, 13_000);
    let (x, y) = tokio::join!(
        store.open_arrears_case(c, "A", 13_000, &u),
        store.open_arrears_case(c, "A", 13_000, &u)
    );
    assert_eq!((x?.case_no, y?.case_no), (1, 1));
    assert_eq!(store.arrears_cases_of(c).await?.len(), 1);
    let b = "2302000001";
    store.open_arrears_case(b, "B", 14_000, &update("send_reminder", 800, 14_000)).await?;

    // Which customers have an open case: more ids than one statement takes, unknown ones and a
    // repeated one mixed in; each once, in account order.
    let mut ids: Vec<String> = (0..1_200).map(|i| format!("98{i:08}")).collect();
    ids.extend([b.to_string(), a.to_string(), a.to_string()]);
    assert_eq!(store.customers_with_open_case(&ids).await?, [a.to_string(), b.to_string()]);
    assert!(store.customers_with_open_case(&[]).await?.is_empty());

    // Lists by scope: open ones or all, in account order then case number, with their steps.
    let keys = |v: Vec<ArrearsCaseRow>| {
        v.into_iter().map(|c| (c.customer_id, c.case_no, c.steps.len())).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(store.arrears_cases(&Scope::All, true, 100).await?),
        [(a.to_string(), 2, 1), (c.to_string(), 1, 0), (b.to_string(), 1, 0)]
    );
    assert_eq!(
        keys(store.arrears_cases(&Scope::All, false, 100).await?),
        [(a.to_string(), 1, 3), (a.to_string(), 2, 1), (c.to_string(), 1, 0), (b.to_string(), 1, 0)]
    );
    let only_b = Scope::Bureaus(vec!["B".into()]);
    assert_eq!(keys(store.arrears_cases(&only_b, false, 100).await?), [(b.to_string(), 1, 0)]);
    assert_eq!(store.arrears_cases(&Scope::All, false, 2).await?.len(), 2, "the limit holds");

    // The record of daily passes: one per day, the first kept.
    assert_eq!(store.arrears_pass("2026-11-27").await?, None);
    let done = ArrearsPassRow {
        day: "2026-11-27".into(),
        started_at: 100,
        finished_at: 160,
        customers: 35_600,
        opened: 12,
        taken: 40,
        closed: 3,
    };
    assert!(store.record_arrears_pass(&done).await?);
    let twice = ArrearsPassRow { finished_at: 999, taken: 0, ..done.clone() };
    assert!(!store.record_arrears_pass(&twice).await?, "a day's pass is recorded once");
    assert_eq!(store.arrears_pass("2026-11-27").await?, Some(done));
    assert_eq!(store.arrears_pass("2026-11-28").await?, None);
    Ok(())
}
