// The arrears workflow's cases and steps on SQLite and PostgreSQL (included by both store crates
// after `sql_store.rs`; see that file's header).

const ARREARS_CASE_COLUMNS: &str = "customer_id, case_no, bureau_id, opened_at, oldest_due, arrears_fen, next_step,
    next_at, deadline, closed_at, updated_at";
const ARREARS_STEP_COLUMNS: &str =
    "customer_id, case_no, step, at, by_staff, planned_cut_at, due_at, done_at, done_by, detail";

fn arrears_case_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<ArrearsCaseRow> {
    Ok(ArrearsCaseRow {
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        case_no: r.try_get("case_no").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        opened_at: r.try_get("opened_at").map_err(db_err)?,
        oldest_due: r.try_get("oldest_due").map_err(db_err)?,
        arrears_fen: r.try_get("arrears_fen").map_err(db_err)?,
        next_step: r.try_get("next_step").map_err(db_err)?,
        next_at: r.try_get("next_at").map_err(db_err)?,
        deadline: r.try_get("deadline").map_err(db_err)?,
        closed_at: r.try_get("closed_at").map_err(db_err)?,
        updated_at: r.try_get("updated_at").map_err(db_err)?,
        steps: Vec::new(),
    })
}

fn arrears_step_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<ArrearsStepRow> {
    Ok(ArrearsStepRow {
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        case_no: r.try_get("case_no").map_err(db_err)?,
        step: r.try_get("step").map_err(db_err)?,
        at: r.try_get("at").map_err(db_err)?,
        by_staff: r.try_get("by_staff").map_err(db_err)?,
        planned_cut_at: r.try_get("planned_cut_at").map_err(db_err)?,
        due_at: r.try_get("due_at").map_err(db_err)?,
        done_at: r.try_get("done_at").map_err(db_err)?,
        done_by: r.try_get("done_by").map_err(db_err)?,
        detail: r.try_get("detail").map_err(db_err)?,
    })
}

/// Fills in the steps of `cases`, oldest first.
async fn with_arrears_steps(
    pool: &sqlx::Pool<Db>,
    mut cases: Vec<ArrearsCaseRow>,
) -> StoreResult<Vec<ArrearsCaseRow>> {
    let mut index = std::collections::HashMap::new();
    for (i, c) in cases.iter().enumerate() {
        index.insert((c.customer_id.clone(), c.case_no), i);
    }
    let ids: Vec<String> = {
        let mut seen = std::collections::HashSet::new();
        cases.iter().map(|c| c.customer_id.clone()).filter(|id| seen.insert(id.clone())).collect()
    };
    for chunk in ids.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {ARREARS_STEP_COLUMNS} FROM arrears_steps WHERE customer_id IN ("
        ));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_str());
        }
        qb.push(") ORDER BY customer_id, case_no, at, step");
        for r in qb.build().fetch_all(pool).await.map_err(db_err)? {
            let s = arrears_step_from_row(&r)?;
            if let Some(i) = index.get(&(s.customer_id.clone(), s.case_no)) {
                cases[*i].steps.push(s);
            }
        }
    }
    Ok(cases)
}

#[async_trait::async_trait]
impl ArrearsStore for SqlStore {
    async fn open_arrears_case(
        &self,
        customer_id: &str,
        bureau_id: &str,
        now: i64,
        u: &CaseUpdate,
    ) -> StoreResult<ArrearsCaseRow> {
        // The partial unique index keeps one open case per customer, also when two passes race:
        // the loser's insert writes nothing and both read the one open case.
        sqlx::query(
            "INSERT INTO arrears_cases (customer_id, case_no, bureau_id, opened_at, oldest_due, arrears_fen,
                                        next_step, next_at, deadline, closed_at, updated_at)
             SELECT $1, COALESCE(MAX(case_no), 0) + 1, $2, $3, $4, $5, $6, $7, $8, NULL, $3
             FROM arrears_cases WHERE customer_id = $1
             HAVING COUNT(CASE WHEN closed_at IS NULL THEN 1 END) = 0
             ON CONFLICT DO NOTHING",
        )
        .bind(customer_id)
        .bind(bureau_id)
        .bind(now)
        .bind(&u.oldest_due)
        .bind(u.arrears_fen)
        .bind(&u.next_step)
        .bind(u.next_at)
        .bind(u.deadline)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        let row = sqlx::query(&format!(
            "SELECT {ARREARS_CASE_COLUMNS} FROM arrears_cases WHERE customer_id = $1 AND closed_at IS NULL"
        ))
        .bind(customer_id)
        .fetch_one(&self.writer)
        .await
        .map_err(db_err)?;
        let case = arrears_case_from_row(&row)?;
        Ok(with_arrears_steps(&self.writer, vec![case]).await?.remove(0))
    }

    async fn record_arrears_step(&self, s: &ArrearsStepRow) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO arrears_steps (customer_id, case_no, step, at, by_staff, planned_cut_at, due_at, done_at,
                                        done_by, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (customer_id, case_no, step) DO NOTHING",
        )
        .bind(&s.customer_id)
        .bind(s.case_no)
        .bind(&s.step)
        .bind(s.at)
        .bind(&s.by_staff)
        .bind(s.planned_cut_at)
        .bind(s.due_at)
        .bind(s.done_at)
        .bind(&s.done_by)
        .bind(&s.detail)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn update_arrears_case(&self, customer_id: &str, case_no: i64, u: &CaseUpdate) -> StoreResult<()> {
        sqlx::query(
            "UPDATE arrears_cases SET oldest_due = $3, arrears_fen = $4, next_step = $5, next_at = $6,
                    deadline = $7, closed_at = $8, updated_at = $9
             WHERE customer_id = $1 AND case_no = $2 AND closed_at IS NULL",
        )
        .bind(customer_id)
        .bind(case_no)
        .bind(&u.oldest_due)
        .bind(u.arrears_fen)
        .bind(&u.next_step)
        .bind(u.next_at)
        .bind(u.deadline)
        .bind(u.closed_at)
        .bind(u.updated_at)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn complete_arrears_order(
        &self,
        customer_id: &str,
        case_no: i64,
        step: &str,
        done_at: i64,
        done_by: &str,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE arrears_steps SET done_at = $4, done_by = $5
             WHERE customer_id = $1 AND case_no = $2 AND step = $3 AND done_at IS NULL AND due_at IS NOT NULL",
        )
        .bind(customer_id)
        .bind(case_no)
        .bind(step)
        .bind(done_at)
        .bind(done_by)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn arrears_cases(&self, scope: &Scope, open_only: bool, limit: u32) -> StoreResult<Vec<ArrearsCaseRow>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {ARREARS_CASE_COLUMNS} FROM arrears_cases WHERE 1 = 1"));
        if open_only {
            qb.push(" AND closed_at IS NULL");
        }
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY customer_id, case_no LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let cases = rows.iter().map(arrears_case_from_row).collect::<StoreResult<Vec<_>>>()?;
        with_arrears_steps(&self.pool, cases).await
    }

    async fn arrears_cases_of(&self, customer_id: &str) -> StoreResult<Vec<ArrearsCaseRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {ARREARS_CASE_COLUMNS} FROM arrears_cases WHERE customer_id = $1 ORDER BY case_no DESC"
        ))
        .bind(customer_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let cases = rows.iter().map(arrears_case_from_row).collect::<StoreResult<Vec<_>>>()?;
        with_arrears_steps(&self.pool, cases).await
    }

    async fn customers_with_open_case(&self, customer_ids: &[String]) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for chunk in customer_ids.chunks(CHUNK) {
            let mut qb =
                QueryBuilder::<Db>::new("SELECT customer_id FROM arrears_cases WHERE closed_at IS NULL AND customer_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.as_str());
            }
            qb.push(")");
            for r in qb.build().fetch_all(&self.pool).await.map_err(db_err)? {
                out.push(r.try_get::<String, _>("customer_id").map_err(db_err)?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    async fn record_arrears_pass(&self, p: &ArrearsPassRow) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO arrears_passes (day, started_at, finished_at, customers, opened, taken, closed)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (day) DO NOTHING",
        )
        .bind(&p.day)
        .bind(p.started_at)
        .bind(p.finished_at)
        .bind(p.customers)
        .bind(p.opened)
        .bind(p.taken)
        .bind(p.closed)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn arrears_pass(&self, day: &str) -> StoreResult<Option<ArrearsPassRow>> {
        let row = sqlx::query(
            "SELECT day, started_at, finished_at, customers, opened, taken, closed FROM arrears_passes WHERE day = $1",
        )
        .bind(day)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(ArrearsPassRow {
            day: r.try_get("day").map_err(db_err)?,
            started_at: r.try_get("started_at").map_err(db_err)?,
            finished_at: r.try_get("finished_at").map_err(db_err)?,
            customers: r.try_get("customers").map_err(db_err)?,
            opened: r.try_get("opened").map_err(db_err)?,
            taken: r.try_get("taken").map_err(db_err)?,
            closed: r.try_get("closed").map_err(db_err)?,
        }))
    }
}
