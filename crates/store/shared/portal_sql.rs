// The customer portal's SQL on SQLite and PostgreSQL (included by both store crates after
// `billing_sql.rs` and `outage_sql.rs`, whose column lists and row decoders it reuses).

fn gateway_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<QueryGateway> {
    Ok(QueryGateway {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        token_hash: r.try_get("token_hash").map_err(db_err)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
        created_by: r.try_get("created_by").map_err(db_err)?,
        active: r.try_get("active").map_err(db_err)?,
    })
}

#[async_trait::async_trait]
impl PortalStore for SqlStore {
    async fn set_customer_password(&self, customer_id: &str, password_hash: &str, at: i64, set_by: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO customer_logins (customer_id, password_hash, set_at, set_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (customer_id) DO UPDATE SET password_hash = excluded.password_hash,
               set_at = excluded.set_at, set_by = excluded.set_by",
        )
        .bind(customer_id)
        .bind(password_hash)
        .bind(at)
        .bind(set_by)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn customer_password(&self, customer_id: &str) -> StoreResult<String> {
        let row = sqlx::query("SELECT password_hash FROM customer_logins WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        row.try_get("password_hash").map_err(db_err)
    }

    async fn put_login_code(&self, c: &LoginCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO customer_login_codes (customer_id, code_hash, created_at, expires_at, attempts)
             VALUES ($1, $2, $3, $4, 0)
             ON CONFLICT (customer_id) DO UPDATE SET code_hash = excluded.code_hash,
               created_at = excluded.created_at, expires_at = excluded.expires_at, attempts = 0",
        )
        .bind(&c.customer_id)
        .bind(&c.code_hash)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn check_login_code(&self, customer_id: &str, code_hash: &str, now: i64, max_attempts: i64) -> StoreResult<CodeCheck> {
        let used = sqlx::query(
            "DELETE FROM customer_login_codes
             WHERE customer_id = $1 AND code_hash = $2 AND expires_at > $3 AND attempts < $4",
        )
        .bind(customer_id)
        .bind(code_hash)
        .bind(now)
        .bind(max_attempts)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        if used.rows_affected() == 1 {
            return Ok(CodeCheck::Accepted);
        }
        let counted = sqlx::query(
            "UPDATE customer_login_codes SET attempts = attempts + 1
             WHERE customer_id = $1 AND expires_at > $2 AND attempts < $3",
        )
        .bind(customer_id)
        .bind(now)
        .bind(max_attempts)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(if counted.rows_affected() == 1 { CodeCheck::Wrong } else { CodeCheck::NoCode })
    }

    async fn save_gateway(&self, g: &QueryGateway) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO query_gateways (id, bureau_id, name, token_hash, created_at, created_by, active)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash,
               active = excluded.active",
        )
        .bind(&g.id)
        .bind(&g.bureau_id)
        .bind(&g.name)
        .bind(&g.token_hash)
        .bind(g.created_at)
        .bind(&g.created_by)
        .bind(g.active)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn gateway_by_token(&self, token_hash: &str) -> StoreResult<QueryGateway> {
        let row = sqlx::query("SELECT * FROM query_gateways WHERE token_hash = $1 AND active")
            .bind(token_hash)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        gateway_from_row(&row)
    }

    async fn latest_bill(&self, customer_id: &str) -> StoreResult<Option<StoredBill>> {
        let row = sqlx::query(&format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE customer_id = $1 AND state <> 'cancelled'
             ORDER BY period DESC LIMIT 1"
        ))
        .bind(customer_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(bill_from_row).transpose()
    }

    async fn bill_query(&self, customer_id: &str) -> StoreResult<BillQuery> {
        // One round trip: the newest live bill (by the primary key, newest period first) beside the
        // balance, summed over the customer's ledger entries with the ledger's own sum.
        let columns = BILL_COLUMNS.split(',').map(|c| format!("b.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let row = sqlx::query(&format!(
            "SELECT {columns}, b.customer_id AS bill_customer,
                    (SELECT x.balance FROM ({BALANCE_SELECT}($1) GROUP BY e.customer_id) x) AS balance_fen
             FROM (SELECT 1 AS one) o
             LEFT JOIN (SELECT {BILL_COLUMNS} FROM bills WHERE customer_id = $1 AND state <> 'cancelled'
                        ORDER BY period DESC LIMIT 1) b ON 1 = 1"
        ))
        .bind(customer_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let has_bill = row.try_get::<Option<String>, _>("bill_customer").map_err(db_err)?.is_some();
        let balance = row.try_get::<Option<i64>, _>("balance_fen").map_err(db_err)?.unwrap_or(0);
        Ok(BillQuery {
            latest: if has_bill { Some(bill_from_row(&row)?) } else { None },
            balance: bureau_domain::money::Fen(balance),
        })
    }

    async fn live_bills(&self, customer_id: &str, limit: u32) -> StoreResult<Vec<StoredBill>> {
        let rows = sqlx::query(&format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE customer_id = $1 AND state <> 'cancelled'
             ORDER BY period DESC LIMIT $2"
        ))
        .bind(customer_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(bill_from_row).collect()
    }

    async fn outages_at_point(&self, load_id: &str, since: i64, limit: u32) -> StoreResult<Vec<Outage>> {
        let columns = OUTAGE_COLUMNS.split(',').map(|c| format!("o.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM outage_points p JOIN outages o ON o.id = p.outage_id
             WHERE p.load_id = $1 AND (p.out_at >= $2 OR p.restored_at IS NULL OR p.restored_at >= $2)
               AND o.state <> 'merged'
             ORDER BY o.started_at DESC, o.id LIMIT $3"
        ))
        .bind(load_id)
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(outage_from_row).collect()
    }
}
