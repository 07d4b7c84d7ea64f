// Exception resolutions (异常处理) and the bill computation's extras, shared by SQLite and
// PostgreSQL. Included after `sql_store.rs` and `billing_sql.rs`, whose helpers (`db_err`,
// `to_centi`, `from_centi`, `corrupt`, `meter_from_row`, `period_back`, `exception_from_row`) it
// uses. Key-range reads by customer, like the bill run's.

fn resolution_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<ExceptionResolution> {
    let action: String = r.try_get("action").map_err(db_err)?;
    let kind: String = r.try_get("kind").map_err(db_err)?;
    let customer_id: String = r.try_get("customer_id").map_err(db_err)?;
    let meter_id: Option<String> = r.try_get("meter_id").map_err(db_err)?;
    let read_on: Option<String> = r.try_get("read_on").map_err(db_err)?;
    let reading_kind: Option<String> = r.try_get("reading_kind").map_err(db_err)?;
    let total: Option<i64> = r.try_get("total_c").map_err(db_err)?;
    let opt = |col: &str| -> StoreResult<Option<Decimal>> {
        Ok(r.try_get::<Option<i64>, _>(col).map_err(db_err)?.map(from_centi))
    };
    let reading = match (meter_id, read_on, reading_kind, total) {
        (Some(meter_id), Some(read_on), Some(kind), Some(total)) => Some(Reading {
            customer_id: customer_id.clone(),
            meter_id,
            read_on,
            kind: ReadingKind::parse(&kind).ok_or_else(|| corrupt("reading_kind", &kind))?,
            source: action.clone(),
            total: from_centi(total),
            peak: opt("peak_c")?,
            flat: opt("flat_c")?,
            valley: opt("valley_c")?,
            max_demand: opt("max_demand_c")?,
            kvarh: opt("kvarh_c")?,
        }),
        _ => None,
    };
    Ok(ExceptionResolution {
        customer_id,
        period: r.try_get("period").map_err(db_err)?,
        seq: r.try_get("seq").map_err(db_err)?,
        action: bureau_domain::reading::ResolutionAction::parse(&action).map_err(|_| corrupt("action", &action))?,
        kind: bureau_domain::reading::ExceptionKind::parse(&kind).map_err(|_| corrupt("kind", &kind))?,
        reading,
        reason: r.try_get("reason").map_err(db_err)?,
        resolved_by: r.try_get("resolved_by").map_err(db_err)?,
        resolved_at: r.try_get("resolved_at").map_err(db_err)?,
    })
}

/// Stores a resolution under the next number of its customer and period, in `tx`.
async fn save_resolution_tx(tx: &mut sqlx::Transaction<'_, Db>, x: &ExceptionResolution) -> StoreResult<i64> {
    let seq: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) FROM exception_resolutions
         WHERE customer_id = $1 AND period = $2",
    )
    .bind(&x.customer_id)
    .bind(&x.period)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    let r = x.reading.as_ref();
    sqlx::query(
        "INSERT INTO exception_resolutions (customer_id, period, seq, action, kind, meter_id, read_on,
           reading_kind, total_c, peak_c, flat_c, valley_c, max_demand_c, kvarh_c, reason, resolved_by,
           resolved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&x.customer_id)
    .bind(&x.period)
    .bind(seq)
    .bind(x.action.code())
    .bind(x.kind.code())
    .bind(r.map(|r| r.meter_id.as_str()))
    .bind(r.map(|r| r.read_on.as_str()))
    .bind(r.map(|r| r.kind.code()))
    .bind(r.map(|r| to_centi(r.total)))
    .bind(r.and_then(|r| r.peak).map(to_centi))
    .bind(r.and_then(|r| r.flat).map(to_centi))
    .bind(r.and_then(|r| r.valley).map(to_centi))
    .bind(r.and_then(|r| r.max_demand).map(to_centi))
    .bind(r.and_then(|r| r.kvarh).map(to_centi))
    .bind(&x.reason)
    .bind(&x.resolved_by)
    .bind(x.resolved_at)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(seq)
}

#[async_trait::async_trait]
impl ExceptionStore for SqlStore {
    async fn billing_extras(&self, from: &str, to: &str, period: &str) -> StoreResult<BillingExtras> {
        let prev = period_back(period, 1)?;
        // The latest resolution per customer and period: the rows come in (customer, period, seq)
        // order and the last of each pair wins.
        let rows = sqlx::query(
            "SELECT * FROM exception_resolutions WHERE customer_id >= $1 AND customer_id <= $2
               AND period >= $3 AND period <= $4
             ORDER BY customer_id, period, seq",
        )
        .bind(from)
        .bind(to)
        .bind(&prev)
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut resolutions: Vec<ExceptionResolution> = Vec::new();
        for r in &rows {
            let x = resolution_from_row(r)?;
            match resolutions.last_mut() {
                Some(last) if last.customer_id == x.customer_id && last.period == x.period => *last = x,
                _ => resolutions.push(x),
            }
        }
        let rows = sqlx::query(
            "SELECT * FROM meters WHERE customer_id >= $1 AND customer_id <= $2
               AND removed_on IS NOT NULL AND removed_on >= $3
             ORDER BY customer_id, removed_on",
        )
        .bind(from)
        .bind(to)
        .bind(format!("{prev}-01"))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let removed_meters = rows.iter().map(meter_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(BillingExtras { resolutions, removed_meters })
    }

    async fn save_resolution(&self, x: &ExceptionResolution) -> StoreResult<i64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let seq = save_resolution_tx(&mut tx, x).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(seq)
    }

    async fn resolve_and_bill(
        &self,
        x: &ExceptionResolution,
        bill: &StoredBill,
        charges: &[CustomerEntry],
    ) -> StoreResult<(i64, bool)> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let seq = save_resolution_tx(&mut tx, x).await?;
        let added = insert_bills_tx(&mut tx, std::slice::from_ref(bill), true).await? == 1;
        if added {
            post_charges_tx(&mut tx, charges).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok((seq, added))
    }

    async fn resolutions_of(&self, customer_id: &str, period: &str) -> StoreResult<Vec<ExceptionResolution>> {
        let rows = sqlx::query(
            "SELECT * FROM exception_resolutions WHERE customer_id = $1 AND period = $2 ORDER BY seq",
        )
        .bind(customer_id)
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(resolution_from_row).collect()
    }

    async fn exceptions_of(&self, customer_id: &str, period: &str) -> StoreResult<Vec<ReadingException>> {
        let rows = sqlx::query("SELECT * FROM reading_exceptions WHERE customer_id = $1 AND period = $2 ORDER BY kind")
            .bind(customer_id)
            .bind(period)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(exception_from_row).collect()
    }
}
