// Bank batch SQL shared by SQLite and PostgreSQL: lookups by many ids at once, and the record of
// the files posted (migration 0010).
//
// Included by both store crates after `sql_store.rs` and `ledger_sql.rs` (for `CUSTOMER_COLUMNS`,
// `customer_from_row`, `entries_by_keys` and `CHUNK`).

const BANK_BATCH_COLUMNS: &str = "batch_id, bureau_id, bank, file_name, posted_by, started_at, finished_at, lines,
    posted, duplicate, rejected, posted_fen, CAST(CASE WHEN result_zh IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_result";

fn bank_batch_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<BankBatchRecord> {
    let count = |c: &str| -> StoreResult<u64> { Ok(r.try_get::<i64, _>(c).map_err(db_err)?.max(0) as u64) };
    Ok(BankBatchRecord {
        batch_id: r.try_get("batch_id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        bank: r.try_get("bank").map_err(db_err)?,
        file_name: r.try_get("file_name").map_err(db_err)?,
        posted_by: r.try_get("posted_by").map_err(db_err)?,
        started_at: r.try_get("started_at").map_err(db_err)?,
        finished_at: r.try_get("finished_at").map_err(db_err)?,
        lines: count("lines")?,
        posted: count("posted")?,
        duplicate: count("duplicate")?,
        rejected: count("rejected")?,
        posted_amount: bureau_domain::money::Fen(r.try_get("posted_fen").map_err(db_err)?),
        has_result: r.try_get::<i64, _>("has_result").map_err(db_err)? != 0,
    })
}

#[async_trait::async_trait]
impl BankBatchStore for SqlStore {
    async fn customers_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Customer>> {
        // The backend's `bank_customers_by_ids` may take a faster path to the same customers.
        self.bank_customers_by_ids(ids).await
    }

    async fn entries_with_keys(&self, keys: &[String]) -> StoreResult<Vec<CustomerEntry>> {
        // The backend's `bank_entries_with_keys` may take a faster path to the same entries.
        self.bank_entries_with_keys(keys).await
    }

    async fn save_bank_batch(&self, b: &BankBatchRecord, result: &BankBatchResultFile) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bank_batches (batch_id, bureau_id, bank, file_name, posted_by, started_at, finished_at, lines,
                                       posted, duplicate, rejected, posted_fen, result_zh, result_en)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&b.batch_id)
        .bind(&b.bureau_id)
        .bind(&b.bank)
        .bind(&b.file_name)
        .bind(&b.posted_by)
        .bind(b.started_at)
        .bind(b.finished_at)
        .bind(b.lines as i64)
        .bind(b.posted as i64)
        .bind(b.duplicate as i64)
        .bind(b.rejected as i64)
        .bind(b.posted_amount.0)
        .bind(&result.zh)
        .bind(&result.en)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_bank_batches(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<BankBatchRecord>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {BANK_BATCH_COLUMNS} FROM bank_batches WHERE 1 = 1"));
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY started_at DESC, batch_id DESC LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(bank_batch_from_row).collect()
    }

    async fn bank_batch_result(
        &self,
        batch_id: &str,
    ) -> StoreResult<Option<(BankBatchRecord, Option<BankBatchResultFile>)>> {
        let row = sqlx::query(&format!(
            "SELECT {BANK_BATCH_COLUMNS}, result_zh, result_en FROM bank_batches WHERE batch_id = $1"
        ))
        .bind(batch_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        let zh: Option<String> = r.try_get("result_zh").map_err(db_err)?;
        let en: Option<String> = r.try_get("result_en").map_err(db_err)?;
        let file = zh.zip(en).map(|(zh, en)| BankBatchResultFile { zh, en });
        Ok(Some((bank_batch_from_row(&r)?, file)))
    }
}

// PostgreSQL reads these with arrays instead (store-postgres's ledger_arrays.rs).
#[allow(dead_code)]
impl SqlStore {
    async fn customers_by_ids_sql(&self, ids: &[String]) -> StoreResult<Vec<Customer>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut qb =
                QueryBuilder::<Db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customer_id IN ("));
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.as_str());
            }
            qb.push(")");
            for r in qb.build().fetch_all(&self.pool).await.map_err(db_err)? {
                out.push(customer_from_row(&r)?);
            }
        }
        out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    async fn entries_with_keys_sql(&self, keys: &[String]) -> StoreResult<Vec<CustomerEntry>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for (customer_id, entry) in entries_by_keys(&self.pool, &refs).await? {
                out.push(CustomerEntry { customer_id, entry });
            }
        }
        Ok(out)
    }
}
