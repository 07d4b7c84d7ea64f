//! What every store must do with switch operations, trouble calls, outages and switching plans.
//! Runs after the grid part of the suite (bureau `A`, branches `L1` and `TIE`, loads `T1`, `T2`).

use bureau_store::*;

pub async fn outages(store: &DynStore) -> anyhow::Result<()> {
    // A switch operation is recorded and moves the branch's current state; the log is append-only.
    let op = |id: &str, open: bool, at: i64| SwitchOp {
        id: id.into(),
        bureau_id: "A".into(),
        branch_id: "TIE".into(),
        open,
        at,
        by_staff: "disp1".into(),
        reason: "manual".into(),
        ref_id: None,
    };
    store.record_switch_op(&op("SW1", false, 100)).await?;
    let tie = |bs: Vec<GridBranch>| bs.into_iter().find(|b| b.id == "TIE").unwrap();
    assert!(!tie(store.grid_branches(&Scope::All).await?).is_open);
    store.record_switch_op(&op("SW2", true, 200)).await?;
    assert!(tie(store.grid_branches(&Scope::All).await?).is_open);
    let ops = store.switch_ops(&Scope::All, Some("TIE"), 10).await?;
    assert_eq!(ops.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["SW2", "SW1"]);
    assert!(store.switch_ops(&Scope::Bureaus(vec!["B".into()]), None, 10).await?.is_empty());
    // The same id twice is refused; an unknown branch too, and nothing of it is kept.
    assert!(matches!(
        store.record_switch_op(&op("SW2", false, 300)).await,
        Err(StoreError::Constraint { .. })
    ));
    let mut ghost = op("SW3", true, 300);
    ghost.branch_id = "NOPE".into();
    assert!(store.record_switch_op(&ghost).await.is_err());
    assert_eq!(store.switch_ops(&Scope::All, None, 10).await?.len(), 2);

    // Calls: unassigned ones form the working set; attached to a predicted outage they stay in it;
    // once the outage is confirmed they leave it.
    let call = |id: &str, load: &str, at: i64| TroubleCall {
        id: id.into(),
        bureau_id: "A".into(),
        source: "api".into(),
        customer_id: None,
        load_id: load.into(),
        at,
        note: "没电了".into(),
        outage_id: None,
        callback_at: None,
        callback_result: None,
    };
    let calls = vec![call("C1", "T1", 1000), call("C2", "T1", 1010), call("C3", "T2", 50)];
    let mut stored = store.insert_trouble_calls(&calls).await?;
    stored.sort();
    let mut ids: Vec<String> = calls.iter().map(|c| c.id.clone()).collect();
    ids.sort();
    assert_eq!(stored, ids, "the ids stored are returned");
    assert!(store.insert_trouble_calls(&calls).await?.is_empty(), "a call id is taken once");
    let open = store.open_trouble_calls("A", 900).await?;
    assert_eq!(open.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["C1", "C2"]);

    let mut o = Outage {
        id: "O1".into(),
        bureau_id: "A".into(),
        class: "fault".into(),
        state: "predicted".into(),
        device: Some("L1".into()),
        load_point: None,
        started_at: 1000,
        confirmed_at: None,
        restored_at: None,
        closed_at: None,
        etr: None,
        crew: None,
        cause: String::new(),
        customers: 120,
        mv_users: 1,
        calls: 2,
        plan_id: None,
        created_by: "system".into(),
    };
    let point = |load: &str, restored: Option<i64>| OutagePoint {
        outage_id: "O1".into(),
        load_id: load.into(),
        customers: 120,
        out_at: 1000,
        restored_at: restored,
    };
    let log = |state: &str, at: i64| OutageLogEntry {
        outage_id: "O1".into(),
        seq: 0,
        at,
        by_staff: "system".into(),
        state: state.into(),
        note: String::new(),
    };
    store.save_outage(&o, &[point("T1", None)], &log("predicted", 1000)).await?;
    store.attach_calls("O1", &["C1".into(), "C2".into()]).await?;
    assert_eq!(store.open_trouble_calls("A", 900).await?.len(), 2, "calls of a predicted outage stay open");
    assert_eq!(store.active_outages(&Scope::All).await?, vec![o.clone()]);

    o.state = "confirmed".into();
    o.confirmed_at = Some(1200);
    o.etr = Some(5000);
    o.crew = Some("抢修一班".into());
    store.save_outage(&o, &[point("T1", None)], &log("confirmed", 1200)).await?;
    assert!(store.open_trouble_calls("A", 900).await?.is_empty());
    assert_eq!(store.calls_of_outage("O1").await?.len(), 2);
    assert_eq!(store.get_outage(&Scope::All, "O1").await?, o);
    assert!(matches!(
        store.get_outage(&Scope::Bureaus(vec!["B".into()]), "O1").await,
        Err(StoreError::NotFound)
    ));

    o.state = "restored".into();
    o.restored_at = Some(4000);
    store.save_outage(&o, &[point("T1", Some(4000))], &log("restored", 4000)).await?;
    assert_eq!(store.outage_points("O1").await?, vec![point("T1", Some(4000))]);
    let history = store.outage_log("O1").await?;
    assert_eq!(
        history.iter().map(|e| (e.seq, e.state.as_str())).collect::<Vec<_>>(),
        [(1, "predicted"), (2, "confirmed"), (3, "restored")]
    );
    store.record_callback("C1", 4100, "restored").await?;
    assert_eq!(store.calls_of_outage("O1").await?[0].callback_result.as_deref(), Some("restored"));
    assert!(matches!(store.record_callback("NOPE", 1, "x").await, Err(StoreError::NotFound)));

    // History in bulk, and the period query with points.
    let mut old = o.clone();
    old.id = "O0".into();
    old.started_at = 10;
    old.state = "closed".into();
    let hist = OutageWithPoints {
        points: vec![OutagePoint { outage_id: "O0".into(), ..point("T2", Some(70)) }],
        outage: old,
    };
    assert_eq!(store.insert_outage_history(std::slice::from_ref(&hist)).await?, 1);
    assert_eq!(store.insert_outage_history(std::slice::from_ref(&hist)).await?, 0, "kept, not doubled");
    let got = store.outages_between(&Scope::All, 0, 2000).await?;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], hist);
    assert_eq!(got[1].points.len(), 1);
    assert_eq!(store.outages_between(&Scope::All, 0, 1000).await?.len(), 1, "the end is excluded");
    assert_eq!(store.active_outages(&Scope::All).await?.len(), 1, "restored is still active until closed");

    // A regrouping in one transaction (at load points of their own, T8 and T9, that the portal
    // suite does not look at): R1 is new with its points and calls; R2, whose call moves to
    // R1, is merged and keeps its points; each gets a log entry; a save of nothing is a no-op.
    store.insert_trouble_calls(&[call("C4", "T1", 20_000), call("C5", "T2", 20_010)]).await?;
    let outage = |id: &str, state: &str, calls: i64| Outage {
        id: id.into(),
        state: state.into(),
        started_at: 20_000,
        confirmed_at: None,
        restored_at: None,
        etr: None,
        crew: None,
        calls,
        ..o.clone()
    };
    let at = |id: &str, load: &str| OutagePoint { outage_id: id.into(), out_at: 20_000, ..point(load, None) };
    let entry = |id: &str, state: &str| OutageLogEntry { outage_id: id.into(), ..log(state, 20_020) };
    store.save_outage(&outage("R2", "predicted", 1), &[at("R2", "T9")], &entry("R2", "predicted")).await?;
    store.attach_calls("R2", &["C5".into()]).await?;
    store.save_outages(&[]).await?;
    let saves = vec![
        OutageSave {
            outage: outage("R1", "predicted", 2),
            points: Some(vec![at("R1", "T8"), at("R1", "T9")]),
            log: entry("R1", "predicted"),
            attach: vec!["C4".into(), "C5".into()],
        },
        OutageSave {
            outage: outage("R2", "merged", 1),
            points: None,
            log: entry("R2", "merged"),
            attach: Vec::new(),
        },
    ];
    store.save_outages(&saves).await?;
    assert_eq!(store.get_outage(&Scope::All, "R1").await?, outage("R1", "predicted", 2));
    assert_eq!(store.get_outage(&Scope::All, "R2").await?.state, "merged");
    assert_eq!(store.outage_points("R1").await?, vec![at("R1", "T8"), at("R1", "T9")]);
    assert_eq!(store.outage_points("R2").await?, vec![at("R2", "T9")], "points: None keeps them");
    let ids = |calls: Vec<TroubleCall>| calls.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(store.calls_of_outage("R1").await?), ["C4", "C5"]);
    assert!(store.calls_of_outage("R2").await?.is_empty(), "the moved call left R2");
    let seqs = |log: Vec<OutageLogEntry>| log.into_iter().map(|e| (e.seq, e.state)).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.outage_log("R2").await?),
        [(1, "predicted".to_string()), (2, "merged".to_string())]
    );
    assert_eq!(seqs(store.outage_log("R1").await?), [(1, "predicted".to_string())]);
    // All or nothing: a save naming a load point twice fails, and the outage before it in the same
    // call is not written either.
    let bad = vec![
        OutageSave {
            outage: outage("R1", "closed", 2),
            points: None,
            log: entry("R1", "closed"),
            attach: Vec::new(),
        },
        OutageSave {
            outage: outage("R3", "predicted", 0),
            points: Some(vec![at("R3", "T8"), at("R3", "T8")]),
            log: entry("R3", "predicted"),
            attach: Vec::new(),
        },
    ];
    assert!(store.save_outages(&bad).await.is_err());
    assert_eq!(store.get_outage(&Scope::All, "R1").await?.state, "predicted", "rolled back");
    assert!(matches!(store.get_outage(&Scope::All, "R3").await, Err(StoreError::NotFound)));
    store.save_outages(&bad[..1]).await?;
    assert_eq!(store.active_outages(&Scope::All).await?.len(), 1, "R1 closed, R2 merged");

    // Switching plans.
    let mut plan = SwitchingPlanRow {
        id: "P1".into(),
        bureau_id: "A".into(),
        work_branch: "L1".into(),
        starts_at: 9000,
        ends_at: 9900,
        state: "planned".into(),
        plan_json: "{}".into(),
        affected: 120,
        created_by: "disp1".into(),
        created_at: 100,
        notified_at: None,
        executed_at: None,
        executed_by: None,
    };
    store.save_plan(&plan).await?;
    plan.state = "executed".into();
    plan.executed_at = Some(9001);
    plan.executed_by = Some("disp1".into());
    store.save_plan(&plan).await?;
    assert_eq!(store.get_plan(&Scope::All, "P1").await?, plan);
    assert_eq!(store.list_plans(&Scope::Bureaus(vec!["A".into()]), 10).await?, vec![plan]);
    assert!(store.list_plans(&Scope::Bureaus(vec!["B".into()]), 10).await?.is_empty());
    Ok(())
}
