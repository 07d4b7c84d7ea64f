//! CSV exports, in the same columns the imports read, so that an export re-imports unchanged.

use crate::access::Actor;
use crate::error::AppResult;
use bureau_store::DynStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    Customers,
    Books,
}

impl ExportKind {
    pub fn parse(s: &str) -> Option<ExportKind> {
        match s {
            "customers" => Some(ExportKind::Customers),
            "books" => Some(ExportKind::Books),
            _ => None,
        }
    }
}

/// Customers are read a page at a time, so a province exports in constant memory.
const PAGE: u32 = 5000;

/// Writes the export as CSV; returns the number of data rows.
pub async fn export(
    store: &DynStore,
    actor: &Actor,
    kind: ExportKind,
    out: impl std::io::Write,
) -> AppResult<u64> {
    actor.require_any(super::READERS)?;
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| bureau_store::StoreError::Database(format!("writing the export: {e}"));
    let mut n = 0;
    match kind {
        ExportKind::Customers => {
            w.write_record([
                "id",
                "bureau_id",
                "name",
                "address",
                "phone",
                "class",
                "area",
                "supply_point",
                "book_id",
            ])
            .map_err(io)?;
            let mut after: Option<String> = None;
            loop {
                let page = store.list_customers(&actor.scope, after.as_deref(), PAGE).await?;
                for c in &page {
                    w.write_record([
                        c.id.as_str(),
                        &c.bureau_id,
                        &c.name,
                        &c.address,
                        c.phone.as_deref().unwrap_or(""),
                        c.class.code(),
                        c.area.code(),
                        c.supply_point.as_deref().unwrap_or(""),
                        c.book_id.as_deref().unwrap_or(""),
                    ])
                    .map_err(io)?;
                }
                n += page.len() as u64;
                match page.last() {
                    Some(last) if page.len() == PAGE as usize => after = Some(last.id.as_str().to_string()),
                    _ => break,
                }
            }
        }
        ExportKind::Books => {
            w.write_record(["id", "bureau_id", "name", "reading_day", "reader_id"]).map_err(io)?;
            for b in store.list_books(&actor.scope).await? {
                w.write_record([
                    b.id,
                    b.bureau_id,
                    b.name,
                    b.reading_day.to_string(),
                    b.reader_id.unwrap_or_default(),
                ])
                .map_err(io)?;
                n += 1;
            }
        }
    }
    w.flush().map_err(|e| bureau_store::StoreError::Database(format!("writing the export: {e}")))?;
    Ok(n)
}
