//! `bureau late-fee quote` (违约金试算) and `bureau bank post` as a user runs them.

use std::process::{Command, Output};

fn bureau(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bureau"))
        .args(args)
        .env("BUREAU_LANG", "en")
        .env("BUREAU_LOG", "warn")
        .output()
        .expect("the bureau binary runs")
}

#[test]
fn late_fee_quote_prints_days_and_fee() -> anyhow::Result<()> {
    // 100.00 × 1 ‰ × 15 days (03-11 … 03-25) = 1.50.
    let out = bureau(&[
        "late-fee",
        "quote",
        "--class",
        "residential",
        "--due",
        "2026-03-10",
        "--on",
        "2026-03-25",
        "--arrears",
        "100.00",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["days"], 15);
    assert_eq!(v["fee"], "1.50");
    assert_eq!(v["minimum_applied"], false);

    // Other customers across the new year: 11 days at 2 ‰ and 10 days at 3 ‰ of 1,000.00 = 52.00.
    let out = bureau(&[
        "late-fee",
        "quote",
        "--class",
        "other",
        "--due",
        "2025-12-20",
        "--on",
        "2026-01-10",
        "--arrears",
        "1000",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("21 days overdue, late fee 52.00 yuan"), "{text}");

    // Under 1 yuan is charged 1 yuan.
    let out = bureau(&[
        "late-fee",
        "quote",
        "--class",
        "residential",
        "--due",
        "2026-03-10",
        "--on",
        "2026-03-15",
        "--arrears",
        "50",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        (v["days"].as_i64(), v["fee"].as_str(), v["accrued"].as_str()),
        (Some(5), Some("1.00"), Some("0.25"))
    );

    // Bad input: exit 2, every field named.
    let out = bureau(&[
        "late-fee",
        "quote",
        "--class",
        "x",
        "--due",
        "2026-13-01",
        "--on",
        "2026-03-15",
        "--arrears=-5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for field in ["class:", "due:", "arrears:"] {
        assert!(err.contains(field), "{field} in {err}");
    }
    Ok(())
}
