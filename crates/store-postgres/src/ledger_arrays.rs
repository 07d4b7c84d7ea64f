//! The bank file's reads and bulk writes on PostgreSQL, with one statement per chunk whose values
//! travel as arrays (`= ANY($1)`, `UNNEST($1, $2, …)`).
//!
//! Why a PostgreSQL-only path: the shared statements (crates/store/shared/ledger_sql.rs) spell a
//! chunk of 2,000 payments as several statements of 500 rows each, one bound parameter per value
//! (`IN ($1, …, $500)`, `VALUES ($1, …, $14), …` with 7,000 parameters), because SQLite has no arrays.
//! On PostgreSQL each such text is a prepared statement of its own that the server parses and plans
//! for every distinct row count, and the parameters are sent and checked one by one. With arrays the
//! same work is one short statement, prepared once per connection and planned generically, whatever
//! the chunk's size. The outcomes are those of the shared path: the same rows are read and written,
//! in the same order, under the same locks; only the way the values are carried differs. SQLite
//! keeps the shared statements (or its direct rusqlite path, crates/store-sqlite/src/bank_post.rs).

use super::*;

/// Customers by id (unknown ids are left out), in id order, each once.
pub(crate) async fn customers_by_ids(pool: &sqlx::Pool<Db>, ids: &[String]) -> StoreResult<Vec<Customer>> {
    let rows = sqlx::query(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customer_id = ANY($1)"))
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    let mut out = rows.iter().map(customer_from_row).collect::<StoreResult<Vec<Customer>>>()?;
    // In Rust's order (bytes), not the database collation's, as the shared path answers.
    out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    Ok(out)
}

/// Entries posted with any of these keys (at most one each: the key index is unique).
pub(crate) async fn entries_by_keys<'e, E>(
    exec: E,
    keys: &[&str],
) -> StoreResult<Vec<(String, LedgerEntryRow)>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // `idem_key = ANY(…)` implies `idem_key IS NOT NULL`, so the partial unique index serves it.
    let rows = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idem_key = ANY($1)"))
        .bind(keys)
        .fetch_all(exec)
        .await
        .map_err(db_err)?;
    rows.iter().map(entry_from_row).collect()
}

/// The ledgers of these customers, one per id in the order given (an id given twice is answered
/// twice); a customer without a ledger has version 0 and no entries. As in the shared path the
/// versions are read before the entries: entries read after a version are at least as new, so a
/// decision taken on them can only be refused as stale, never slip through.
pub(crate) async fn ledgers_of(
    pool: &sqlx::Pool<Db>,
    customer_ids: &[String],
) -> StoreResult<Vec<CustomerLedger>> {
    let mut ids: Vec<&str> = customer_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut ledgers: Vec<CustomerLedger> = ids
        .iter()
        .map(|id| CustomerLedger { customer_id: id.to_string(), version: 0, entries: Vec::new() })
        .collect();
    if ledgers.is_empty() {
        return Ok(ledgers);
    }
    let at = |id: &str, ledgers: &[CustomerLedger]| {
        ledgers.binary_search_by(|l| l.customer_id.as_str().cmp(id)).ok()
    };
    let versions =
        sqlx::query("SELECT customer_id, version FROM ledger_versions WHERE customer_id = ANY($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
    for r in &versions {
        let id: String = r.try_get("customer_id").map_err(db_err)?;
        if let Some(k) = at(&id, &ledgers) {
            ledgers[k].version = r.try_get("version").map_err(db_err)?;
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE customer_id = ANY($1) ORDER BY customer_id, posted_at_us, entry_id"
    ))
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for r in &rows {
        let (customer_id, e) = entry_from_row(r)?;
        if let Some(k) = at(&customer_id, &ledgers) {
            ledgers[k].entries.push(e);
        }
    }
    // Ids given once each and already in order (the bank file's chunks): no copies.
    if customer_ids.len() == ledgers.len()
        && customer_ids.iter().zip(&ledgers).all(|(id, l)| *id == l.customer_id)
    {
        return Ok(ledgers);
    }
    Ok(customer_ids.iter().map(|id| ledgers[at(id, &ledgers).expect("every id was read")].clone()).collect())
}

/// Step 2 of the shared `post_groups_bulk_tx` for groups of distinct customers and keys (the same
/// statements as the shared `post_bulk_tx`, values as arrays): which passed the version check (and
/// were written), in the order of `idx`.
pub(crate) async fn post_bulk(
    tx: &mut sqlx::Transaction<'_, Db>,
    groups: &[EntryGroup],
    idx: &[usize],
) -> StoreResult<Vec<bool>> {
    let mut sorted: Vec<&EntryGroup> = idx.iter().map(|&i| &groups[i]).collect();
    sorted.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    let (new, known): (Vec<&EntryGroup>, Vec<&EntryGroup>) =
        sorted.into_iter().partition(|g| g.expected_version == 0);
    let mut passed: std::collections::HashSet<String> = std::collections::HashSet::new();
    if !known.is_empty() {
        let ids: Vec<&str> = known.iter().map(|g| g.customer_id.as_str()).collect();
        let versions: Vec<i64> = known.iter().map(|g| g.expected_version).collect();
        // Locks in customer order first, so that two postings over overlapping ledgers queue
        // instead of deadlocking (the UPDATE alone would lock in whatever order it visits rows).
        sqlx::query("SELECT customer_id FROM ledger_versions WHERE customer_id = ANY($1) ORDER BY customer_id FOR UPDATE")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_err)?;
        let rows = sqlx::query(
            "UPDATE ledger_versions v SET version = v.version + 1
               FROM UNNEST($1::text[], $2::bigint[]) AS x(customer_id, version)
              WHERE v.customer_id = x.customer_id AND v.version = x.version
             RETURNING v.customer_id",
        )
        .bind(&ids)
        .bind(&versions)
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        for r in rows {
            passed.insert(r.try_get("customer_id").map_err(db_err)?);
        }
    }
    if !new.is_empty() {
        let ids: Vec<&str> = new.iter().map(|g| g.customer_id.as_str()).collect();
        let rows = sqlx::query(
            "INSERT INTO ledger_versions (customer_id, version)
             SELECT customer_id, 1 FROM UNNEST($1::text[]) AS x(customer_id)
             ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id",
        )
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        for r in rows {
            passed.insert(r.try_get("customer_id").map_err(db_err)?);
        }
    }
    let rows: Vec<(&str, &LedgerEntryRow)> = idx
        .iter()
        .map(|&i| &groups[i])
        .filter(|g| passed.contains(&g.customer_id))
        .flat_map(|g| g.entries.iter().map(move |e| (g.customer_id.as_str(), e)))
        .collect();
    insert_entries(tx, &rows).await?;
    Ok(idx.iter().map(|&i| passed.contains(&groups[i].customer_id)).collect())
}

/// Inserts entries (customer, entry) in one statement, in the order given.
async fn insert_entries(
    tx: &mut sqlx::Transaction<'_, Db>,
    entries: &[(&str, &LedgerEntryRow)],
) -> StoreResult<u64> {
    if entries.is_empty() {
        return Ok(0);
    }
    let n = entries.len();
    let mut customer = Vec::with_capacity(n);
    let mut entry = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    let mut by = Vec::with_capacity(n);
    let mut channel = Vec::with_capacity(n);
    let mut reason = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n);
    let mut bill = Vec::with_capacity(n);
    let mut period = Vec::with_capacity(n);
    let mut due = Vec::with_capacity(n);
    let mut key = Vec::with_capacity(n);
    let mut of = Vec::with_capacity(n);
    let mut approver = Vec::with_capacity(n);
    for (customer_id, e) in entries {
        let (b, p, d, k, o, a) = kind_columns(&e.kind);
        customer.push(*customer_id);
        entry.push(e.id.0.as_str());
        at.push(e.at.as_microsecond());
        by.push(e.by.as_str());
        channel.push(e.channel.code());
        reason.push(e.reason.as_str());
        kind.push(e.kind.code());
        amount.push(e.kind.signed_amount().0);
        bill.push(b);
        period.push(p);
        due.push(d);
        key.push(k);
        of.push(o);
        approver.push(a);
    }
    let done = sqlx::query(&format!(
        "INSERT INTO ledger_entries ({ENTRY_COLUMNS})
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])"
    ))
    .bind(&customer)
    .bind(&entry)
    .bind(&at)
    .bind(&by)
    .bind(&channel)
    .bind(&reason)
    .bind(&kind)
    .bind(&amount)
    .bind(&bill)
    .bind(&period)
    .bind(&due)
    .bind(&key)
    .bind(&of)
    .bind(&approver)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected())
}

/// The open part of these customers' ledgers (`LedgerStore::open_ledgers_of`), one per id in the
/// order given: the version, the settled mark and the entries after it in one statement, so in one
/// snapshot. A customer without a ledger has version 0, no mark and no entries.
pub(crate) async fn open_ledgers_of(
    pool: &sqlx::Pool<Db>,
    customer_ids: &[String],
) -> StoreResult<Vec<OpenLedger>> {
    let mut ids: Vec<&str> = customer_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let entry_columns: Vec<String> = ENTRY_COLUMNS.split(',').map(|c| format!("e.{}", c.trim())).collect();
    // Entry ids compare byte by byte (COLLATE "C"), as the mark's order is defined.
    let rows = sqlx::query(&format!(
        "SELECT i.id AS ledger_id, v.version, v.settled_at_us, v.settled_entry, {}
           FROM UNNEST($1::text[]) AS i(id)
           LEFT JOIN ledger_versions v ON v.customer_id = i.id
           LEFT JOIN ledger_entries e ON e.customer_id = i.id
                AND (v.settled_at_us IS NULL OR e.posted_at_us > v.settled_at_us
                     OR (e.posted_at_us = v.settled_at_us AND e.entry_id COLLATE \"C\" > v.settled_entry COLLATE \"C\"))",
        entry_columns.join(", ")
    ))
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut ledgers: std::collections::HashMap<String, OpenLedger> = std::collections::HashMap::new();
    for r in &rows {
        let id: String = r.try_get("ledger_id").map_err(db_err)?;
        if !ledgers.contains_key(&id) {
            let version: Option<i64> = r.try_get("version").map_err(db_err)?;
            let mark = mark_from_columns(
                &id,
                r.try_get("settled_at_us").map_err(db_err)?,
                r.try_get("settled_entry").map_err(db_err)?,
            )?;
            ledgers.insert(
                id.clone(),
                OpenLedger {
                    customer_id: id.clone(),
                    version: version.unwrap_or(0),
                    settled_through: mark,
                    entries: Vec::new(),
                },
            );
        }
        let entry_id: Option<&str> = r.try_get("entry_id").map_err(db_err)?;
        if entry_id.is_some() {
            let (_, e) = entry_from_row(r)?;
            ledgers.get_mut(&id).expect("inserted above").entries.push(e);
        }
    }
    for l in ledgers.values_mut() {
        l.entries.sort_by(bureau_domain::ledger::posting_order);
    }
    Ok(customer_ids.iter().map(|id| ledgers[id.as_str()].clone()).collect())
}

/// Sets each mark where the ledger is still at the given version, in one statement; how many were
/// set. The rows are locked in customer order first, as `post_bulk` locks them.
pub(crate) async fn mark_settled(
    tx: &mut sqlx::Transaction<'_, Db>,
    marks: &[(&str, i64, &SettledMark)],
) -> StoreResult<u64> {
    if marks.is_empty() {
        return Ok(0);
    }
    let mut sorted: Vec<&(&str, i64, &SettledMark)> = marks.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let ids: Vec<&str> = sorted.iter().map(|m| m.0).collect();
    let versions: Vec<i64> = sorted.iter().map(|m| m.1).collect();
    let at: Vec<i64> = sorted.iter().map(|m| m.2.at_us).collect();
    let entry: Vec<&str> = sorted.iter().map(|m| m.2.entry_id.as_str()).collect();
    sqlx::query(
        "SELECT customer_id FROM ledger_versions WHERE customer_id = ANY($1) ORDER BY customer_id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(sqlx::query(
        "UPDATE ledger_versions v SET settled_at_us = x.at_us, settled_entry = x.entry_id
           FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS x(customer_id, version, at_us, entry_id)
          WHERE v.customer_id = x.customer_id AND v.version = x.version",
    )
    .bind(&ids)
    .bind(&versions)
    .bind(&at)
    .bind(&entry)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?
    .rows_affected())
}
