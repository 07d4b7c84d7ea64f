// Ledger SQL shared by SQLite and PostgreSQL: ledger entries and ledger versions.
//
// Included by both store crates after `sql_store.rs` (for `db_err`, `corrupt`, `push_scope`,
// `CHUNK`). Entries are only ever inserted. `amount_fen` is the entry's signed effect on what the
// customer owes (see migration 0006), so sums are plain SUMs over entries that are not reversed.

use bureau_domain::ledger::{
    BillId, Channel, Entry as LedgerEntryRow, EntryId, EntryKind, IdempotencyKey,
};

const ENTRY_COLUMNS: &str = "customer_id, entry_id, posted_at_us, posted_by, channel, reason, kind, amount_fen,
    bill_id, period, due_on, idem_key, reversal_of, approved_by";

/// The stored columns of one ledger entry, in [`ENTRY_COLUMNS`] order, before they are checked:
/// borrowed from the row, so that only what the entry keeps is copied (reading a year of ledgers
/// for a bank file spent a tenth of its time allocating the text columns; docs/performance.md).
struct EntryColumns<'a> {
    customer_id: &'a str,
    entry_id: &'a str,
    posted_at_us: i64,
    posted_by: &'a str,
    channel: &'a str,
    reason: &'a str,
    kind: &'a str,
    amount_fen: i64,
    bill_id: Option<&'a str>,
    period: Option<&'a str>,
    due_on: Option<&'a str>,
    idem_key: Option<&'a str>,
    reversal_of: Option<&'a str>,
    approved_by: Option<&'a str>,
}

fn entry_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<(String, LedgerEntryRow)> {
    let (customer_id, entry) = entry_from_columns(EntryColumns {
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        entry_id: r.try_get("entry_id").map_err(db_err)?,
        posted_at_us: r.try_get("posted_at_us").map_err(db_err)?,
        posted_by: r.try_get("posted_by").map_err(db_err)?,
        channel: r.try_get("channel").map_err(db_err)?,
        reason: r.try_get("reason").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        amount_fen: r.try_get("amount_fen").map_err(db_err)?,
        bill_id: r.try_get("bill_id").map_err(db_err)?,
        period: r.try_get("period").map_err(db_err)?,
        due_on: r.try_get("due_on").map_err(db_err)?,
        idem_key: r.try_get("idem_key").map_err(db_err)?,
        reversal_of: r.try_get("reversal_of").map_err(db_err)?,
        approved_by: r.try_get("approved_by").map_err(db_err)?,
    })?;
    Ok((customer_id.to_string(), entry))
}

/// Checks the stored columns of an entry and builds it (the one place that reads an entry, for
/// the sqlx rows and for SQLite's direct path).
fn entry_from_columns(c: EntryColumns<'_>) -> StoreResult<(&str, LedgerEntryRow)> {
    let id = c.entry_id;
    let amount = bureau_domain::money::Fen(c.amount_fen);
    let text = |v: Option<&str>, col: &str| -> StoreResult<String> {
        v.map(str::to_string).ok_or_else(|| corrupt(col, id))
    };
    let bill = |b: Option<&str>| -> StoreResult<BillId> {
        b.map(|b| BillId(b.to_string())).ok_or_else(|| corrupt("bill_id", id))
    };
    let kind = match c.kind {
        "charge" => {
            let period = c.period.ok_or_else(|| corrupt("period", id))?;
            let due = c.due_on.ok_or_else(|| corrupt("due_on", id))?;
            EntryKind::Charge {
                bill: bill(c.bill_id)?,
                period: bureau_domain::tariff::BillPeriod::parse("period", period)
                    .map_err(|_| corrupt("period", period))?,
                due: parse_date(due)?,
                amount,
            }
        }
        "payment" => {
            let key = c.idem_key.ok_or_else(|| corrupt("idem_key", id))?;
            EntryKind::Payment {
                amount: -amount,
                key: IdempotencyKey::parse("idem_key", key).map_err(|_| corrupt("idem_key", key))?,
            }
        }
        "late_fee" => EntryKind::LateFee { bill: bill(c.bill_id)?, amount },
        "adjustment" => EntryKind::Adjustment { bill: c.bill_id.map(|b| BillId(b.to_string())), amount },
        "refund" => EntryKind::Refund { amount },
        "reversal" => EntryKind::Reversal {
            of: EntryId(text(c.reversal_of, "reversal_of")?),
            approved_by: text(c.approved_by, "approved_by")?,
        },
        other => return Err(corrupt("kind", other)),
    };
    let at_us = c.posted_at_us;
    Ok((
        c.customer_id,
        LedgerEntryRow {
            at: jiff::Timestamp::from_microsecond(at_us).map_err(|_| corrupt("posted_at_us", &at_us.to_string()))?,
            id: EntryId(id.to_string()),
            by: c.posted_by.to_string(),
            channel: Channel::parse(c.channel).map_err(|_| corrupt("channel", c.channel))?,
            reason: c.reason.to_string(),
            kind,
        },
    ))
}

/// The columns of an entry that depend on its kind: (bill, period, due, key, reversal of, approver).
type KindColumns<'a> =
    (Option<&'a str>, Option<String>, Option<String>, Option<&'a str>, Option<&'a str>, Option<&'a str>);

fn kind_columns(kind: &EntryKind) -> KindColumns<'_> {
    match kind {
        EntryKind::Charge { bill, period, due, .. } => {
            (Some(bill.0.as_str()), Some(period.to_string()), Some(due.to_string()), None, None, None)
        }
        EntryKind::Payment { key, .. } => (None, None, None, Some(key.as_str()), None, None),
        EntryKind::LateFee { bill, .. } => (Some(bill.0.as_str()), None, None, None, None, None),
        EntryKind::Adjustment { bill, .. } => (bill.as_ref().map(|b| b.0.as_str()), None, None, None, None, None),
        EntryKind::Refund { .. } => (None, None, None, None, None, None),
        EntryKind::Reversal { of, approved_by } => {
            (None, None, None, None, Some(of.0.as_str()), Some(approved_by.as_str()))
        }
    }
}

/// Inserts entries (customer, entry); with `keep_existing` an entry whose id is already stored is
/// left as it is (the bill run's charges, written again after a kill).
async fn insert_entries_tx(
    tx: &mut sqlx::Transaction<'_, Db>,
    entries: &[(&str, &LedgerEntryRow)],
    keep_existing: bool,
) -> StoreResult<u64> {
    let mut n = 0;
    for chunk in entries.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO ledger_entries ({ENTRY_COLUMNS}) "));
        qb.push_values(chunk, |mut b, (customer_id, e)| {
            let (bill, period, due, key, of, approver) = kind_columns(&e.kind);
            b.push_bind(*customer_id)
                .push_bind(e.id.0.as_str())
                .push_bind(e.at.as_microsecond())
                .push_bind(e.by.as_str())
                .push_bind(e.channel.code())
                .push_bind(e.reason.as_str())
                .push_bind(e.kind.code())
                .push_bind(e.kind.signed_amount().0)
                .push_bind(bill)
                .push_bind(period)
                .push_bind(due)
                .push_bind(key)
                .push_bind(of)
                .push_bind(approver);
        });
        if keep_existing {
            qb.push(" ON CONFLICT (customer_id, entry_id) DO NOTHING");
        }
        n += qb.build().execute(&mut **tx).await.map_err(db_err)?.rows_affected();
    }
    Ok(n)
}

/// Raises the ledger version of each customer (creating it at 1).
async fn bump_versions_tx(tx: &mut sqlx::Transaction<'_, Db>, customer_ids: &[&str]) -> StoreResult<()> {
    let mut ids: Vec<&str> = customer_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO ledger_versions (customer_id, version) ");
        qb.push_values(chunk, |mut b, id| {
            b.push_bind(*id).push_bind(1_i64);
        });
        qb.push(" ON CONFLICT (customer_id) DO UPDATE SET version = ledger_versions.version + 1");
        qb.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}

/// Writes the bill run's charge entries (or a rebill's adjustment) and raises the versions of the
/// ledgers that got one. Entries already stored are kept: a rerun never doubles a charge.
///
/// The versions first, as every posting does: on PostgreSQL that takes the ledgers' row locks
/// before the entries' insert trigger reads their settled marks, so a bank file that is setting a
/// mark on one of these ledgers commits first and the trigger sees its mark (migration 0019).
async fn post_charges_tx(tx: &mut sqlx::Transaction<'_, Db>, entries: &[CustomerEntry]) -> StoreResult<u64> {
    if entries.is_empty() {
        return Ok(0);
    }
    let rows: Vec<(&str, &LedgerEntryRow)> = entries.iter().map(|c| (c.customer_id.as_str(), &c.entry)).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
    bump_versions_tx(tx, &ids).await?;
    insert_entries_tx(tx, &rows, true).await
}

/// Entries posted with any of these keys, in statements of [`CHUNK`] keys (the dialect's
/// `entries_by_many_keys` may read them another way).
#[allow(dead_code)] // PostgreSQL's dialect reads keys as an array instead.
async fn entries_by_keys_chunked(
    tx: &mut sqlx::Transaction<'_, Db>,
    keys: &[&str],
) -> StoreResult<Vec<(String, LedgerEntryRow)>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        out.extend(entries_by_keys(&mut **tx, chunk).await?);
    }
    Ok(out)
}

/// Entries posted with any of these keys.
async fn entries_by_keys<'e, E>(exec: E, keys: &[&str]) -> StoreResult<Vec<(String, LedgerEntryRow)>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idem_key IN ("));
    let mut sep = qb.separated(", ");
    for k in keys {
        sep.push_bind(*k);
    }
    qb.push(")");
    let rows = qb.build().fetch_all(exec).await.map_err(db_err)?;
    rows.iter().map(entry_from_row).collect()
}

fn group_keys(entries: &[LedgerEntryRow]) -> Vec<&str> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Payment { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect()
}

/// One group inside an open transaction, under its own savepoint: key check, version check, insert.
async fn post_group_tx(tx: &mut sqlx::Transaction<'_, Db>, g: &EntryGroup) -> StoreResult<Posted> {
    let keys = group_keys(&g.entries);
    if let Some((customer_id, entry)) = entries_by_keys(&mut **tx, &keys).await?.into_iter().next() {
        return Ok(Posted::Duplicate { prior: CustomerEntry { customer_id, entry } });
    }
    let mut sp = sqlx::Connection::begin(&mut **tx).await.map_err(db_err)?;
    let bumped = if g.expected_version == 0 {
        sqlx::query("INSERT INTO ledger_versions (customer_id, version) VALUES ($1, 1) ON CONFLICT (customer_id) DO NOTHING")
            .bind(&g.customer_id)
            .execute(&mut *sp)
            .await
    } else {
        sqlx::query("UPDATE ledger_versions SET version = version + 1 WHERE customer_id = $1 AND version = $2")
            .bind(&g.customer_id)
            .bind(g.expected_version)
            .execute(&mut *sp)
            .await
    }
    .map_err(db_err)?
    .rows_affected();
    if bumped != 1 {
        sp.rollback().await.map_err(db_err)?;
        return Ok(Posted::Stale);
    }
    let rows: Vec<(&str, &LedgerEntryRow)> = g.entries.iter().map(|e| (g.customer_id.as_str(), e)).collect();
    match insert_entries_tx(&mut sp, &rows, false).await {
        Ok(_) => {
            if let Some(m) = &g.settle_through {
                dialect::mark_settled(&mut sp, &[(g.customer_id.as_str(), g.expected_version + 1, m)]).await?;
            }
            sp.commit().await.map_err(db_err)?;
            Ok(Posted::Done { version: g.expected_version + 1 })
        }
        Err(StoreError::Constraint { constraint }) => {
            // A racing posting of the same key committed first (PostgreSQL; SQLite has one writer).
            sp.rollback().await.map_err(db_err)?;
            match entries_by_keys(&mut **tx, &keys).await?.into_iter().next() {
                Some((customer_id, entry)) => Ok(Posted::Duplicate { prior: CustomerEntry { customer_id, entry } }),
                None => Err(StoreError::Constraint { constraint }),
            }
        }
        Err(e) => Err(e),
    }
}

/// Posts many groups inside an open transaction with a few statements per few hundred groups (a
/// bank file of a hundred thousand payments is posted in chunks of thousands), with the outcomes
/// of [`post_group_tx`] called group by group:
/// 1. the keys of all groups are looked up at once: a group with a key posted before is a duplicate;
/// 2. the first group of each customer (whose keys no earlier group has) is posted in bulk: the
///    versions raised by one `UPDATE … WHERE (customer_id, version) IN (VALUES …) RETURNING` (a
///    customer whose version moved is not returned: stale), new ledgers created by one
///    `INSERT … ON CONFLICT DO NOTHING RETURNING`, then the entries of the groups that passed;
/// 3. a later group of the same customer or key, and every bulk group if the bulk insert hits a
///    racing posting of the same key (PostgreSQL), goes through [`post_group_tx`] in order.
async fn post_groups_bulk_tx(tx: &mut sqlx::Transaction<'_, Db>, groups: &[EntryGroup]) -> StoreResult<Vec<Posted>> {
    let mut out: Vec<Option<Posted>> = vec![None; groups.len()];
    let all_keys: Vec<&str> = groups.iter().flat_map(|g| group_keys(&g.entries)).collect();
    let mut prior: std::collections::HashMap<String, CustomerEntry> = std::collections::HashMap::new();
    for (customer_id, entry) in dialect::entries_by_many_keys(tx, &all_keys).await? {
        if let EntryKind::Payment { key, .. } = &entry.kind {
            prior.insert(key.as_str().to_string(), CustomerEntry { customer_id, entry });
        }
    }
    let mut customers = std::collections::HashSet::new();
    let mut keys_seen = std::collections::HashSet::new();
    let (mut bulk, mut one_by_one) = (Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        let keys = group_keys(&g.entries);
        if let Some(p) = keys.iter().find_map(|k| prior.get(*k)) {
            out[i] = Some(Posted::Duplicate { prior: p.clone() });
            continue;
        }
        // Every key is recorded as seen (no short cut), so that a later group sharing any of them waits.
        let fresh_keys = keys.iter().map(|k| keys_seen.insert(*k)).filter(|fresh| !fresh).count() == 0;
        if customers.insert(g.customer_id.as_str()) && fresh_keys {
            bulk.push(i);
        } else {
            one_by_one.push(i);
        }
    }
    if !bulk.is_empty() {
        let mut sp = sqlx::Connection::begin(&mut **tx).await.map_err(db_err)?;
        match dialect::post_bulk(&mut sp, groups, &bulk).await {
            Ok(done) => {
                // The marks after the entries, so that the entries' own insert cannot clear them.
                let marks: Vec<(&str, i64, &SettledMark)> = bulk
                    .iter()
                    .zip(&done)
                    .filter(|(_, ok)| **ok)
                    .filter_map(|(i, _)| {
                        let g = &groups[*i];
                        g.settle_through.as_ref().map(|m| (g.customer_id.as_str(), g.expected_version + 1, m))
                    })
                    .collect();
                dialect::mark_settled(&mut sp, &marks).await?;
                sp.commit().await.map_err(db_err)?;
                for (i, ok) in bulk.iter().zip(done) {
                    let g = &groups[*i];
                    out[*i] = Some(if ok { Posted::Done { version: g.expected_version + 1 } } else { Posted::Stale });
                }
            }
            Err(StoreError::Constraint { .. }) => {
                sp.rollback().await.map_err(db_err)?;
                one_by_one.extend(bulk);
                one_by_one.sort_unstable();
            }
            Err(e) => return Err(e),
        }
    }
    for i in one_by_one {
        out[i] = Some(post_group_tx(tx, &groups[i]).await?);
    }
    Ok(out.into_iter().map(|o| o.expect("every group has an outcome")).collect())
}

/// Step 2 of [`post_groups_bulk_tx`] for groups of distinct customers and keys: which passed the
/// version check (and were written), in the order of `idx`. The dialect's `post_bulk` may carry the
/// same statements' values another way (PostgreSQL: as arrays).
#[allow(dead_code)] // PostgreSQL's dialect writes the same rows with array statements instead.
async fn post_bulk_tx(
    tx: &mut sqlx::Transaction<'_, Db>,
    groups: &[EntryGroup],
    idx: &[usize],
) -> StoreResult<Vec<bool>> {
    let mut sorted: Vec<&EntryGroup> = idx.iter().map(|&i| &groups[i]).collect();
    sorted.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    let (new, known): (Vec<&EntryGroup>, Vec<&EntryGroup>) = sorted.into_iter().partition(|g| g.expected_version == 0);
    let mut passed: std::collections::HashSet<String> = std::collections::HashSet::new();
    for chunk in known.chunks(CHUNK) {
        if !dialect::FOR_UPDATE.is_empty() {
            let mut qb = QueryBuilder::<Db>::new("SELECT customer_id FROM ledger_versions WHERE customer_id IN (");
            let mut sep = qb.separated(", ");
            for g in chunk {
                sep.push_bind(g.customer_id.as_str());
            }
            qb.push(") ORDER BY customer_id");
            qb.push(dialect::FOR_UPDATE);
            qb.build().fetch_all(&mut **tx).await.map_err(db_err)?;
        }
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE ledger_versions SET version = version + 1 WHERE (customer_id, version) IN (VALUES ",
        );
        let mut sep = qb.separated(", ");
        for g in chunk {
            sep.push("(");
            sep.push_bind_unseparated(g.customer_id.as_str());
            sep.push_unseparated(", ");
            sep.push_bind_unseparated(g.expected_version);
            sep.push_unseparated(")");
        }
        qb.push(") RETURNING customer_id");
        for r in qb.build().fetch_all(&mut **tx).await.map_err(db_err)? {
            passed.insert(r.try_get("customer_id").map_err(db_err)?);
        }
    }
    for chunk in new.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO ledger_versions (customer_id, version) ");
        qb.push_values(chunk, |mut b, g| {
            b.push_bind(g.customer_id.as_str()).push_bind(1_i64);
        });
        qb.push(" ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id");
        for r in qb.build().fetch_all(&mut **tx).await.map_err(db_err)? {
            passed.insert(r.try_get("customer_id").map_err(db_err)?);
        }
    }
    let rows: Vec<(&str, &LedgerEntryRow)> = idx
        .iter()
        .map(|&i| &groups[i])
        .filter(|g| passed.contains(&g.customer_id))
        .flat_map(|g| g.entries.iter().map(move |e| (g.customer_id.as_str(), e)))
        .collect();
    insert_entries_tx(tx, &rows, false).await?;
    Ok(idx.iter().map(|&i| passed.contains(&groups[i].customer_id)).collect())
}

/// Sets each mark where the ledger is still at the given version, one statement each (the dialect's
/// `mark_settled` may send them another way); how many were set.
#[allow(dead_code)] // PostgreSQL's dialect sends them as arrays.
async fn mark_settled_each_tx(
    tx: &mut sqlx::Transaction<'_, Db>,
    marks: &[(&str, i64, &SettledMark)],
) -> StoreResult<u64> {
    let mut n = 0;
    for (customer_id, version, m) in marks {
        n += sqlx::query(
            "UPDATE ledger_versions SET settled_at_us = $1, settled_entry = $2 WHERE customer_id = $3 AND version = $4",
        )
        .bind(m.at_us)
        .bind(&m.entry_id)
        .bind(*customer_id)
        .bind(*version)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    }
    Ok(n)
}

/// A settled mark from its two columns: both set or both empty.
fn mark_from_columns(customer_id: &str, at_us: Option<i64>, entry_id: Option<String>) -> StoreResult<Option<SettledMark>> {
    match (at_us, entry_id) {
        (Some(at_us), Some(entry_id)) => Ok(Some(SettledMark { at_us, entry_id })),
        (None, None) => Ok(None),
        _ => Err(corrupt("settled_entry", customer_id)),
    }
}

/// The ledgers of customers whose versions are given, entries read by key range.
async fn ledgers_for(
    pool: &sqlx::Pool<Db>,
    versions: Vec<(String, i64)>,
) -> StoreResult<Vec<CustomerLedger>> {
    let mut out: Vec<CustomerLedger> = versions
        .into_iter()
        .map(|(customer_id, version)| CustomerLedger { customer_id, version, entries: Vec::new() })
        .collect();
    if out.is_empty() {
        return Ok(out);
    }
    let mut sorted: Vec<usize> = (0..out.len()).collect();
    sorted.sort_by(|&a, &b| out[a].customer_id.cmp(&out[b].customer_id));
    for chunk in sorted.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE customer_id IN ("));
        let mut sep = qb.separated(", ");
        for &i in chunk {
            sep.push_bind(out[i].customer_id.clone());
        }
        qb.push(") ORDER BY customer_id, posted_at_us, entry_id");
        let rows = qb.build().fetch_all(pool).await.map_err(db_err)?;
        let mut k = 0;
        for r in &rows {
            let (customer_id, e) = entry_from_row(r)?;
            while k < chunk.len() && out[chunk[k]].customer_id < customer_id {
                k += 1;
            }
            if k < chunk.len() && out[chunk[k]].customer_id == customer_id {
                out[chunk[k]].entries.push(e);
            }
        }
    }
    Ok(out)
}

fn balance_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<LedgerBalance> {
    let fen = |c: &str| -> StoreResult<bureau_domain::money::Fen> {
        Ok(bureau_domain::money::Fen(r.try_get(c).map_err(db_err)?))
    };
    Ok(LedgerBalance {
        customer_id: r.try_get("customer_id").map_err(db_err)?,
        charged: fen("charged")?,
        late_fees: fen("late_fees")?,
        unbilled_adjustments: fen("unbilled")?,
        paid: fen("paid")?,
        refunded: fen("refunded")?,
        balance: fen("balance")?,
    })
}

/// Sums per customer over the entries that are not reversed; the caller appends the customer filter.
const BALANCE_SELECT: &str = "SELECT e.customer_id,
    CAST(SUM(CASE WHEN e.kind = 'charge' OR (e.kind = 'adjustment' AND e.bill_id IS NOT NULL) THEN e.amount_fen ELSE 0 END) AS BIGINT) AS charged,
    CAST(SUM(CASE WHEN e.kind = 'late_fee' THEN e.amount_fen ELSE 0 END) AS BIGINT) AS late_fees,
    CAST(SUM(CASE WHEN e.kind = 'adjustment' AND e.bill_id IS NULL THEN e.amount_fen ELSE 0 END) AS BIGINT) AS unbilled,
    CAST(SUM(CASE WHEN e.kind = 'payment' THEN -e.amount_fen ELSE 0 END) AS BIGINT) AS paid,
    CAST(SUM(CASE WHEN e.kind = 'refund' THEN e.amount_fen ELSE 0 END) AS BIGINT) AS refunded,
    CAST(SUM(e.amount_fen) AS BIGINT) AS balance
  FROM ledger_entries e
  WHERE NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.customer_id = e.customer_id AND r.reversal_of = e.entry_id)
    AND e.kind <> 'reversal' AND e.customer_id IN ";

#[async_trait::async_trait]
impl LedgerStore for SqlStore {
    async fn ledger_of(&self, customer_id: &str) -> StoreResult<CustomerLedger> {
        // The version first: entries read after it are at least as new, so a decision taken on
        // them and posted at this version can only be refused as stale, never slip through.
        let version: Option<i64> = sqlx::query_scalar("SELECT version FROM ledger_versions WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE customer_id = $1 ORDER BY posted_at_us, entry_id"
        ))
        .bind(customer_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let entries = rows.iter().map(|r| entry_from_row(r).map(|x| x.1)).collect::<StoreResult<Vec<_>>>()?;
        Ok(CustomerLedger { customer_id: customer_id.to_string(), version: version.unwrap_or(0), entries })
    }

    async fn ledgers_page(&self, scope: &Scope, after: Option<&str>, limit: u32) -> StoreResult<Vec<CustomerLedger>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT v.customer_id, v.version FROM ledger_versions v JOIN customers c ON c.customer_id = v.customer_id
             WHERE v.customer_id > ",
        );
        qb.push_bind(after.unwrap_or(""));
        push_scope(&mut qb, "c.bureau_id", scope);
        qb.push(" ORDER BY v.customer_id LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let versions = rows
            .iter()
            .map(|r| Ok((r.try_get("customer_id").map_err(db_err)?, r.try_get("version").map_err(db_err)?)))
            .collect::<StoreResult<Vec<(String, i64)>>>()?;
        ledgers_for(&self.pool, versions).await
    }

    async fn ledgers_of(&self, customer_ids: &[String]) -> StoreResult<Vec<CustomerLedger>> {
        // The backend's `ledger_ledgers_of` may take a faster path to the same ledgers.
        self.ledger_ledgers_of(customer_ids).await
    }

    async fn open_ledgers_of(&self, customer_ids: &[String]) -> StoreResult<Vec<OpenLedger>> {
        // The backend's `ledger_open_ledgers_of` may take a faster path to the same ledgers.
        self.ledger_open_ledgers_of(customer_ids).await
    }

    async fn mark_settled(&self, marks: &[LedgerMark]) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut n = 0;
        for chunk in marks.chunks(CHUNK) {
            let rows: Vec<(&str, i64, &SettledMark)> =
                chunk.iter().map(|m| (m.customer_id.as_str(), m.version, &m.mark)).collect();
            n += dialect::mark_settled(&mut tx, &rows).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn post_entries(&self, customer_id: &str, expected_version: i64, entries: &[LedgerEntryRow]) -> StoreResult<Posted> {
        let group = EntryGroup {
            customer_id: customer_id.to_string(),
            expected_version,
            entries: entries.to_vec(),
            settle_through: None,
        };
        Ok(self.post_entry_groups(std::slice::from_ref(&group)).await?.remove(0))
    }

    async fn post_entry_groups(&self, groups: &[EntryGroup]) -> StoreResult<Vec<Posted>> {
        // The backend's `ledger_post_groups` may take a faster path to the same outcomes.
        self.ledger_post_groups(groups).await
    }

    async fn entry_by_key(&self, key: &str) -> StoreResult<Option<CustomerEntry>> {
        Ok(entries_by_keys(&self.pool, &[key])
            .await?
            .into_iter()
            .next()
            .map(|(customer_id, entry)| CustomerEntry { customer_id, entry }))
    }

    async fn ledger_balances(&self, scope: &Scope, after: Option<&str>, limit: u32) -> StoreResult<Vec<LedgerBalance>> {
        let mut qb = QueryBuilder::<Db>::new(BALANCE_SELECT);
        qb.push(
            "(SELECT v.customer_id FROM ledger_versions v JOIN customers c ON c.customer_id = v.customer_id
               WHERE v.customer_id > ",
        );
        qb.push_bind(after.unwrap_or(""));
        push_scope(&mut qb, "c.bureau_id", scope);
        qb.push(" ORDER BY v.customer_id LIMIT ");
        qb.push_bind(i64::from(limit));
        qb.push(") GROUP BY e.customer_id ORDER BY e.customer_id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(balance_from_row).collect()
    }

    async fn ledger_balances_of(&self, customer_ids: &[String]) -> StoreResult<Vec<LedgerBalance>> {
        let mut out = Vec::new();
        for chunk in customer_ids.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(BALANCE_SELECT);
            qb.push("(");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.as_str());
            }
            qb.push(") GROUP BY e.customer_id");
            for r in qb.build().fetch_all(&self.pool).await.map_err(db_err)? {
                out.push(balance_from_row(&r)?);
            }
        }
        out.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
        out.dedup_by(|a, b| a.customer_id == b.customer_id);
        Ok(out)
    }
}

impl SqlStore {
    /// Posts groups in one transaction through the shared statements (see [`post_groups_bulk_tx`]).
    async fn post_entry_groups_sql(&self, groups: &[EntryGroup]) -> StoreResult<Vec<Posted>> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let out = if groups.len() == 1 {
            vec![post_group_tx(&mut tx, &groups[0]).await?]
        } else {
            post_groups_bulk_tx(&mut tx, groups).await?
        };
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    /// The version and settled mark of each of these ledgers that exists, read together.
    #[allow(dead_code)] // PostgreSQL reads them with arrays (store-postgres's ledger_arrays.rs).
    async fn versions_and_marks(
        &self,
        customer_ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, (i64, Option<SettledMark>)>> {
        let mut known = std::collections::HashMap::new();
        for chunk in customer_ids.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT customer_id, version, settled_at_us, settled_entry FROM ledger_versions WHERE customer_id IN (",
            );
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.as_str());
            }
            qb.push(")");
            for r in qb.build().fetch_all(&self.pool).await.map_err(db_err)? {
                let id: String = r.try_get("customer_id").map_err(db_err)?;
                let v: i64 = r.try_get("version").map_err(db_err)?;
                let mark = mark_from_columns(
                    &id,
                    r.try_get("settled_at_us").map_err(db_err)?,
                    r.try_get("settled_entry").map_err(db_err)?,
                )?;
                known.insert(id, (v, mark));
            }
        }
        Ok(known)
    }

    /// The open part of these customers' ledgers through the shared statements: each version and
    /// mark read together, before the entries (entries read after are at least as new, and a mark
    /// only moves forward without a posting, so the entries after the mark read are a true tail),
    /// then the entries after the mark.
    #[allow(dead_code)] // PostgreSQL reads them in one statement (store-postgres's ledger_arrays.rs).
    async fn open_ledgers_of_sql(&self, customer_ids: &[String]) -> StoreResult<Vec<OpenLedger>> {
        let known = self.versions_and_marks(customer_ids).await?;
        let mut seen = std::collections::HashSet::new();
        let versions: Vec<(String, i64)> = customer_ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .map(|id| (id.clone(), known.get(id).map_or(0, |k| k.0)))
            .collect();
        let mut open: std::collections::HashMap<String, OpenLedger> = std::collections::HashMap::new();
        for l in ledgers_for(&self.pool, versions).await? {
            let mark = known.get(&l.customer_id).and_then(|k| k.1.clone());
            let entries = match &mark {
                Some(m) => l.entries.into_iter().filter(|e| m.is_before(e)).collect(),
                None => l.entries,
            };
            open.insert(
                l.customer_id.clone(),
                OpenLedger { customer_id: l.customer_id, version: l.version, settled_through: mark, entries },
            );
        }
        Ok(customer_ids.iter().map(|id| open[id.as_str()].clone()).collect())
    }

    /// The ledgers of these customers through the shared statements.
    #[allow(dead_code)] // PostgreSQL reads them with arrays (store-postgres's ledger_arrays.rs).
    async fn ledgers_of_sql(&self, customer_ids: &[String]) -> StoreResult<Vec<CustomerLedger>> {
        let known = self.versions_and_marks(customer_ids).await?;
        let mut seen = std::collections::HashSet::new();
        let versions: Vec<(String, i64)> = customer_ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .map(|id| (id.clone(), known.get(id).map_or(0, |k| k.0)))
            .collect();
        let ledgers = ledgers_for(&self.pool, versions).await?;
        let by_id: std::collections::HashMap<&str, &CustomerLedger> =
            ledgers.iter().map(|l| (l.customer_id.as_str(), l)).collect();
        Ok(customer_ids.iter().map(|id| by_id[id.as_str()].clone()).collect())
    }
}
