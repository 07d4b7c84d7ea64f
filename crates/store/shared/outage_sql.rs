// Grid operations and outages, the SQL shared by SQLite and PostgreSQL. Included by both store crates
// after `sql_store.rs` (it uses `db_err`, `push_scope`, `CHUNK` and `SqlStore` from there).

fn switch_op_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<SwitchOp> {
    Ok(SwitchOp {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        branch_id: r.try_get("branch_id").map_err(db_err)?,
        open: r.try_get("open").map_err(db_err)?,
        at: r.try_get("at").map_err(db_err)?,
        by_staff: r.try_get("by_staff").map_err(db_err)?,
        reason: r.try_get("reason").map_err(db_err)?,
        ref_id: r.try_get("ref_id").map_err(db_err)?,
    })
}

const OUTAGE_COLUMNS: &str = "id, bureau_id, class, state, device, load_point, started_at, confirmed_at, restored_at, \
     closed_at, etr, crew, cause, customers, mv_users, calls, plan_id, created_by";

fn outage_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Outage> {
    Ok(Outage {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        class: r.try_get("class").map_err(db_err)?,
        state: r.try_get("state").map_err(db_err)?,
        device: r.try_get("device").map_err(db_err)?,
        load_point: r.try_get("load_point").map_err(db_err)?,
        started_at: r.try_get("started_at").map_err(db_err)?,
        confirmed_at: r.try_get("confirmed_at").map_err(db_err)?,
        restored_at: r.try_get("restored_at").map_err(db_err)?,
        closed_at: r.try_get("closed_at").map_err(db_err)?,
        etr: r.try_get("etr").map_err(db_err)?,
        crew: r.try_get("crew").map_err(db_err)?,
        cause: r.try_get("cause").map_err(db_err)?,
        customers: r.try_get("customers").map_err(db_err)?,
        mv_users: r.try_get("mv_users").map_err(db_err)?,
        calls: r.try_get("calls").map_err(db_err)?,
        plan_id: r.try_get("plan_id").map_err(db_err)?,
        created_by: r.try_get("created_by").map_err(db_err)?,
    })
}

fn point_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<OutagePoint> {
    Ok(OutagePoint {
        outage_id: r.try_get("outage_id").map_err(db_err)?,
        load_id: r.try_get("load_id").map_err(db_err)?,
        customers: r.try_get("customers").map_err(db_err)?,
        out_at: r.try_get("out_at").map_err(db_err)?,
        restored_at: r.try_get("restored_at").map_err(db_err)?,
    })
}

fn call_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<TroubleCall> {
    Ok(TroubleCall {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        source: r.try_get("source").map_err(db_err)?,
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        load_id: r.try_get("load_id").map_err(db_err)?,
        at: r.try_get("at").map_err(db_err)?,
        note: r.try_get("note").map_err(db_err)?,
        outage_id: r.try_get("outage_id").map_err(db_err)?,
        callback_at: r.try_get("callback_at").map_err(db_err)?,
        callback_result: r.try_get("callback_result").map_err(db_err)?,
    })
}

fn plan_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<SwitchingPlanRow> {
    Ok(SwitchingPlanRow {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        work_branch: r.try_get("work_branch").map_err(db_err)?,
        starts_at: r.try_get("starts_at").map_err(db_err)?,
        ends_at: r.try_get("ends_at").map_err(db_err)?,
        state: r.try_get("state").map_err(db_err)?,
        plan_json: r.try_get("plan_json").map_err(db_err)?,
        affected: r.try_get("affected").map_err(db_err)?,
        created_by: r.try_get("created_by").map_err(db_err)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
        notified_at: r.try_get("notified_at").map_err(db_err)?,
        executed_at: r.try_get("executed_at").map_err(db_err)?,
        executed_by: r.try_get("executed_by").map_err(db_err)?,
    })
}

async fn write_outage_tx(tx: &mut sqlx::Transaction<'_, Db>, o: &Outage) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO outages ({OUTAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (id) DO UPDATE SET class = excluded.class, state = excluded.state, device = excluded.device,
           load_point = excluded.load_point, started_at = excluded.started_at, confirmed_at = excluded.confirmed_at,
           restored_at = excluded.restored_at, closed_at = excluded.closed_at, etr = excluded.etr, crew = excluded.crew,
           cause = excluded.cause, customers = excluded.customers, mv_users = excluded.mv_users, calls = excluded.calls,
           plan_id = excluded.plan_id"
    ))
    .bind(&o.id)
    .bind(&o.bureau_id)
    .bind(&o.class)
    .bind(&o.state)
    .bind(&o.device)
    .bind(&o.load_point)
    .bind(o.started_at)
    .bind(o.confirmed_at)
    .bind(o.restored_at)
    .bind(o.closed_at)
    .bind(o.etr)
    .bind(&o.crew)
    .bind(&o.cause)
    .bind(o.customers)
    .bind(o.mv_users)
    .bind(o.calls)
    .bind(&o.plan_id)
    .bind(&o.created_by)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn write_points_tx(tx: &mut sqlx::Transaction<'_, Db>, points: &[OutagePoint]) -> StoreResult<()> {
    for chunk in points.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO outage_points (outage_id, load_id, customers, out_at, restored_at) ");
        qb.push_values(chunk, |mut b, p| {
            b.push_bind(p.outage_id.as_str())
                .push_bind(p.load_id.as_str())
                .push_bind(p.customers)
                .push_bind(p.out_at)
                .push_bind(p.restored_at);
        });
        qb.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}

/// Replaces an outage's load points.
async fn replace_points_tx(tx: &mut sqlx::Transaction<'_, Db>, outage_id: &str, points: &[OutagePoint]) -> StoreResult<()> {
    sqlx::query("DELETE FROM outage_points WHERE outage_id = $1").bind(outage_id).execute(&mut **tx).await.map_err(db_err)?;
    write_points_tx(tx, points).await
}

/// Appends an entry to an outage's log with the next `seq`.
async fn append_log_tx(tx: &mut sqlx::Transaction<'_, Db>, outage_id: &str, log: &OutageLogEntry) -> StoreResult<()> {
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM outage_log WHERE outage_id = $1")
        .bind(outage_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?
        .try_get("n")
        .map_err(db_err)?;
    sqlx::query("INSERT INTO outage_log (outage_id, seq, at, by_staff, state, note) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(outage_id)
        .bind(next)
        .bind(log.at)
        .bind(&log.by_staff)
        .bind(&log.state)
        .bind(&log.note)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn attach_calls_tx(tx: &mut sqlx::Transaction<'_, Db>, outage_id: &str, call_ids: &[String]) -> StoreResult<()> {
    for chunk in call_ids.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("UPDATE trouble_calls SET outage_id = ");
        qb.push_bind(outage_id).push(" WHERE id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_str());
        }
        qb.push(")");
        qb.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl OutageStore for SqlStore {
    async fn record_switch_op(&self, op: &SwitchOp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO grid_switch_ops (id, bureau_id, branch_id, open, at, by_staff, reason, ref_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&op.id)
        .bind(&op.bureau_id)
        .bind(&op.branch_id)
        .bind(op.open)
        .bind(op.at)
        .bind(&op.by_staff)
        .bind(&op.reason)
        .bind(&op.ref_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let n = sqlx::query("UPDATE grid_branches SET is_open = $1 WHERE id = $2 AND bureau_id = $3")
            .bind(op.open)
            .bind(&op.branch_id)
            .bind(&op.bureau_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn switch_ops(&self, scope: &Scope, branch_id: Option<&str>, limit: u32) -> StoreResult<Vec<SwitchOp>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM grid_switch_ops WHERE 1 = 1");
        push_scope(&mut qb, "bureau_id", scope);
        if let Some(b) = branch_id {
            qb.push(" AND branch_id = ").push_bind(b);
        }
        qb.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(switch_op_from_row).collect()
    }

    async fn insert_trouble_calls(&self, calls: &[TroubleCall]) -> StoreResult<Vec<String>> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut stored = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO trouble_calls (id, bureau_id, source, customer_id, load_id, at, note, outage_id, callback_at, callback_result) ",
            );
            qb.push_values(chunk, |mut b, c| {
                b.push_bind(c.id.as_str())
                    .push_bind(c.bureau_id.as_str())
                    .push_bind(c.source.as_str())
                    .push_bind(c.customer_id.as_deref())
                    .push_bind(c.load_id.as_str())
                    .push_bind(c.at)
                    .push_bind(c.note.as_str())
                    .push_bind(c.outage_id.as_deref())
                    .push_bind(c.callback_at)
                    .push_bind(c.callback_result.as_deref());
            });
            qb.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
            for row in qb.build().fetch_all(&mut *tx).await.map_err(db_err)? {
                stored.push(row.try_get::<String, _>("id").map_err(db_err)?);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn open_trouble_calls(&self, bureau_id: &str, since: i64) -> StoreResult<Vec<TroubleCall>> {
        let rows = sqlx::query(
            "SELECT c.* FROM trouble_calls c LEFT JOIN outages o ON o.id = c.outage_id
             WHERE c.bureau_id = $1 AND c.at >= $2 AND (c.outage_id IS NULL OR o.state = 'predicted')
             ORDER BY c.at, c.id",
        )
        .bind(bureau_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(call_from_row).collect()
    }

    async fn calls_of_outage(&self, outage_id: &str) -> StoreResult<Vec<TroubleCall>> {
        let rows = sqlx::query("SELECT * FROM trouble_calls WHERE outage_id = $1 ORDER BY at, id")
            .bind(outage_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(call_from_row).collect()
    }

    async fn attach_calls(&self, outage_id: &str, call_ids: &[String]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        attach_calls_tx(&mut tx, outage_id, call_ids).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn record_callback(&self, call_id: &str, at: i64, result: &str) -> StoreResult<()> {
        let n = sqlx::query("UPDATE trouble_calls SET callback_at = $1, callback_result = $2 WHERE id = $3")
            .bind(at)
            .bind(result)
            .bind(call_id)
            .execute(&self.writer)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn save_outage(&self, o: &Outage, points: &[OutagePoint], log: &OutageLogEntry) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        write_outage_tx(&mut tx, o).await?;
        replace_points_tx(&mut tx, &o.id, points).await?;
        append_log_tx(&mut tx, &o.id, log).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn save_outages(&self, saves: &[OutageSave]) -> StoreResult<()> {
        if saves.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        for s in saves {
            write_outage_tx(&mut tx, &s.outage).await?;
            if let Some(points) = &s.points {
                replace_points_tx(&mut tx, &s.outage.id, points).await?;
            }
            append_log_tx(&mut tx, &s.outage.id, &s.log).await?;
            attach_calls_tx(&mut tx, &s.outage.id, &s.attach).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_outage(&self, scope: &Scope, id: &str) -> StoreResult<Outage> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {OUTAGE_COLUMNS} FROM outages WHERE id = "));
        qb.push_bind(id);
        push_scope(&mut qb, "bureau_id", scope);
        let row = qb.build().fetch_one(&self.pool).await.map_err(db_err)?;
        outage_from_row(&row)
    }

    async fn outage_points(&self, outage_id: &str) -> StoreResult<Vec<OutagePoint>> {
        let rows = sqlx::query("SELECT * FROM outage_points WHERE outage_id = $1 ORDER BY load_id")
            .bind(outage_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(point_from_row).collect()
    }

    async fn outage_log(&self, outage_id: &str) -> StoreResult<Vec<OutageLogEntry>> {
        let rows = sqlx::query("SELECT * FROM outage_log WHERE outage_id = $1 ORDER BY seq")
            .bind(outage_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(OutageLogEntry {
                    outage_id: r.try_get("outage_id").map_err(db_err)?,
                    seq: r.try_get("seq").map_err(db_err)?,
                    at: r.try_get("at").map_err(db_err)?,
                    by_staff: r.try_get("by_staff").map_err(db_err)?,
                    state: r.try_get("state").map_err(db_err)?,
                    note: r.try_get("note").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn active_outages(&self, scope: &Scope) -> StoreResult<Vec<Outage>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages WHERE state NOT IN ('closed', 'merged')"
        ));
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY started_at DESC, id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(outage_from_row).collect()
    }

    async fn outages_between(&self, scope: &Scope, from: i64, to: i64) -> StoreResult<Vec<OutageWithPoints>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages WHERE state <> 'merged' AND started_at >= "
        ));
        qb.push_bind(from).push(" AND started_at < ").push_bind(to);
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let outages: Vec<Outage> = rows.iter().map(outage_from_row).collect::<StoreResult<_>>()?;
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT p.* FROM outage_points p JOIN outages o ON o.id = p.outage_id WHERE o.state <> 'merged' AND o.started_at >= ",
        );
        qb.push_bind(from).push(" AND o.started_at < ").push_bind(to);
        push_scope(&mut qb, "o.bureau_id", scope);
        qb.push(" ORDER BY p.outage_id, p.load_id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let mut points: std::collections::HashMap<String, Vec<OutagePoint>> = std::collections::HashMap::new();
        for r in &rows {
            let p = point_from_row(r)?;
            points.entry(p.outage_id.clone()).or_default().push(p);
        }
        Ok(outages
            .into_iter()
            .map(|o| OutageWithPoints { points: points.remove(&o.id).unwrap_or_default(), outage: o })
            .collect())
    }

    async fn insert_outage_history(&self, outages: &[OutageWithPoints]) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut n = 0;
        for ow in outages {
            let exists: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outages WHERE id = $1")
                .bind(&ow.outage.id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("n")
                .map_err(db_err)?;
            if exists > 0 {
                continue;
            }
            write_outage_tx(&mut tx, &ow.outage).await?;
            write_points_tx(&mut tx, &ow.points).await?;
            n += 1;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn customers_at(&self, scope: &Scope, load_ids: &[String]) -> StoreResult<Vec<Customer>> {
        let mut out = Vec::new();
        for chunk in load_ids.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE supply_point IN ("));
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.as_str());
            }
            qb.push(")");
            push_scope(&mut qb, "bureau_id", scope);
            let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
            for r in &rows {
                out.push(customer_from_row(r)?);
            }
        }
        out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(out)
    }

    async fn save_plan(&self, p: &SwitchingPlanRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO switching_plans (id, bureau_id, work_branch, starts_at, ends_at, state, plan_json, affected,
               created_by, created_at, notified_at, executed_at, executed_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at,
               state = excluded.state, plan_json = excluded.plan_json, affected = excluded.affected,
               notified_at = excluded.notified_at, executed_at = excluded.executed_at, executed_by = excluded.executed_by",
        )
        .bind(&p.id)
        .bind(&p.bureau_id)
        .bind(&p.work_branch)
        .bind(p.starts_at)
        .bind(p.ends_at)
        .bind(&p.state)
        .bind(&p.plan_json)
        .bind(p.affected)
        .bind(&p.created_by)
        .bind(p.created_at)
        .bind(p.notified_at)
        .bind(p.executed_at)
        .bind(&p.executed_by)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_plan(&self, scope: &Scope, id: &str) -> StoreResult<SwitchingPlanRow> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM switching_plans WHERE id = ");
        qb.push_bind(id);
        push_scope(&mut qb, "bureau_id", scope);
        let row = qb.build().fetch_one(&self.pool).await.map_err(db_err)?;
        plan_from_row(&row)
    }

    async fn list_plans(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<SwitchingPlanRow>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM switching_plans WHERE 1 = 1");
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY starts_at DESC, id LIMIT ").push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(plan_from_row).collect()
    }
}
