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

/// `bureau bank post`: the result file (one line per input line), the summary, exit codes 0 (all
/// posted or duplicates), 3 (some rejected) and 2 (bad header); posting twice posts nothing; and
/// `bureau bench bank-batch` posts a generated file and prints its figures.
#[tokio::test]
async fn bank_post_writes_the_result_file_and_exit_codes_tell() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    let out = bureau(&["--db", &db.url, "demo", "--no-serve", "--customers", "200", "--months", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = std::env::temp_dir().join(format!("bureau-bank-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("icbc.csv");
    let result = dir.join("result.csv");
    let (file_s, result_s) = (file.display().to_string(), result.display().to_string());
    std::fs::write(
        &file,
        "户号,金额,交易时间,银行流水号,业务类型\n\
         2300000010,20.00,2026-11-26 09:30:00,C1,代扣\n\
         2300000011,5.5,2026-11-26,C2,代收\n",
    )?;
    let post = |extra: &[&str]| {
        bureau(
            &[
                &["--db", db.url.as_str(), "bank", "post", &file_s, "--bank", "ICBC", "--out", &result_s][..],
                extra,
            ]
            .concat(),
        )
    };
    let out = post(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("2 lines: 2 posted, 0 duplicate, 0 rejected, 25.50 yuan posted"), "{summary}");
    let text = std::fs::read_to_string(&result)?;
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with("2,2300000010,20.00,C1,posted,"), "{text}");
    assert!(text.lines().nth(2).unwrap().starts_with("3,2300000011,5.50,C2,posted,"), "{text}");

    // Twice: all duplicates, exit 0, nothing posted.
    let out = post(&["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!((v["posted"].as_u64(), v["duplicate"].as_u64()), (Some(0), Some(2)), "{v}");
    assert_eq!(v["posted_amount"], "0.00");
    assert!(std::fs::read_to_string(&result)?.contains(",C1,duplicate,"));

    // A rejected line: exit 3, the result file says which and why; the good line is posted.
    std::fs::write(
        &file,
        "account_no,amount,paid_at,bank_ref,mode\n2300000012,1.00,2026-11-26,C3,collect\n2300000012,1.001,2026-11-26,C4,collect\n",
    )?;
    let out = post(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    let text = std::fs::read_to_string(&result)?;
    assert!(text.contains("2,2300000012,1.00,C3,posted,"), "{text}");
    assert!(text.contains("3,2300000012,1.001,C4,rejected,invalid,amount:"), "{text}");

    // A bad header: exit 2, the field named, no result file written.
    std::fs::remove_file(&result)?;
    std::fs::write(&file, "account_no,amount\n2300000012,1.00\n")?;
    let out = post(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("header:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!result.exists());

    // The record of batches, and the benchmark on the same database.
    let out = bureau(&["--db", &db.url, "bank", "batches", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(list.as_array().map(Vec::len), Some(3), "{list}");
    let out = bureau(&["--db", &db.url, "bench", "bank-batch", "--lines", "500", "--chunk", "64"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        (v["lines"].as_u64(), v["posted"].as_u64(), v["rejected"].as_u64()),
        (Some(500), Some(500), Some(0)),
        "{v}"
    );
    std::fs::remove_dir_all(&dir)?;
    db.destroy().await
}
