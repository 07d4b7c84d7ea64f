// Billing SQL shared by SQLite and PostgreSQL: bills, bill lines, reading exceptions, bill runs.
//
// Included by both store crates right after `sql_store.rs`, whose helpers (`db_err`, `to_centi`,
// `from_centi`, `push_scope`, `corrupt`, `parse_date`, `CHUNK`) it uses. Every customer-owned
// statement is keyed by `customer_id` first, and a chunk of the bill run reads its customers'
// readings and bills as key ranges, never one customer at a time.

const BILL_COLUMNS: &str = "customer_id, period, revision, bureau_id, book_id, tariff_id, state, start_on, end_on,
    meter_id, multiplier, prev_read_on, curr_read_on, prev_total_c, curr_total_c, estimated, kwh_c, ytd_kwh_c,
    total_fen, funds_fen, paid_fen, issued_on, due_on, created_at, cancelled_at, cancel_reason";

const LINE_COLUMNS: &str = "customer_id, period, revision, line_no, code, description_zh, description_en, quantity,
    unit, unit_price, amount_fen, tier, ytd_kwh";

fn reading_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Reading> {
    let kind: String = r.try_get("kind").map_err(db_err)?;
    let opt = |col: &str| -> StoreResult<Option<Decimal>> {
        Ok(r.try_get::<Option<i64>, _>(col).map_err(db_err)?.map(from_centi))
    };
    Ok(Reading {
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        meter_id: r.try_get("meter_id").map_err(db_err)?,
        read_on: r.try_get("read_on").map_err(db_err)?,
        kind: ReadingKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        source: r.try_get("source").map_err(db_err)?,
        total: from_centi(r.try_get("total_c").map_err(db_err)?),
        peak: opt("peak_c")?,
        flat: opt("flat_c")?,
        valley: opt("valley_c")?,
        max_demand: opt("max_demand_c")?,
        kvarh: opt("kvarh_c")?,
    })
}

fn bill_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<StoredBill> {
    let state: String = r.try_get("state").map_err(db_err)?;
    Ok(StoredBill {
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        period: r.try_get("period").map_err(db_err)?,
        revision: r.try_get("revision").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        book_id: r.try_get("book_id").map_err(db_err)?,
        tariff_id: r.try_get("tariff_id").map_err(db_err)?,
        state: bureau_domain::bill::BillState::parse(&state).map_err(|_| corrupt("state", &state))?,
        start_on: r.try_get("start_on").map_err(db_err)?,
        end_on: r.try_get("end_on").map_err(db_err)?,
        meter_id: r.try_get("meter_id").map_err(db_err)?,
        multiplier: r.try_get("multiplier").map_err(db_err)?,
        prev_read_on: r.try_get("prev_read_on").map_err(db_err)?,
        curr_read_on: r.try_get("curr_read_on").map_err(db_err)?,
        prev_total: from_centi(r.try_get("prev_total_c").map_err(db_err)?),
        curr_total: from_centi(r.try_get("curr_total_c").map_err(db_err)?),
        estimated: r.try_get("estimated").map_err(db_err)?,
        kwh: from_centi(r.try_get("kwh_c").map_err(db_err)?),
        ytd_kwh: r.try_get::<Option<i64>, _>("ytd_kwh_c").map_err(db_err)?.map(from_centi),
        total: bureau_domain::money::Fen(r.try_get("total_fen").map_err(db_err)?),
        funds: bureau_domain::money::Fen(r.try_get("funds_fen").map_err(db_err)?),
        paid: bureau_domain::money::Fen(r.try_get("paid_fen").map_err(db_err)?),
        issued_on: r.try_get("issued_on").map_err(db_err)?,
        due_on: r.try_get("due_on").map_err(db_err)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
        cancelled_at: r.try_get("cancelled_at").map_err(db_err)?,
        cancel_reason: r.try_get("cancel_reason").map_err(db_err)?,
        lines: Vec::new(),
    })
}

fn line_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<(String, String, i64, StoredBillLine)> {
    let q: String = r.try_get("quantity").map_err(db_err)?;
    let p: String = r.try_get("unit_price").map_err(db_err)?;
    let ytd: Option<String> = r.try_get("ytd_kwh").map_err(db_err)?;
    Ok((
        r.try_get("customer_id").map_err(db_err)?,
        r.try_get("period").map_err(db_err)?,
        r.try_get("revision").map_err(db_err)?,
        StoredBillLine {
            line_no: r.try_get("line_no").map_err(db_err)?,
            code: r.try_get("code").map_err(db_err)?,
            description: bureau_domain::i18n::Text::new(
                r.try_get::<String, _>("description_zh").map_err(db_err)?,
                r.try_get::<String, _>("description_en").map_err(db_err)?,
            ),
            quantity: parse_decimal(&q)?,
            unit: r.try_get("unit").map_err(db_err)?,
            unit_price: parse_decimal(&p)?,
            amount: bureau_domain::money::Fen(r.try_get("amount_fen").map_err(db_err)?),
            tier: r.try_get("tier").map_err(db_err)?,
            ytd_kwh: ytd.as_deref().map(parse_decimal).transpose()?,
        },
    ))
}

fn exception_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<ReadingException> {
    let kind: String = r.try_get("kind").map_err(db_err)?;
    Ok(ReadingException {
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        period: r.try_get("period").map_err(db_err)?,
        kind: bureau_domain::reading::ExceptionKind::parse(&kind).map_err(|_| corrupt("kind", &kind))?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        meter_id: r.try_get("meter_id").map_err(db_err)?,
        read_on: r.try_get("read_on").map_err(db_err)?,
        detail: bureau_domain::i18n::Text::new(
            r.try_get::<String, _>("detail_zh").map_err(db_err)?,
            r.try_get::<String, _>("detail_en").map_err(db_err)?,
        ),
        created_at: r.try_get("created_at").map_err(db_err)?,
    })
}

/// `YYYY-MM` → the `YYYY-MM` `back` months earlier.
fn period_back(period: &str, back: i32) -> StoreResult<String> {
    let bad = || corrupt("period", period);
    let (y, m) = period.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, i32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let idx = y * 12 + (m - 1) - back;
    Ok(format!("{:04}-{:02}", idx / 12, idx % 12 + 1))
}

async fn insert_bills_tx(
    tx: &mut sqlx::Transaction<'_, Db>,
    bills: &[StoredBill],
    on_conflict_nothing: bool,
) -> StoreResult<u64> {
    let mut n = 0;
    for chunk in bills.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO bills ({BILL_COLUMNS}) "));
        qb.push_values(chunk, |mut b, x| {
            b.push_bind(x.customer_id.as_str())
                .push_bind(x.period.as_str())
                .push_bind(x.revision)
                .push_bind(x.bureau_id.as_str())
                .push_bind(x.book_id.as_deref())
                .push_bind(x.tariff_id.as_str())
                .push_bind(x.state.code())
                .push_bind(x.start_on.as_str())
                .push_bind(x.end_on.as_str())
                .push_bind(x.meter_id.as_str())
                .push_bind(x.multiplier)
                .push_bind(x.prev_read_on.as_deref())
                .push_bind(x.curr_read_on.as_str())
                .push_bind(to_centi(x.prev_total))
                .push_bind(to_centi(x.curr_total))
                .push_bind(x.estimated)
                .push_bind(to_centi(x.kwh))
                .push_bind(x.ytd_kwh.map(to_centi))
                .push_bind(x.total.0)
                .push_bind(x.funds.0)
                .push_bind(x.paid.0)
                .push_bind(x.issued_on.as_deref())
                .push_bind(x.due_on.as_deref())
                .push_bind(x.created_at)
                .push_bind(x.cancelled_at)
                .push_bind(x.cancel_reason.as_deref());
        });
        if on_conflict_nothing {
            qb.push(" ON CONFLICT DO NOTHING");
        }
        n += qb.build().execute(&mut **tx).await.map_err(db_err)?.rows_affected();
    }
    let lines: Vec<(&StoredBill, &StoredBillLine)> =
        bills.iter().flat_map(|b| b.lines.iter().map(move |l| (b, l))).collect();
    for chunk in lines.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO bill_lines ({LINE_COLUMNS}) "));
        qb.push_values(chunk, |mut b, (bill, l)| {
            b.push_bind(bill.customer_id.as_str())
                .push_bind(bill.period.as_str())
                .push_bind(bill.revision)
                .push_bind(l.line_no)
                .push_bind(l.code.as_str())
                .push_bind(l.description.zh.as_str())
                .push_bind(l.description.en.as_str())
                .push_bind(l.quantity.to_string())
                .push_bind(l.unit.as_str())
                .push_bind(l.unit_price.to_string())
                .push_bind(l.amount.0)
                .push_bind(l.tier)
                .push_bind(l.ytd_kwh.map(|d| d.to_string()));
        });
        if on_conflict_nothing {
            qb.push(" ON CONFLICT DO NOTHING");
        }
        qb.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(n)
}

/// Attaches lines (in any order) to their bills.
fn attach_lines(bills: &mut [StoredBill], lines: Vec<(String, String, i64, StoredBillLine)>) {
    for (c, p, rev, line) in lines {
        if let Some(b) = bills.iter_mut().find(|b| b.customer_id == c && b.period == p && b.revision == rev) {
            b.lines.push(line);
        }
    }
    for b in bills {
        b.lines.sort_by_key(|l| l.line_no);
    }
}

impl SqlStore {
    /// A chunk of the bill run, or (with `only`) one customer whether billed or not.
    async fn load_billing(
        &self,
        scope: &Scope,
        period: &str,
        book_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
        only: Option<&str>,
    ) -> StoreResult<BillingChunk> {
        let first_day = format!("{period}-01");
        let last_day = format!("{period}-31");
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT c.customer_id, c.bureau_id, c.book_id, b.reading_day,
                    m.meter_id, m.multiplier, m.digits, m.tou, m.installed_on, m.initial_reading_c,
                    k.contract_id, k.tariff_id, k.capacity_kva, k.pf_standard, k.due_days, k.effective_from,
                    k.effective_to
             FROM customers c
             LEFT JOIN reading_books b ON b.id = c.book_id
             LEFT JOIN meters m ON m.customer_id = c.customer_id AND m.removed_on IS NULL
             LEFT JOIN contracts k ON k.customer_id = c.customer_id AND k.contract_id = (
                 SELECT k2.contract_id FROM contracts k2 WHERE k2.customer_id = c.customer_id
                   AND k2.effective_from <= ",
        );
        qb.push_bind(last_day.clone());
        qb.push(" AND (k2.effective_to IS NULL OR k2.effective_to >= ");
        qb.push_bind(first_day.clone());
        qb.push(") ORDER BY k2.effective_from DESC, k2.contract_id DESC LIMIT 1)");
        match only {
            Some(id) => {
                qb.push(" WHERE c.customer_id = ");
                qb.push_bind(id);
            }
            None => {
                qb.push(" WHERE c.customer_id > ");
                qb.push_bind(after.unwrap_or(""));
            }
        }
        if let Some(book) = book_id {
            qb.push(" AND c.book_id = ");
            qb.push_bind(book);
        }
        push_scope(&mut qb, "c.bureau_id", scope);
        // One row per customer (one active meter, the latest contract in force), in key order, so
        // that SQLite and PostgreSQL walk the customers' primary key and stop at the limit.
        qb.push(" ORDER BY c.customer_id LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let mut accounts: Vec<BillingAccount> = Vec::with_capacity(rows.len());
        for r in &rows {
            let customer_id: String = r.try_get("customer_id").map_err(db_err)?;
            if accounts.last().is_some_and(|a| a.customer_id == customer_id) {
                continue; // an older overlapping contract
            }
            let account = AccountNo::parse("customer_id", &customer_id).map_err(|_| corrupt("customer_id", &customer_id))?;
            let meter_id: Option<String> = r.try_get("meter_id").map_err(db_err)?;
            let meter = match meter_id {
                Some(meter_id) => {
                    let installed_on: String = r.try_get("installed_on").map_err(db_err)?;
                    Some(Meter {
                        customer_id: account.clone(),
                        meter_id,
                        multiplier: r.try_get("multiplier").map_err(db_err)?,
                        digits: r.try_get("digits").map_err(db_err)?,
                        tou: r.try_get("tou").map_err(db_err)?,
                        installed_on: parse_date(&installed_on)?,
                        initial_reading: from_centi(r.try_get("initial_reading_c").map_err(db_err)?),
                        removed_on: None,
                        final_reading: None,
                    })
                }
                None => None,
            };
            let contract_id: Option<String> = r.try_get("contract_id").map_err(db_err)?;
            let contract = match contract_id {
                Some(contract_id) => {
                    let cap: String = r.try_get("capacity_kva").map_err(db_err)?;
                    let pf: Option<String> = r.try_get("pf_standard").map_err(db_err)?;
                    let from: String = r.try_get("effective_from").map_err(db_err)?;
                    let to: Option<String> = r.try_get("effective_to").map_err(db_err)?;
                    Some(Contract {
                        customer_id: account.clone(),
                        contract_id,
                        tariff_id: r.try_get("tariff_id").map_err(db_err)?,
                        capacity_kva: parse_decimal(&cap)?,
                        pf_standard: pf.as_deref().map(parse_decimal).transpose()?,
                        due_days: r.try_get("due_days").map_err(db_err)?,
                        effective_from: parse_date(&from)?,
                        effective_to: to.as_deref().map(parse_date).transpose()?,
                    })
                }
                None => None,
            };
            accounts.push(BillingAccount {
                customer_id,
                bureau_id: r.try_get("bureau_id").map_err(db_err)?,
                book_id: r.try_get("book_id").map_err(db_err)?,
                reading_day: r.try_get("reading_day").map_err(db_err)?,
                meter,
                contract,
            });
        }
        let (Some(lo), Some(hi)) = (accounts.first(), accounts.last()) else {
            return Ok(BillingChunk::default());
        };
        let (lo, hi) = (lo.customer_id.clone(), hi.customer_id.clone());
        let scanned_to = Some(hi.clone());
        let mut already_billed = 0;
        if only.is_none() {
            // Customers billed already (any revision) leave the chunk: one key-range read of the
            // bills, not a NOT EXISTS per customer, which PostgreSQL may plan as a scan of every
            // bill of the period (quadratic over a run while the bills grow).
            let billed: std::collections::HashSet<String> = sqlx::query_scalar(
                "SELECT customer_id FROM bills WHERE customer_id >= $1 AND customer_id <= $2 AND period = $3",
            )
            .bind(&lo)
            .bind(&hi)
            .bind(period)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .collect();
            let before = accounts.len();
            accounts.retain(|a| !billed.contains(&a.customer_id));
            already_billed = (before - accounts.len()) as u64;
        }
        let (Some(lo), Some(hi)) = (accounts.first(), accounts.last()) else {
            return Ok(BillingChunk { scanned_to, already_billed, ..BillingChunk::default() });
        };
        let (lo, hi) = (lo.customer_id.clone(), hi.customer_id.clone());
        let rows = sqlx::query(
            "SELECT * FROM readings WHERE customer_id >= $1 AND customer_id <= $2 AND read_on >= $3 AND read_on <= $4
             ORDER BY customer_id, meter_id, read_on",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(format!("{}-01", period_back(period, 1)?))
        .bind(&last_day)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let readings = rows.iter().map(reading_from_row).collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT customer_id, period, kwh_c, ytd_kwh_c FROM bills
             WHERE customer_id >= $1 AND customer_id <= $2 AND period >= $3 AND period < $4 AND state <> 'cancelled'
             ORDER BY customer_id, period DESC",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(period_back(period, 12)?)
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let history = rows
            .iter()
            .map(|r| {
                Ok(BillHistory {
                    customer_id: r.try_get("customer_id").map_err(db_err)?,
                    period: r.try_get("period").map_err(db_err)?,
                    kwh: from_centi(r.try_get("kwh_c").map_err(db_err)?),
                    ytd_kwh: r.try_get::<Option<i64>, _>("ytd_kwh_c").map_err(db_err)?.map(from_centi),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(BillingChunk { accounts, readings, history, scanned_to, already_billed })
    }

    /// Writes a chunk of the bill run in one transaction (the backend's `bill_run_write` may take
    /// a faster path to the same rows).
    async fn write_bills_sql(&self, w: &BillWrite) -> StoreResult<BillWriteCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let estimates = insert_readings_tx(&mut tx, &w.estimates).await?;
        let bills = insert_bills_tx(&mut tx, &w.bills, true).await?;
        post_charges_tx(&mut tx, &w.charges).await?;
        let mut exceptions = 0;
        for chunk in w.exceptions.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO reading_exceptions (customer_id, period, kind, bureau_id, meter_id, read_on, detail_zh,
                   detail_en, created_at) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.customer_id.as_str())
                    .push_bind(e.period.as_str())
                    .push_bind(e.kind.code())
                    .push_bind(e.bureau_id.as_str())
                    .push_bind(e.meter_id.as_deref())
                    .push_bind(e.read_on.as_deref())
                    .push_bind(e.detail.zh.as_str())
                    .push_bind(e.detail.en.as_str())
                    .push_bind(e.created_at);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            exceptions += qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(BillWriteCounts { bills, exceptions, estimates })
    }
}

#[async_trait::async_trait]
impl BillStore for SqlStore {
    async fn billing_chunk(
        &self,
        scope: &Scope,
        period: &str,
        book_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<BillingChunk> {
        self.bill_run_load(scope, period, book_id, after, limit, None).await
    }

    async fn billing_account(&self, scope: &Scope, customer_id: &str, period: &str) -> StoreResult<BillingChunk> {
        self.bill_run_load(scope, period, None, None, 10, Some(customer_id)).await
    }

    async fn write_bills(&self, w: std::sync::Arc<BillWrite>) -> StoreResult<BillWriteCounts> {
        self.bill_run_write(w).await
    }

    async fn bills_of(&self, customer_id: &str, limit: u32) -> StoreResult<Vec<StoredBill>> {
        let rows = sqlx::query(&format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE customer_id = $1 ORDER BY period DESC, revision DESC LIMIT $2"
        ))
        .bind(customer_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut bills = rows.iter().map(bill_from_row).collect::<StoreResult<Vec<_>>>()?;
        let Some(oldest) = bills.last().map(|b| b.period.clone()) else { return Ok(bills) };
        let rows = sqlx::query(&format!(
            "SELECT {LINE_COLUMNS} FROM bill_lines WHERE customer_id = $1 AND period >= $2"
        ))
        .bind(customer_id)
        .bind(oldest)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let lines = rows.iter().map(line_from_row).collect::<StoreResult<Vec<_>>>()?;
        attach_lines(&mut bills, lines);
        Ok(bills)
    }

    async fn get_bill(&self, customer_id: &str, period: &str, revision: Option<i64>) -> StoreResult<StoredBill> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {BILL_COLUMNS} FROM bills WHERE customer_id = "));
        qb.push_bind(customer_id);
        qb.push(" AND period = ");
        qb.push_bind(period);
        if let Some(rev) = revision {
            qb.push(" AND revision = ");
            qb.push_bind(rev);
        }
        qb.push(" ORDER BY CASE WHEN state = 'cancelled' THEN 0 ELSE 1 END DESC, revision DESC LIMIT 1");
        let row = qb.build().fetch_one(&self.pool).await.map_err(db_err)?;
        let mut bill = bill_from_row(&row)?;
        let rows = sqlx::query(&format!(
            "SELECT {LINE_COLUMNS} FROM bill_lines WHERE customer_id = $1 AND period = $2 AND revision = $3
             ORDER BY line_no"
        ))
        .bind(customer_id)
        .bind(period)
        .bind(bill.revision)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        bill.lines = rows.iter().map(|r| line_from_row(r).map(|x| x.3)).collect::<StoreResult<Vec<_>>>()?;
        Ok(bill)
    }

    async fn list_bills(&self, scope: &Scope, period: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<StoredBill>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {BILL_COLUMNS} FROM bills WHERE period = "));
        qb.push_bind(period);
        qb.push(" AND state <> 'cancelled' AND customer_id > ");
        qb.push_bind(after.unwrap_or(""));
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY customer_id LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(bill_from_row).collect()
    }

    async fn cancel_bill(
        &self,
        customer_id: &str,
        period: &str,
        revision: i64,
        reason: &str,
        at: i64,
        replacement: Option<&StoredBill>,
        adjustment: Option<&CustomerEntry>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let n = sqlx::query(
            "UPDATE bills SET state = 'cancelled', cancelled_at = $1, cancel_reason = $2
             WHERE customer_id = $3 AND period = $4 AND revision = $5 AND state <> 'cancelled'",
        )
        .bind(at)
        .bind(reason)
        .bind(customer_id)
        .bind(period)
        .bind(revision)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        if let Some(b) = replacement {
            insert_bills_tx(&mut tx, std::slice::from_ref(b), false).await?;
        }
        if let Some(a) = adjustment {
            post_charges_tx(&mut tx, std::slice::from_ref(a)).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn list_exceptions(
        &self,
        scope: &Scope,
        period: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<ReadingException>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT e.* FROM reading_exceptions e WHERE e.period = ");
        qb.push_bind(period);
        qb.push(" AND e.customer_id > ");
        qb.push_bind(after.unwrap_or(""));
        push_scope(&mut qb, "e.bureau_id", scope);
        qb.push(
            " AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.customer_id = e.customer_id AND b.period = e.period
                AND b.state <> 'cancelled') ORDER BY e.customer_id, e.kind LIMIT ",
        );
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(exception_from_row).collect()
    }

    async fn period_totals(&self, scope: &Scope, period: &str) -> StoreResult<PeriodTotals> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(kwh_c), 0) AS BIGINT) AS kwh_c,
                    CAST(COALESCE(SUM(total_fen), 0) AS BIGINT) AS total_fen
             FROM bills WHERE state <> 'cancelled' AND period = ",
        );
        qb.push_bind(period);
        push_scope(&mut qb, "bureau_id", scope);
        let r = qb.build().fetch_one(&self.pool).await.map_err(db_err)?;
        Ok(PeriodTotals {
            bills: r.try_get::<i64, _>("n").map_err(db_err)? as u64,
            kwh: from_centi(r.try_get("kwh_c").map_err(db_err)?),
            total: bureau_domain::money::Fen(r.try_get("total_fen").map_err(db_err)?),
            open_exceptions: self.open_exception_count(scope, period).await?,
        })
    }

    fn bill_writers(&self) -> usize {
        dialect::BILL_WRITERS
    }

    async fn sync_to_disk(&self) -> StoreResult<()> {
        self.bill_run_sync().await
    }

    async fn period_has_bills(&self, scope: &Scope, period: &str) -> StoreResult<bool> {
        // The index `bills_period (period, bureau_id)` answers this without reading a bill.
        let mut qb = QueryBuilder::<Db>::new("SELECT 1 AS one FROM bills WHERE period = ");
        qb.push_bind(period);
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" LIMIT 1");
        Ok(qb.build().fetch_optional(&self.pool).await.map_err(db_err)?.is_some())
    }

    async fn open_exception_count(&self, scope: &Scope, period: &str) -> StoreResult<u64> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT COUNT(DISTINCT e.customer_id) AS n FROM reading_exceptions e WHERE e.period = ",
        );
        qb.push_bind(period);
        push_scope(&mut qb, "e.bureau_id", scope);
        qb.push(
            " AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.customer_id = e.customer_id AND b.period = e.period
                AND b.state <> 'cancelled')",
        );
        let e = qb.build().fetch_one(&self.pool).await.map_err(db_err)?;
        Ok(e.try_get::<i64, _>("n").map_err(db_err)? as u64)
    }

    async fn save_bill_run(&self, run: &BillRunRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bill_runs (run_id, period, book_id, started_at, finished_at, bills, kwh_c, total_fen,
               exceptions, started_by, job_id, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at, bills = excluded.bills,
               kwh_c = excluded.kwh_c, total_fen = excluded.total_fen, exceptions = excluded.exceptions,
               ended = excluded.ended",
        )
        .bind(&run.run_id)
        .bind(&run.period)
        .bind(&run.book_id)
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.bills as i64)
        .bind(to_centi(run.kwh))
        .bind(run.total.0)
        .bind(run.exceptions as i64)
        .bind(&run.started_by)
        .bind(&run.job_id)
        .bind(run.ended.map(BillRunEnd::code))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_bill_runs(&self, limit: u32) -> StoreResult<Vec<BillRunRecord>> {
        let rows = sqlx::query("SELECT * FROM bill_runs ORDER BY started_at DESC, run_id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(BillRunRecord {
                    run_id: r.try_get("run_id").map_err(db_err)?,
                    period: r.try_get("period").map_err(db_err)?,
                    book_id: r.try_get("book_id").map_err(db_err)?,
                    started_at: r.try_get("started_at").map_err(db_err)?,
                    finished_at: r.try_get("finished_at").map_err(db_err)?,
                    bills: r.try_get::<i64, _>("bills").map_err(db_err)? as u64,
                    kwh: from_centi(r.try_get("kwh_c").map_err(db_err)?),
                    total: bureau_domain::money::Fen(r.try_get("total_fen").map_err(db_err)?),
                    exceptions: r.try_get::<i64, _>("exceptions").map_err(db_err)? as u64,
                    started_by: r.try_get("started_by").map_err(db_err)?,
                    job_id: r.try_get("job_id").map_err(db_err)?,
                    ended: match r.try_get::<Option<String>, _>("ended").map_err(db_err)? {
                        None => None,
                        Some(code) => Some(BillRunEnd::parse(&code).ok_or_else(|| {
                            StoreError::Corrupt(format!("bill_runs.ended: {code}"))
                        })?),
                    },
                })
            })
            .collect()
    }
}

fn bill_run_job_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<BillRunJob> {
    let zh: Option<String> = r.try_get("error_zh").map_err(db_err)?;
    let en: Option<String> = r.try_get("error_en").map_err(db_err)?;
    Ok(BillRunJob {
        job_id: r.try_get("job_id").map_err(db_err)?,
        period: r.try_get("period").map_err(db_err)?,
        book_id: r.try_get("book_id").map_err(db_err)?,
        started_by: r.try_get("started_by").map_err(db_err)?,
        estimate_missing: r.try_get("estimate_missing").map_err(db_err)?,
        issue_on: r.try_get("issue_on").map_err(db_err)?,
        chunk: u32::try_from(r.try_get::<i64, _>("chunk").map_err(db_err)?)
            .map_err(|_| corrupt("bill_run_jobs.chunk", "out of range"))?,
        state: r.try_get("state").map_err(db_err)?,
        owner: r.try_get("owner").map_err(db_err)?,
        started_at: r.try_get("started_at").map_err(db_err)?,
        heartbeat_at: r.try_get("heartbeat_at").map_err(db_err)?,
        finished_at: r.try_get("finished_at").map_err(db_err)?,
        customers_done: r.try_get::<i64, _>("customers_done").map_err(db_err)? as u64,
        customers_total: r.try_get::<i64, _>("customers_total").map_err(db_err)? as u64,
        takeovers: r.try_get::<i64, _>("takeovers").map_err(db_err)? as u64,
        summary_json: r.try_get("summary_json").map_err(db_err)?,
        error: match (zh, en) {
            (Some(zh), Some(en)) => Some(bureau_domain::i18n::Text::new(zh, en)),
            _ => None,
        },
    })
}

/// Bill run jobs (migration 0015): claimed, renewed, taken over and ended by statements that each
/// name the state they expect, so that two processes never both hold a job.
impl SqlStore {
    async fn claim_bill_run_job_sql(&self, job: &BillRunJob, stale_before: i64) -> StoreResult<Option<BillRunJob>> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        // A running job of a dead process (no heartbeat within the lease) gives way, and the run
        // record its process left unfinished ends as taken over.
        sqlx::query(
            "UPDATE bill_runs SET finished_at = $1, ended = 'taken_over'
             WHERE finished_at IS NULL AND job_id IN (SELECT job_id FROM bill_run_jobs
               WHERE period = $2 AND state = 'running' AND heartbeat_at < $3)",
        )
        .bind(job.started_at)
        .bind(&job.period)
        .bind(stale_before)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "UPDATE bill_run_jobs SET state = 'failed', finished_at = $1,
               error_zh = '处理该任务的进程已停止，任务由 ' || $2 || ' 接替',
               error_en = 'the process running this job stopped; superseded by ' || $2
             WHERE period = $3 AND state = 'running' AND heartbeat_at < $4",
        )
        .bind(job.started_at)
        .bind(&job.job_id)
        .bind(&job.period)
        .bind(stale_before)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let added = sqlx::query(
            "INSERT INTO bill_run_jobs (job_id, period, book_id, started_by, estimate_missing, issue_on, chunk,
               state, owner, started_at, heartbeat_at, finished_at, customers_done, customers_total, takeovers)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9, $10, NULL, $11, $12, 0)
             ON CONFLICT DO NOTHING",
        )
        .bind(&job.job_id)
        .bind(&job.period)
        .bind(&job.book_id)
        .bind(&job.started_by)
        .bind(job.estimate_missing)
        .bind(&job.issue_on)
        .bind(i64::from(job.chunk))
        .bind(&job.owner)
        .bind(job.started_at)
        .bind(job.heartbeat_at)
        .bind(job.customers_done as i64)
        .bind(job.customers_total as i64)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if added == 1 {
            tx.commit().await.map_err(db_err)?;
            return Ok(None);
        }
        let row = sqlx::query("SELECT * FROM bill_run_jobs WHERE period = $1 AND state = 'running'")
            .bind(&job.period)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.rollback().await.map_err(db_err)?;
        match row {
            Some(r) => Ok(Some(bill_run_job_from_row(&r)?)),
            // The id itself was taken (not a running job of the period).
            None => Err(StoreError::Constraint { constraint: "bill_run_jobs_pkey".into() }),
        }
    }
}

#[async_trait::async_trait]
impl BillRunJobStore for SqlStore {
    async fn claim_bill_run_job(&self, job: &BillRunJob, stale_before: i64) -> StoreResult<Option<BillRunJob>> {
        match self.claim_bill_run_job_sql(job, stale_before).await {
            // Two processes claiming at once on PostgreSQL: the loser's insert waits on the winner's
            // row and then does nothing; should a race still surface as a violation, answer the winner.
            Err(StoreError::Constraint { .. }) => {
                let row = sqlx::query("SELECT * FROM bill_run_jobs WHERE period = $1 AND state = 'running'")
                    .bind(&job.period)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(db_err)?;
                match row {
                    Some(r) => Ok(Some(bill_run_job_from_row(&r)?)),
                    None => Err(StoreError::Constraint { constraint: "bill_run_jobs_pkey".into() }),
                }
            }
            other => other,
        }
    }

    async fn heartbeat_bill_run_job(
        &self,
        job_id: &str,
        owner: &str,
        now: i64,
        customers_done: u64,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE bill_run_jobs SET heartbeat_at = $1, customers_done = $2
             WHERE job_id = $3 AND owner = $4 AND state = 'running'",
        )
        .bind(now)
        .bind(customers_done as i64)
        .bind(job_id)
        .bind(owner)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn take_over_bill_run_job(
        &self,
        job_id: &str,
        owner: &str,
        now: i64,
        stale_before: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let n = sqlx::query(
            "UPDATE bill_run_jobs SET owner = $1, heartbeat_at = $2, takeovers = takeovers + 1
             WHERE job_id = $3 AND state = 'running' AND heartbeat_at < $4",
        )
        .bind(owner)
        .bind(now)
        .bind(job_id)
        .bind(stale_before)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            tx.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        // The dead process's run never recorded its end: it ends here, taken over.
        sqlx::query(
            "UPDATE bill_runs SET finished_at = $1, ended = 'taken_over' WHERE job_id = $2 AND finished_at IS NULL",
        )
        .bind(now)
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn finish_bill_run_job(&self, end: &BillRunJobEnd) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE bill_run_jobs SET state = $1, finished_at = $2, heartbeat_at = $2, customers_done = $3,
               summary_json = $4, error_zh = $5, error_en = $6
             WHERE job_id = $7 AND owner = $8 AND state = 'running'",
        )
        .bind(&end.state)
        .bind(end.finished_at)
        .bind(end.customers_done as i64)
        .bind(&end.summary_json)
        .bind(end.error.as_ref().map(|t| t.zh.clone()))
        .bind(end.error.as_ref().map(|t| t.en.clone()))
        .bind(&end.job_id)
        .bind(&end.owner)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn get_bill_run_job(&self, job_id: &str) -> StoreResult<BillRunJob> {
        let r = sqlx::query("SELECT * FROM bill_run_jobs WHERE job_id = $1")
            .bind(job_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        bill_run_job_from_row(&r)
    }

    async fn list_bill_run_jobs(&self, running_only: bool, limit: u32) -> StoreResult<Vec<BillRunJob>> {
        let sql = if running_only {
            "SELECT * FROM bill_run_jobs WHERE state = 'running' ORDER BY started_at DESC, job_id DESC LIMIT $1"
        } else {
            "SELECT * FROM bill_run_jobs ORDER BY started_at DESC, job_id DESC LIMIT $1"
        };
        let rows = sqlx::query(sql).bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(bill_run_job_from_row).collect()
    }
}
