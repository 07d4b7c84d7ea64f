//! Reading imports (抄表数据导入): manual reading books and AMI daily freezes (日冻结) in one CSV
//! format. Each row is checked on its own (account, meter of that account, date, register values
//! within the meter's digits); a rejected row is reported with its line and field and nothing from it
//! is stored, so nothing is billed from it. Suspicious but well-formed readings are stored and held
//! later by the bill run's checks (see `bureau_domain::reading`).
//!
//! Columns: `customer_id, meter_id, read_on, total` and optionally `peak, flat, valley,
//! max_demand, kvarh, kind (actual|estimated), source (manual|ami|...)`; extra columns are ignored.

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use crate::register::{ImportReport, RejectedRow};
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_domain::register::{parse_code, parse_date, parse_register, AccountNo, Meter};
use bureau_store::{DynStore, Reading, ReadingKind};
use rust_decimal::Decimal;
use std::collections::HashMap;

const REQUIRED: [&str; 4] = ["customer_id", "meter_id", "read_on", "total"];
const BATCH: usize = 5000;

fn reject(report: &mut ImportReport, line: u64, e: FieldError) {
    report.rejected.push(RejectedRow { line, field: e.field, code: e.code.to_string(), message: e.message });
}

/// Imports readings from CSV; returns the report (rows, written, unchanged, rejected).
pub async fn import_readings(
    store: &DynStore,
    actor: &Actor,
    input: impl std::io::Read,
) -> AppResult<ImportReport> {
    actor.require_any(&[Role::CounterClerk, Role::Manager])?;
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| {
            FieldError::invalid("file", format!("无法读取表头：{e}"), format!("cannot read the header: {e}"))
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let missing: Vec<FieldError> =
        REQUIRED.iter().filter(|c| col(c).is_none()).map(|c| FieldError::required(c)).collect();
    if !missing.is_empty() {
        return Err(AppError::Invalid(missing));
    }
    let idx: HashMap<&str, usize> = [
        "customer_id",
        "meter_id",
        "read_on",
        "total",
        "peak",
        "flat",
        "valley",
        "max_demand",
        "kvarh",
        "kind",
        "source",
    ]
    .into_iter()
    .filter_map(|c| col(c).map(|i| (c, i)))
    .collect();
    let mut report = ImportReport::default();
    let mut meters: HashMap<String, Vec<Meter>> = HashMap::new();
    let mut batch: Vec<Reading> = Vec::new();
    for (i, record) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        report.rows += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                reject(
                    &mut report,
                    line,
                    FieldError::invalid("row", format!("此行格式不正确：{e}"), format!("malformed row: {e}")),
                );
                continue;
            }
        };
        let get = |c: &str| idx.get(c).and_then(|&i| record.get(i)).unwrap_or("");
        match parse_row(&get) {
            Err(e) => reject(&mut report, line, e),
            Ok(r) => {
                if !meters.contains_key(&r.customer_id) {
                    let ms = store.meters_of(&r.customer_id).await?;
                    meters.insert(r.customer_id.clone(), ms);
                }
                let ms = &meters[&r.customer_id];
                match check_meter(&r, ms) {
                    Err(e) => reject(&mut report, line, e),
                    Ok(()) => batch.push(r),
                }
            }
        }
        if batch.len() >= BATCH {
            let n = store.insert_readings(&batch).await?;
            report.written += n;
            report.unchanged += batch.len() as u64 - n;
            batch.clear();
        }
    }
    let n = store.insert_readings(&batch).await?;
    report.written += n;
    report.unchanged += batch.len() as u64 - n;
    Ok(report)
}

fn opt_register(field: &str, text: &str) -> Result<Option<Decimal>, FieldError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse_register(field, text).map(Some)
    }
}

/// One row, checked on its own.
pub fn parse_row<'a>(get: &dyn Fn(&str) -> &'a str) -> Result<Reading, FieldError> {
    let customer_id = AccountNo::parse("customer_id", get("customer_id"))?;
    let meter_id = parse_code("meter_id", get("meter_id"))?;
    let read_on = parse_date("read_on", get("read_on"))?;
    if get("total").trim().is_empty() {
        return Err(FieldError::required("total"));
    }
    let total = parse_register("total", get("total"))?;
    let kind = match get("kind").trim() {
        "" => ReadingKind::Actual,
        k => ReadingKind::parse(k).ok_or_else(|| {
            FieldError::invalid(
                "kind",
                format!("抄表类型应为actual或estimated：{k}"),
                format!("kind is actual or estimated: {k}"),
            )
        })?,
    };
    let source = match get("source").trim() {
        "" => "import".to_string(),
        s => parse_code("source", s)?,
    };
    let (peak, flat, valley) = (
        opt_register("peak", get("peak"))?,
        opt_register("flat", get("flat"))?,
        opt_register("valley", get("valley"))?,
    );
    if [peak, flat, valley].iter().any(Option::is_some) && [peak, flat, valley].iter().any(Option::is_none) {
        let field = if peak.is_none() {
            "peak"
        } else if flat.is_none() {
            "flat"
        } else {
            "valley"
        };
        return Err(FieldError::invalid(
            field,
            "峰、平、谷示数应同时给出",
            "peak, flat and valley registers go together",
        ));
    }
    Ok(Reading {
        customer_id: customer_id.as_str().to_string(),
        meter_id,
        read_on: read_on.to_string(),
        kind,
        source,
        total,
        peak,
        flat,
        valley,
        max_demand: opt_register("max_demand", get("max_demand"))?,
        kvarh: opt_register("kvarh", get("kvarh"))?,
    })
}

/// The reading must be of a meter of that customer, within its service dates and register range.
pub fn check_meter(r: &Reading, meters: &[Meter]) -> Result<(), FieldError> {
    let Some(m) = meters.iter().find(|m| m.meter_id == r.meter_id) else {
        return Err(FieldError::new(
            "meter_id",
            "unknown",
            format!("户号 {} 没有电能表 {}", r.customer_id, r.meter_id),
            format!("account {} has no meter {}", r.customer_id, r.meter_id),
        ));
    };
    let on = r.read_on.as_str();
    if on < m.installed_on.to_string().as_str() || m.removed_on.is_some_and(|d| on > d.to_string().as_str()) {
        return Err(FieldError::invalid(
            "read_on",
            format!("抄表日期 {on} 不在电能表 {} 的在用期内", m.meter_id),
            format!("{on} is outside the service dates of meter {}", m.meter_id),
        ));
    }
    let scale = Decimal::from(10i64.pow(m.digits.clamp(1, 15) as u32));
    for (field, v) in [
        ("total", Some(r.total)),
        ("peak", r.peak),
        ("flat", r.flat),
        ("valley", r.valley),
        ("kvarh", r.kvarh),
    ] {
        if v.is_some_and(|v| v >= scale) {
            return Err(FieldError::invalid(
                field,
                format!("示数超出{}位表计的量程", m.digits),
                format!("reading exceeds the range of a {}-digit register", m.digits),
            ));
        }
    }
    Ok(())
}
