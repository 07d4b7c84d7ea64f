//! Grid data beside the model: meter events, feeder limits, dated parameters, model versions.
//! Runs after the grid check of `suite.rs` (bureau `A` with nodes S1, T1, T2).

use bureau_store::*;

pub async fn grid_data(store: &DynStore) -> anyhow::Result<()> {
    // The model version moved on with the grid check's first import only (the second wrote nothing).
    assert_eq!(store.grid_model_version("A").await?, 1);
    assert_eq!(store.grid_model_version("B").await?, 0);
    let mut t1 = store.grid_nodes(&Scope::All).await?.into_iter().find(|n| n.id == "T1").unwrap();
    t1.customers += 1;
    store.upsert_grid(std::slice::from_ref(&t1), &[]).await?;
    assert_eq!(store.grid_model_version("A").await?, 2);
    store.upsert_grid(std::slice::from_ref(&t1), &[]).await?;
    assert_eq!(store.grid_model_version("A").await?, 2, "an import that writes nothing keeps the version");

    let ev = |id: &str, load: &str, state: &str, at: i64| MeterEvent {
        id: id.into(),
        bureau_id: "A".into(),
        load_id: load.into(),
        customer_id: None,
        meter_id: Some(format!("M-{id}")),
        state: state.into(),
        at,
        received_at: 2000,
    };
    let events = vec![ev("e2", "T1", "on", 1200), ev("e1", "T1", "off", 1100), ev("e3", "T2", "off", 900)];
    assert_eq!(store.insert_meter_events(&events).await?, 3);
    assert_eq!(store.insert_meter_events(&events[..1]).await?, 0, "a resent event is skipped");
    let got = store.meter_events_since("A", 1000).await?;
    assert_eq!(got, vec![events[1].clone(), events[0].clone()], "oldest first, from `since`");
    assert!(store.meter_events_since("B", 0).await?.is_empty());

    let limit = |branch: &str, kw: f64| FeederLimit {
        bureau_id: "A".into(),
        branch_id: branch.into(),
        capacity_kw: kw,
        updated_at: 10,
        updated_by: "disp".into(),
    };
    store.set_feeder_limit(&limit("L1", 5000.0)).await?;
    store.set_feeder_limit(&limit("CB2", 3000.0)).await?;
    store.set_feeder_limit(&limit("L1", 4500.0)).await?;
    assert_eq!(store.feeder_limits("A").await?, vec![limit("CB2", 3000.0), limit("L1", 4500.0)]);
    assert!(store.delete_feeder_limit("A", "CB2").await?);
    assert!(!store.delete_feeder_limit("A", "CB2").await?);
    assert_eq!(store.feeder_limits("A").await?.len(), 1);
    assert!(store.set_feeder_limit(&limit("L1", 0.0)).await.is_err(), "a limit is positive");

    let params = |from: &str, sw: f64| GridParamsRow {
        bureau_id: "A".into(),
        effective_from: from.into(),
        switching_h: sw,
        hours_per_year: 8760.0,
        source: "params.toml".into(),
        created_at: 5,
    };
    assert!(store.upsert_grid_params(&params("2026-01-01", 1.0)).await?);
    assert!(!store.upsert_grid_params(&params("2026-01-01", 1.0)).await?, "the same values write nothing");
    assert!(store.upsert_grid_params(&params("2025-01-01", 1.5)).await?);
    assert!(store.upsert_grid_params(&params("2026-01-01", 0.5)).await?);
    assert_eq!(store.grid_params("A").await?, vec![params("2025-01-01", 1.5), params("2026-01-01", 0.5)]);
    assert!(store.grid_params("B").await?.is_empty());
    Ok(())
}

/// Many outbox messages in one write; keys already stored are skipped.
pub async fn outbox_batch(store: &DynStore) -> anyhow::Result<()> {
    let msg = |k: &str| NewOutboxMessage {
        id: format!("NB-{k}"),
        key: format!("batch:{k}"),
        channel: "sms".into(),
        recipient: "13800000000".into(),
        subject: "s".into(),
        body: "b".into(),
        data: Some("{\"customer_id\":\"1\"}".into()),
        created_at: 100,
        due_at: 100,
        max_attempts: 8,
    };
    let batch: Vec<_> = (0..700).map(|i| msg(&i.to_string())).collect();
    assert_eq!(store.enqueue_many(&batch).await?, 700);
    assert_eq!(store.enqueue_many(&batch[..3]).await?, 0);
    let mut again = vec![msg("0"), msg("700")];
    again[1].id = "NB-x".into();
    assert_eq!(store.enqueue_many(&again).await?, 1);
    let m = store.outbox_by_key("batch:42").await?;
    assert_eq!(
        (m.status, m.attempts, m.due_at, m.data.as_deref()),
        (OutboxStatus::Pending, 0, 100, Some("{\"customer_id\":\"1\"}"))
    );
    let q = OutboxQuery { status: None, key_prefix: Some("batch:".into()), recipient: None, limit: 10_000 };
    assert_eq!(store.list_outbox(&q).await?.len(), 701);
    assert!(store.enqueue_many(&[]).await? == 0);
    Ok(())
}
