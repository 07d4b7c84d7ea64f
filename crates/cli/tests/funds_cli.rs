//! `bureau bill funds`: the government-fund remittance report as CSV (default) or JSON, and a bad
//! month named with exit code 2.

use bureau_store_tests::TestDb;
use std::process::{Command, Output};

fn bureau(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bureau"))
        .args(args)
        .env("BUREAU_LANG", "en")
        .env("BUREAU_LOG", "warn")
        .output()
        .expect("the bureau binary runs")
}

#[tokio::test]
async fn bill_funds_prints_the_report() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    let out = bureau(&[
        "--db",
        &db.url,
        "demo",
        "--no-serve",
        "--customers",
        "200",
        "--through",
        "2026-10",
        "--months",
        "3",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = bureau(&["--db", &db.url, "bill", "funds", "--period", "2026-08", "--to", "2026-10"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout)?;
    assert!(csv.starts_with("row,period,fund_code,fund_name_zh,fund_name_en,rate,tariff_id,version_from,bills,kwh,amount,billed_funds,difference,note\n"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("fund,2026-08~2026-10,renewable,")), "{csv}");
    let total = csv.lines().last().unwrap();
    assert!(total.starts_with("total,2026-08~2026-10,"), "{csv}");

    let out = bureau(&["--db", &db.url, "bill", "funds", "--period", "2026-08", "--to", "2026-10", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let bills = r["bills"].as_u64().unwrap();
    assert!(bills > 0, "{r}");
    assert_eq!(
        total.split(',').nth(8),
        Some(bills.to_string().as_str()),
        "the CSV's total row has the same bills"
    );

    let out = bureau(&["--db", &db.url, "bill", "funds", "--period", "2026-13"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("period: a billing period is written YYYY-MM: 2026-13"), "{err}");
    let out = bureau(&["--db", &db.url, "bill", "funds", "--period", "2026-10", "--to", "2026-09"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("to: "));
    db.destroy().await
}
