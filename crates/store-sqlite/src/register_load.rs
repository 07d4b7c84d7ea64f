//! Bulk loads of the register (customers with their meters, contracts and readings) on the direct
//! `rusqlite` writer of [`crate::bill_run::Direct`], for the demo generator at province scale.
//!
//! Why: through sqlx a customer with two readings cost about 0.2 ms of CPU (multi-row statements
//! with a bound value allocated each, and a channel hop to the connection's thread), so ten
//! million customers took hours. Here each row is one execution of a statement prepared once per
//! connection, inside the batch's single `BEGIN IMMEDIATE` transaction. The statements and the
//! column encodings are those of the shared sqlx path (`bulk_load_sql` in sql_store.rs): the same
//! rows, "insert unless present", so a load killed half way and run again ends the same.

use crate::bill_run::{err, Direct};
use crate::to_centi;
use bureau_store::{RegisterBatch, StoreResult};
use rusqlite::{Connection, TransactionBehavior};

impl Direct {
    /// Writes the batch in one transaction on the writer connection.
    pub(crate) fn bulk_load(&self, batch: &RegisterBatch) -> StoreResult<()> {
        self.with_writer(|conn| load(conn, batch).map_err(err))
    }
}

fn load(conn: &mut Connection, batch: &RegisterBatch) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(&format!(
            "INSERT INTO customers ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (customer_id) DO NOTHING",
            crate::CUSTOMER_COLUMNS
        ))?;
        for c in &batch.customers {
            st.execute(rusqlite::params![
                c.id.as_str(),
                c.bureau_id.as_str(),
                c.name,
                c.address,
                c.phone,
                c.class.code(),
                c.area.code(),
                c.supply_point,
                c.book_id,
            ])?;
        }
    }
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO meters (customer_id, meter_id, multiplier, digits, tou, installed_on, initial_reading_c,
               removed_on, final_reading_c) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (customer_id, meter_id) DO NOTHING",
        )?;
        for m in &batch.meters {
            st.execute(rusqlite::params![
                m.customer_id.as_str(),
                m.meter_id,
                m.multiplier,
                m.digits,
                m.tou,
                crate::date_text(m.installed_on),
                to_centi(m.initial_reading),
                m.removed_on.map(crate::date_text),
                m.final_reading.map(to_centi),
            ])?;
        }
    }
    {
        let mut st = tx.prepare_cached(&format!(
            "INSERT INTO contracts ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (customer_id, contract_id) DO NOTHING",
            crate::CONTRACT_COLUMNS
        ))?;
        for c in &batch.contracts {
            st.execute(rusqlite::params![
                c.customer_id.as_str(),
                c.contract_id,
                c.tariff_id,
                c.capacity_kva.to_string(),
                c.pf_standard.map(|p| format!("{p:.2}")),
                c.due_days,
                crate::date_text(c.effective_from),
                c.effective_to.map(crate::date_text),
            ])?;
        }
    }
    crate::bill_run::insert_readings(&tx, &batch.readings)?;
    tx.commit()
}
