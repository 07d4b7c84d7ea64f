//! CSV exports of the collection reports: UTF-8, a header row, money in yuan with two decimals.

use super::{AgingReport, ArrearsRow, RateReport, RateRow};
use std::io::Write;

/// Quotes a field when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn rate_line(out: &mut impl Write, r: &RateRow) -> std::io::Result<()> {
    let (cb, cc, cp) = match &r.cumulative {
        Some(c) => (c.billed.to_string(), c.collected.to_string(), c.percent.clone().unwrap_or_default()),
        None => (String::new(), String::new(), String::new()),
    };
    writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{}",
        field(&r.key),
        field(&r.name),
        r.bills,
        r.billed,
        r.collected,
        r.outstanding,
        r.percent.as_deref().unwrap_or(""),
        cb,
        cc,
        cp
    )
}

/// `key,name,bills,billed,collected,outstanding,percent,cumulative_billed,cumulative_collected,cumulative_percent`,
/// the groups then a `total` row.
pub fn rates_csv(report: &RateReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "key,name,bills,billed,collected,outstanding,percent,cumulative_billed,cumulative_collected,cumulative_percent"
    )?;
    for r in &report.rows {
        rate_line(out, r)?;
    }
    rate_line(out, &report.total)
}

/// `bucket_zh,bucket_en,bills,amount`, then the total, late fees, unbilled debits and credit.
pub fn aging_csv(report: &AgingReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "bucket_zh,bucket_en,bills,amount")?;
    for b in &report.buckets {
        writeln!(out, "{},{},{},{}", field(&b.label_zh), field(&b.label_en), b.bills, b.amount)?;
    }
    let bills: u64 = report.buckets.iter().map(|b| b.bills).sum();
    writeln!(out, "合计,total,{bills},{}", report.total)?;
    writeln!(out, "其中违约金,of which late fees,,{}", report.late_fees)?;
    writeln!(out, "未入账单的欠款,unbilled debits,,{}", report.unbilled)?;
    writeln!(out, "预收电费,prepaid credit,,{}", report.credit)
}

/// One line per customer in arrears.
pub fn arrears_csv(rows: &[ArrearsRow], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "customer_id,name,address,phone,class,book_id,department,arrears,oldest_due,days_overdue,overdue_bills"
    )?;
    for r in rows {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            field(&r.customer_id),
            field(&r.name),
            field(&r.address),
            field(r.phone.as_deref().unwrap_or("")),
            r.class,
            field(r.book_id.as_deref().unwrap_or("")),
            field(&r.department),
            r.arrears,
            r.oldest_due,
            r.days_overdue,
            r.overdue_bills
        )?;
    }
    Ok(())
}
