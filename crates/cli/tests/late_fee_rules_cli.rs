//! An operator's late-fee parameter file (`--late-fee-rules FILE`, or `BUREAU_LATE_FEE_RULES`):
//! put in force for every command, checked before anything is done, refused with the file, the
//! field and the reason. Also the daily arrears pass time of `bureau serve`, checked the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BUILTIN: &str = include_str!("../../../data/late-fees/late-fees.toml");

fn bureau(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bureau"));
    cmd.args(args).env("BUREAU_LANG", "en").env("BUREAU_LOG", "warn").env_remove("BUREAU_LATE_FEE_RULES");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the bureau binary runs")
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bureau-late-fee-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// 100.00 yuan of a household's arrears due 10 March, paid 25 March: 15 days.
const QUOTE: [&str; 11] = [
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
];

fn fee(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["fee"].as_str().unwrap().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_operators_file_is_in_force_for_the_run() {
    // The built-in file: 1 ‰ a day, 15 days of 100.00 = 1.50.
    assert_eq!(fee(&bureau(&QUOTE, &[])), "1.50");
    // A province that charges households 2 ‰: 3.00, by flag or by environment.
    let doubled = BUILTIN.replace("residential_per_mille = \"1\"", "residential_per_mille = \"2\"");
    assert_ne!(doubled, BUILTIN);
    let path = temp_file("doubled.toml", &doubled);
    let p = path.to_str().unwrap();
    let mut args = vec!["--late-fee-rules", p];
    args.extend(QUOTE);
    assert_eq!(fee(&bureau(&args, &[])), "3.00");
    assert_eq!(fee(&bureau(&QUOTE, &[("BUREAU_LATE_FEE_RULES", p)])), "3.00");
    // The quote's own `--rules` still wins for that one quote.
    let builtin = temp_file("builtin.toml", BUILTIN);
    let mut args = vec!["--late-fee-rules", p];
    args.extend(QUOTE);
    args.extend(["--rules", builtin.to_str().unwrap()]);
    assert_eq!(fee(&bureau(&args, &[])), "1.50");
}

#[test]
fn a_bad_file_stops_every_command_before_it_starts() {
    let db_dir = std::env::temp_dir().join(format!("bureau-late-fee-db-{}", std::process::id()));
    std::fs::create_dir_all(&db_dir).unwrap();
    let db = db_dir.join("never.db");
    let db_url = format!("sqlite://{}", db.display());

    let negative = temp_file(
        "negative.toml",
        &BUILTIN.replace("residential_per_mille = \"1\"", "residential_per_mille = \"-1\""),
    );
    let missing = Path::new("/nonexistent/late-fees.toml");
    let broken = temp_file("broken.toml", "versions = [");
    for (file, field) in
        [(negative.as_path(), "residential_per_mille"), (missing, ""), (broken.as_path(), "")]
    {
        let f = file.to_str().unwrap();
        // `bureau serve` refuses to start: exit 2, the file and the field named, no database opened.
        let out = bureau(&["--db", &db_url, "serve", "--listen", "127.0.0.1:0", "--late-fee-rules", f], &[]);
        assert_eq!(out.status.code(), Some(2), "{f}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(f), "the file is named: {err}");
        assert!(err.contains(field), "the field is named: {err}");
        assert!(!db.exists(), "nothing was opened");
        // So does any other command.
        let mut args = vec!["--late-fee-rules", f];
        args.extend(QUOTE);
        let out = bureau(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{f}: {}", stderr(&out));
    }
    // In Chinese too.
    let mut args = vec!["--lang", "zh", "--late-fee-rules", negative.to_str().unwrap()];
    args.extend(QUOTE);
    let out = bureau(&args, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("residential_per_mille") && !err.is_ascii(), "{err}");
}

#[test]
fn the_arrears_pass_time_is_checked_before_serving() {
    let db = std::env::temp_dir().join(format!("bureau-pass-at-{}.db", std::process::id()));
    let db_url = format!("sqlite://{}", db.display());
    for bad in ["25:00", "8", "noon"] {
        let out =
            bureau(&["--db", &db_url, "serve", "--listen", "127.0.0.1:0", "--arrears-pass-at", bad], &[]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("arrears_pass_at") && err.contains(bad), "{err}");
        let out = bureau(
            &["--db", &db_url, "serve", "--listen", "127.0.0.1:0"],
            &[("BUREAU_ARREARS_PASS_AT", bad)],
        );
        assert_eq!(out.status.code(), Some(2), "{bad} from the environment: {}", stderr(&out));
    }
    assert!(!db.exists(), "nothing was opened");
}
