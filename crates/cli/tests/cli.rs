//! The `bureau` program as a user runs it, against both databases.

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
async fn the_demo_county_exports_35600_customers() -> anyhow::Result<()> {
    // The whole register of the county, with one month of readings: what this test checks is the
    // register's size, the export and the generator's idempotency; a year of bills, payments and
    // worked orders four times over (two runs, two databases) would only make the suite slow.
    let demo = ["demo", "--no-serve", "--months", "1"];
    for db in TestDb::each().await? {
        let out = bureau(&[&["--db", db.url.as_str()][..], &demo[..]].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let summary = String::from_utf8_lossy(&out.stdout);
        assert!(summary.contains("35600 customers"), "{summary}");
        assert!(summary.contains("300 transformers on 10 feeders, 61 staff"), "{summary}");

        let out = bureau(&["--db", &db.url, "export", "customers"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let csv = String::from_utf8(out.stdout)?;
        assert_eq!(csv.lines().count(), 35_601, "a header and 35,600 rows");
        assert!(csv.starts_with("id,bureau_id,name,address,phone,class,area,supply_point,book_id\n"));

        // Running the demo again adds nothing: the generator is idempotent.
        let out = bureau(&[&["--db", db.url.as_str()][..], &demo[..]].concat());
        assert!(out.status.success());
        let again = bureau(&["--db", &db.url, "export", "customers"]);
        assert_eq!(again.stdout, csv.as_bytes(), "the same county");
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn imports_name_every_bad_row_and_exit_codes_tell_what_happened() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    let out = bureau(&["--db", &db.url, "demo", "--no-serve", "--customers", "200"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let dir = std::env::temp_dir().join(format!("bureau-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("customers.csv");
    std::fs::write(
        &file,
        "id,bureau_id,name,address,phone,class,area\n\
         2391000001,AP,甲,安平县城关镇建设街1号,13900000001,residential,urban\n\
         2391000002,AP,乙,安平县城关镇建设街2号,12,residential,urban\n\
         2391000003,AP,丙,安平县城关镇建设街3号,,palace,urban\n",
    )?;
    let path = file.to_str().unwrap();
    let out = bureau(&["--db", &db.url, "import", "customers", path]);
    assert_eq!(out.status.code(), Some(3), "good rows kept, bad rows rejected");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{path}:3: phone: not a valid phone number: 12")), "{stderr}");
    assert!(stderr.contains(&format!("{path}:4: class: unknown value 'palace'")), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 rows: 1 written, 0 unchanged, 2 rejected"));

    // The same file again changes nothing.
    let out = bureau(&["--db", &db.url, "import", "customers", path, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!((report["written"].as_u64(), report["unchanged"].as_u64()), (Some(0), Some(1)));

    let out = bureau(&["--db", &db.url, "import", "gadgets", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kind: unknown 'gadgets'"));

    let out = bureau(&["--db", &db.url, "import", "customers", "/no/such/file.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.csv"));

    let out = bureau(&["--db", "mysql://x", "migrate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use sqlite://PATH or postgres://"));

    let out = bureau(&["--db", &db.url, "demo", "--no-serve", "--through", "2026-13"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("through"));

    std::fs::remove_dir_all(&dir)?;
    db.destroy().await
}
