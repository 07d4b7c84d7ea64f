// The sums of the government-fund remittance report, shared by SQLite and PostgreSQL.
//
// Included at the end of `sql_store.rs` (whose `db_err`, `from_centi`, `push_scope` it uses), so by
// both store crates. One GROUP BY over the months' bills (index `bills_period`); the report prices
// the groups.

#[async_trait::async_trait]
impl FundStore for SqlStore {
    async fn bill_fund_groups(&self, scope: &Scope, from: &str, to: &str) -> StoreResult<Vec<BillFundGroup>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT period, tariff_id, start_on, end_on, COUNT(*) AS n,
                    CAST(SUM(kwh_c) AS BIGINT) AS kwh_c, CAST(SUM(funds_fen) AS BIGINT) AS funds_fen
             FROM bills WHERE state <> 'cancelled' AND period >= ",
        );
        qb.push_bind(from);
        qb.push(" AND period <= ");
        qb.push_bind(to);
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(
            " GROUP BY period, tariff_id, start_on, end_on ORDER BY period, tariff_id, start_on, end_on",
        );
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(BillFundGroup {
                    period: r.try_get("period").map_err(db_err)?,
                    tariff_id: r.try_get("tariff_id").map_err(db_err)?,
                    start_on: r.try_get("start_on").map_err(db_err)?,
                    end_on: r.try_get("end_on").map_err(db_err)?,
                    bills: r.try_get::<i64, _>("n").map_err(db_err)? as u64,
                    kwh: from_centi(r.try_get("kwh_c").map_err(db_err)?),
                    funds: bureau_domain::money::Fen(r.try_get("funds_fen").map_err(db_err)?),
                })
            })
            .collect()
    }
}
