//! Many ledger postings at once (a chunk of a bank batch file) on the direct `rusqlite` writer of
//! [`crate::bill_run::Direct`].
//!
//! Why: through sqlx a bank batch posted about 9,000 payments per CPU second, 62 % of it in sqlx's
//! SQLite worker (an allocation per bound and per fetched value, a channel hop per statement);
//! docs/performance.md, issue 4. Here each group is a handful of executions of statements prepared
//! once per connection, inside the chunk's single `BEGIN IMMEDIATE` transaction.
//!
//! Outcomes are those of the shared path (`post_group_tx` / `post_groups_bulk_tx` in
//! ledger_sql.rs), group by group in order: a group with a key already posted is a `Duplicate` of
//! that entry; a version that moved (or a ledger created meanwhile) is `Stale`; otherwise the
//! version is raised and the entries written, under a savepoint so that an entry refused by a
//! constraint leaves nothing of its group behind. Groups of distinct customers and keys commute,
//! so posting in order gives what the shared path's bulk-then-one-by-one order gives.

use crate::bill_run::{err, Direct};
use crate::{entry_from_columns, group_keys, kind_columns, EntryColumns, ENTRY_COLUMNS};
use bureau_domain::register::{AccountNo, Customer, CustomerClass, ServiceArea};
use bureau_store::{CustomerEntry, CustomerLedger, EntryGroup, OpenLedger, Posted, StoreError, StoreResult};
use rusqlite::{CachedStatement, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

impl Direct {
    /// Posts the groups in one transaction on the writer connection, one outcome per group.
    pub(crate) fn post_groups(&self, groups: &[EntryGroup]) -> StoreResult<Vec<Posted>> {
        self.with_writer(|conn| post_groups(conn, groups))
    }

    /// The ledgers of these customers (in their order), each version read before its entries in
    /// one read transaction, as the shared `ledgers_of` does.
    pub(crate) fn ledgers_of(&self, ids: &[String]) -> StoreResult<Vec<CustomerLedger>> {
        self.with_reader(|conn| ledgers_of(conn, ids).map_err(err)?.into_iter().collect())
    }

    /// The open part of these ledgers (in their order): each version and settled mark, then the
    /// entries after the mark, in one read transaction.
    pub(crate) fn open_ledgers_of(&self, ids: &[String]) -> StoreResult<Vec<OpenLedger>> {
        self.with_reader(|conn| open_ledgers_of(conn, ids))
    }
}

impl Direct {
    /// The customers with these account numbers (unknown ones left out), in account order, once
    /// each: one prepared look-up by primary key per id on a reader connection.
    pub(crate) fn customers_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Customer>> {
        self.with_reader(|conn| customers_by_ids(conn, ids))
    }

    /// The entries posted with any of these keys: one prepared look-up by the key index per key.
    pub(crate) fn entries_with_keys(&self, keys: &[String]) -> StoreResult<Vec<CustomerEntry>> {
        self.with_reader(|conn| entries_with_keys(conn, keys))
    }
}

fn customers_by_ids(conn: &Connection, ids: &[String]) -> StoreResult<Vec<Customer>> {
    let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut st = conn
        .prepare_cached(&format!("SELECT {} FROM customers WHERE customer_id = ?1", crate::CUSTOMER_COLUMNS))
        .map_err(err)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mut rows = st.query([id]).map_err(err)?;
        if let Some(r) = rows.next().map_err(err)? {
            out.push(customer(r)?);
        }
    }
    Ok(out)
}

/// A customer row in [`crate::CUSTOMER_COLUMNS`] order, checked as the shared `customer_from_row`.
fn customer(r: &rusqlite::Row<'_>) -> StoreResult<Customer> {
    let id: String = r.get(0).map_err(err)?;
    let class: String = r.get(5).map_err(err)?;
    let area: String = r.get(6).map_err(err)?;
    Ok(Customer {
        id: AccountNo::parse("customer_id", &id).map_err(|_| crate::corrupt("customer_id", &id))?,
        bureau_id: r.get(1).map_err(err)?,
        name: r.get(2).map_err(err)?,
        address: r.get(3).map_err(err)?,
        phone: r.get(4).map_err(err)?,
        class: CustomerClass::parse(&class).map_err(|_| crate::corrupt("class", &class))?,
        area: ServiceArea::parse(&area).map_err(|_| crate::corrupt("area", &area))?,
        supply_point: r.get(7).map_err(err)?,
        book_id: r.get(8).map_err(err)?,
    })
}

fn entries_with_keys(conn: &Connection, keys: &[String]) -> StoreResult<Vec<CustomerEntry>> {
    let mut st = conn
        .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idem_key = ?1"))
        .map_err(err)?;
    let mut out = Vec::new();
    for key in keys {
        let mut rows = st.query([key]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let (customer_id, entry) = entry_from_columns(columns(r).map_err(err)?)?;
            out.push(CustomerEntry { customer_id: customer_id.to_string(), entry });
        }
    }
    Ok(out)
}

fn ledgers_of(conn: &Connection, ids: &[String]) -> rusqlite::Result<Vec<StoreResult<CustomerLedger>>> {
    let tx = conn.unchecked_transaction()?;
    let mut version = tx.prepare_cached("SELECT version FROM ledger_versions WHERE customer_id = ?1")?;
    // In primary-key order, sorted into posting order here: an ORDER BY on posting time made SQLite
    // build a temporary B-tree for every customer, which was most of the reading of a year's
    // ledgers (docs/performance.md, issue 4). The order is the shared `ledgers_of`'s: (posted_at_us,
    // entry_id), the id compared byte by byte as SQLite's BINARY collation does.
    let mut entries =
        tx.prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE customer_id = ?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let v: i64 = version.query_row([id], |r| r.get(0)).optional()?.unwrap_or(0);
        let mut rows = entries.query([id])?;
        let mut list = Vec::new();
        let mut bad = None;
        while let Some(r) = rows.next()? {
            match entry_from_columns(columns(r)?) {
                Ok((_, e)) => list.push(e),
                Err(e) => bad = Some(e),
            }
        }
        out.push(match bad {
            Some(e) => Err(e),
            None => {
                list.sort_by(bureau_domain::ledger::posting_order);
                Ok(CustomerLedger { customer_id: id.clone(), version: v, entries: list })
            }
        });
    }
    drop((version, entries));
    tx.finish()?;
    Ok(out)
}

fn open_ledgers_of(conn: &Connection, ids: &[String]) -> StoreResult<Vec<OpenLedger>> {
    let tx = conn.unchecked_transaction().map_err(err)?;
    let mut out = Vec::with_capacity(ids.len());
    {
        let mut version = tx
            .prepare_cached(
                "SELECT version, settled_at_us, settled_entry FROM ledger_versions WHERE customer_id = ?1",
            )
            .map_err(err)?;
        // Without a mark the bounds are below every key: the whole ledger. In key order, sorted
        // into posting order below, as `ledgers_of` does.
        let mut entries = tx
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE customer_id = ?1
                   AND (posted_at_us > ?2 OR (posted_at_us = ?2 AND entry_id > ?3))"
            ))
            .map_err(err)?;
        for id in ids {
            let head: Option<(i64, Option<i64>, Option<String>)> =
                version.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional().map_err(err)?;
            let (v, mark) = match head {
                Some((v, at, entry)) => (v, crate::mark_from_columns(id, at, entry)?),
                None => (0, None),
            };
            let (from_us, from_id) = mark.as_ref().map_or((i64::MIN, ""), |m| (m.at_us, m.entry_id.as_str()));
            let mut rows = entries.query(rusqlite::params![id, from_us, from_id]).map_err(err)?;
            let mut list = Vec::new();
            while let Some(r) = rows.next().map_err(err)? {
                list.push(entry_from_columns(columns(r).map_err(err)?)?.1);
            }
            list.sort_by(bureau_domain::ledger::posting_order);
            out.push(OpenLedger {
                customer_id: id.clone(),
                version: v,
                settled_through: mark,
                entries: list,
            });
        }
    }
    tx.finish().map_err(err)?;
    Ok(out)
}

fn post_groups(conn: &mut Connection, groups: &[EntryGroup]) -> StoreResult<Vec<Posted>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
    let mut out = Vec::with_capacity(groups.len());
    {
        let mut st = Statements::prepare(&tx).map_err(err)?;
        for g in groups {
            out.push(st.post(g)?);
        }
    }
    tx.commit().map_err(err)?;
    Ok(out)
}

/// The statements of a posting, prepared once per connection (rusqlite's statement cache).
struct Statements<'c> {
    by_key: CachedStatement<'c>,
    create_version: CachedStatement<'c>,
    bump_version: CachedStatement<'c>,
    insert: CachedStatement<'c>,
    savepoint: CachedStatement<'c>,
    rollback_to: CachedStatement<'c>,
    release: CachedStatement<'c>,
    mark: CachedStatement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Statements<'c>> {
        Ok(Statements {
            by_key: conn.prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idem_key = ?1"))?,
            create_version: conn.prepare_cached(
                "INSERT INTO ledger_versions (customer_id, version) VALUES (?1, 1) ON CONFLICT (customer_id) DO NOTHING",
            )?,
            bump_version: conn.prepare_cached(
                "UPDATE ledger_versions SET version = version + 1 WHERE customer_id = ?1 AND version = ?2",
            )?,
            insert: conn.prepare_cached(&format!(
                "INSERT INTO ledger_entries ({ENTRY_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?,
            savepoint: conn.prepare_cached("SAVEPOINT bank_group")?,
            rollback_to: conn.prepare_cached("ROLLBACK TO bank_group")?,
            release: conn.prepare_cached("RELEASE bank_group")?,
            mark: conn.prepare_cached(
                "UPDATE ledger_versions SET settled_at_us = ?1, settled_entry = ?2 WHERE customer_id = ?3",
            )?,
        })
    }

    /// One group: key check, version check, insert.
    fn post(&mut self, g: &EntryGroup) -> StoreResult<Posted> {
        let keys = group_keys(&g.entries);
        if let Some(prior) = self.prior(&keys)? {
            return Ok(Posted::Duplicate { prior });
        }
        // Under a savepoint, so that an entry refused by a constraint undoes the raised version too.
        self.savepoint.execute([]).map_err(err)?;
        let bumped = if g.expected_version == 0 {
            self.create_version.execute([g.customer_id.as_str()])
        } else {
            self.bump_version.execute(rusqlite::params![g.customer_id, g.expected_version])
        }
        .map_err(err)?;
        if bumped != 1 {
            self.release.execute([]).map_err(err)?;
            return Ok(Posted::Stale);
        }
        match self.insert_entries(g) {
            Ok(()) => {
                self.release.execute([]).map_err(err)?;
                Ok(Posted::Done { version: g.expected_version + 1 })
            }
            Err(rusqlite::Error::SqliteFailure(f, msg)) if f.code == ErrorCode::ConstraintViolation => {
                self.rollback_to.execute([]).map_err(err)?;
                self.release.execute([]).map_err(err)?;
                match self.prior(&keys)? {
                    Some(prior) => Ok(Posted::Duplicate { prior }),
                    None => Err(StoreError::Constraint { constraint: msg.unwrap_or_else(|| f.to_string()) }),
                }
            }
            Err(e) => Err(err(e)),
        }
    }

    /// The entries, then the group's settled mark (after them, so that their own insert cannot
    /// clear it; the version was raised above in this transaction).
    fn insert_entries(&mut self, g: &EntryGroup) -> rusqlite::Result<()> {
        for e in &g.entries {
            bind_entry(&mut self.insert, 1, &g.customer_id, e)?;
            self.insert.raw_execute()?;
        }
        if let Some(m) = &g.settle_through {
            self.mark.execute(rusqlite::params![m.at_us, m.entry_id, g.customer_id])?;
        }
        Ok(())
    }

    /// The entry posted before with one of these keys, if any.
    fn prior(&mut self, keys: &[&str]) -> StoreResult<Option<CustomerEntry>> {
        for key in keys {
            let mut rows = self.by_key.query([key]).map_err(err)?;
            if let Some(r) = rows.next().map_err(err)? {
                let (customer_id, entry) = entry_from_columns(columns(r).map_err(err)?)?;
                return Ok(Some(CustomerEntry { customer_id: customer_id.to_string(), entry }));
            }
        }
        Ok(None)
    }
}

/// Binds one entry's [`ENTRY_COLUMNS`] to `st` from the one-based parameter `at` on: the direct
/// writers' one way of writing an entry (this module's postings, the bill run's charges).
pub(crate) fn bind_entry(
    st: &mut rusqlite::Statement<'_>,
    at: usize,
    customer_id: &str,
    e: &bureau_domain::ledger::Entry,
) -> rusqlite::Result<()> {
    let (bill, period, due, key, of, approver) = kind_columns(&e.kind);
    st.raw_bind_parameter(at, customer_id)?;
    st.raw_bind_parameter(at + 1, &e.id.0)?;
    st.raw_bind_parameter(at + 2, e.at.as_microsecond())?;
    st.raw_bind_parameter(at + 3, &e.by)?;
    st.raw_bind_parameter(at + 4, e.channel.code())?;
    st.raw_bind_parameter(at + 5, &e.reason)?;
    st.raw_bind_parameter(at + 6, e.kind.code())?;
    st.raw_bind_parameter(at + 7, e.kind.signed_amount().0)?;
    st.raw_bind_parameter(at + 8, bill)?;
    st.raw_bind_parameter(at + 9, period)?;
    st.raw_bind_parameter(at + 10, due)?;
    st.raw_bind_parameter(at + 11, key)?;
    st.raw_bind_parameter(at + 12, of)?;
    st.raw_bind_parameter(at + 13, approver)
}

/// An entry's columns by position, in [`ENTRY_COLUMNS`] order, borrowed from the row.
pub(crate) fn columns<'r>(r: &'r rusqlite::Row<'_>) -> rusqlite::Result<EntryColumns<'r>> {
    let text = |i: usize| -> rusqlite::Result<&'r str> { Ok(r.get_ref(i)?.as_str()?) };
    let maybe = |i: usize| -> rusqlite::Result<Option<&'r str>> { Ok(r.get_ref(i)?.as_str_or_null()?) };
    Ok(EntryColumns {
        customer_id: text(0)?,
        entry_id: text(1)?,
        posted_at_us: r.get(2)?,
        posted_by: text(3)?,
        channel: text(4)?,
        reason: text(5)?,
        kind: text(6)?,
        amount_fen: r.get(7)?,
        bill_id: maybe(8)?,
        period: maybe(9)?,
        due_on: maybe(10)?,
        idem_key: maybe(11)?,
        reversal_of: maybe(12)?,
        approved_by: maybe(13)?,
    })
}
