// Grid data beside the model on SQLite and PostgreSQL (included by both store crates after
// `sql_store.rs`): AMI meter events, feeder limits, dated reliability parameters, model versions.

const METER_EVENT_COLUMNS: &str = "id, bureau_id, load_id, customer_id, meter_id, state, at, received_at";

fn meter_event_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<MeterEvent> {
    Ok(MeterEvent {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        load_id: r.try_get("load_id").map_err(db_err)?,
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        meter_id: r.try_get("meter_id").map_err(db_err)?,
        state: r.try_get("state").map_err(db_err)?,
        at: r.try_get("at").map_err(db_err)?,
        received_at: r.try_get("received_at").map_err(db_err)?,
    })
}

fn grid_params_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<GridParamsRow> {
    Ok(GridParamsRow {
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        effective_from: r.try_get("effective_from").map_err(db_err)?,
        switching_h: r.try_get("switching_h").map_err(db_err)?,
        hours_per_year: r.try_get("hours_per_year").map_err(db_err)?,
        source: r.try_get("source").map_err(db_err)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
    })
}

/// Moves the model version of each bureau on, inside the import's transaction.
async fn bump_grid_versions(
    tx: &mut sqlx::Transaction<'_, Db>,
    bureaus: &std::collections::BTreeSet<&str>,
) -> StoreResult<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    for b in bureaus {
        sqlx::query(
            "INSERT INTO grid_model_versions (bureau_id, version, changed_at) VALUES ($1, 1, $2)
             ON CONFLICT (bureau_id) DO UPDATE SET version = grid_model_versions.version + 1,
                                                   changed_at = excluded.changed_at",
        )
        .bind(*b)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl GridDataStore for SqlStore {
    async fn insert_meter_events(&self, events: &[MeterEvent]) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut n = 0;
        for chunk in events.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO grid_meter_events ({METER_EVENT_COLUMNS}) "));
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.id.as_str())
                    .push_bind(e.bureau_id.as_str())
                    .push_bind(e.load_id.as_str())
                    .push_bind(e.customer_id.as_deref())
                    .push_bind(e.meter_id.as_deref())
                    .push_bind(e.state.as_str())
                    .push_bind(e.at)
                    .push_bind(e.received_at);
            });
            qb.push(" ON CONFLICT (id) DO NOTHING");
            n += qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn meter_events_since(&self, bureau_id: &str, since: i64) -> StoreResult<Vec<MeterEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {METER_EVENT_COLUMNS} FROM grid_meter_events WHERE bureau_id = $1 AND at >= $2
             ORDER BY at, id"
        ))
        .bind(bureau_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(meter_event_from_row).collect()
    }

    async fn set_feeder_limit(&self, l: &FeederLimit) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO grid_feeder_limits (bureau_id, branch_id, capacity_kw, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (bureau_id, branch_id) DO UPDATE SET capacity_kw = excluded.capacity_kw,
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(&l.bureau_id)
        .bind(&l.branch_id)
        .bind(l.capacity_kw)
        .bind(l.updated_at)
        .bind(&l.updated_by)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_feeder_limit(&self, bureau_id: &str, branch_id: &str) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM grid_feeder_limits WHERE bureau_id = $1 AND branch_id = $2")
            .bind(bureau_id)
            .bind(branch_id)
            .execute(&self.writer)
            .await
            .map_err(db_err)?
            .rows_affected();
        Ok(n > 0)
    }

    async fn feeder_limits(&self, bureau_id: &str) -> StoreResult<Vec<FeederLimit>> {
        let rows = sqlx::query(
            "SELECT bureau_id, branch_id, capacity_kw, updated_at, updated_by FROM grid_feeder_limits
             WHERE bureau_id = $1 ORDER BY branch_id",
        )
        .bind(bureau_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(FeederLimit {
                    bureau_id: r.try_get("bureau_id").map_err(db_err)?,
                    branch_id: r.try_get("branch_id").map_err(db_err)?,
                    capacity_kw: r.try_get("capacity_kw").map_err(db_err)?,
                    updated_at: r.try_get("updated_at").map_err(db_err)?,
                    updated_by: r.try_get("updated_by").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn upsert_grid_params(&self, p: &GridParamsRow) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO grid_params (bureau_id, effective_from, switching_h, hours_per_year, source, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (bureau_id, effective_from) DO UPDATE SET switching_h = excluded.switching_h,
                 hours_per_year = excluded.hours_per_year, source = excluded.source,
                 created_at = excluded.created_at
             WHERE grid_params.switching_h <> excluded.switching_h
                OR grid_params.hours_per_year <> excluded.hours_per_year",
        )
        .bind(&p.bureau_id)
        .bind(&p.effective_from)
        .bind(p.switching_h)
        .bind(p.hours_per_year)
        .bind(&p.source)
        .bind(p.created_at)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn grid_params(&self, bureau_id: &str) -> StoreResult<Vec<GridParamsRow>> {
        let rows = sqlx::query(
            "SELECT bureau_id, effective_from, switching_h, hours_per_year, source, created_at
             FROM grid_params WHERE bureau_id = $1 ORDER BY effective_from",
        )
        .bind(bureau_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(grid_params_from_row).collect()
    }

    async fn grid_model_version(&self, bureau_id: &str) -> StoreResult<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT version FROM grid_model_versions WHERE bureau_id = $1")
            .bind(bureau_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(v.unwrap_or(0))
    }
}
