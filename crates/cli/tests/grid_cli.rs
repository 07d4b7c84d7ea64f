//! The `bureau` program's grid commands, run as a user would run them.

use std::process::Command;

fn bureau() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bureau"))
}

fn example() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/grid-examples/two-feeders").into()
}

#[test]
fn predict_prints_the_json_of_the_issue() {
    let out = bureau().args(["reliability", "predict", "--model", &example(), "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["asai", "caidi", "ens_mwh", "load_points", "saidi", "saifi"]);
    let lp1 = &v["load_points"]["LP1"];
    // LP1 (hand-worked in crates/grid/tests/relrad.rs): λ = 0.71 /yr.
    assert!((lp1["lambda"].as_f64().unwrap() - 0.71).abs() < 1e-9, "{lp1}");
    assert_eq!(v["load_points"].as_object().unwrap().len(), 5);
}

#[test]
fn what_if_removing_the_tie_worsens_saidi_and_bad_input_names_the_field() {
    let out = bureau()
        .args(["reliability", "predict", "--model", &example(), "--json", "--remove", "T1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["d_saidi"].as_f64().unwrap() > 0.0, "without the tie feeder 1's far end waits for repairs");
    assert_eq!(v["d_saifi"].as_f64().unwrap(), 0.0);

    let out = bureau()
        .args(["--lang", "en", "reliability", "predict", "--model", &example(), "--add-switch", "fuse,L2,2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add-switch: fraction '2'"));

    let out = bureau()
        .args(["reliability", "predict", "--model", &example(), "--remove", "NOPE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOPE"));
}

#[test]
fn a_bad_model_is_refused_naming_the_element() {
    let dir = std::env::temp_dir().join(format!("bureau_badmodel_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("nodes.csv"),
        "id,kind,name,customers,avg_kw,peak_kw\nS,source,,0,0,0\nL,load,,5,1,1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("branches.csv"),
        "id,from,to,kind,normal_open,length_km,failure_rate,repair_h\nX1,S,L,line,false,1,-0.1,4\nX2,S,Q,wire,false,1,0.1,4\n",
    )
    .unwrap();
    let out = bureau().args(["reliability", "predict", "--model", dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("X1") && err.contains("failure_rate"), "{err}");
    assert!(err.contains("X2") && err.contains("wire"), "{err}");
    assert!(err.contains("'Q'"), "dangling branch end: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_demo_grid_exports_to_csv_and_cim_and_imports_back() -> anyhow::Result<()> {
    for db in bureau_store_tests::TestDb::each().await? {
        let mut opts = bureau_app::demo::DemoOptions::new(jiff::civil::date(2026, 11, 27));
        opts.customers = 400;
        bureau_app::demo::generate(&db.store, &opts).await?;
        let dir =
            std::env::temp_dir().join(format!("bureau_gx_{}_{}", std::process::id(), db.store.backend()));
        let xml = dir.join("grid.xml");
        let run = |args: &[&str]| bureau().arg("--db").arg(&db.url).args(args).output().unwrap();
        let out = run(&["grid", "export", "--dir", dir.to_str().unwrap(), "--cim", xml.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let from_csv = bureau_grid::csvio::read_dir(&dir)?;
        let (from_cim, report) = bureau_grid::cim::read(&std::fs::read_to_string(&xml)?, Default::default())?;
        assert!(report.rejected.is_empty());
        assert_eq!(from_csv.nodes(), from_cim.nodes());
        assert_eq!(from_csv.reliability(), from_cim.reliability());
        assert!(from_csv.branch("TIE-F01-F02").unwrap().normal_open);
        // Importing what was exported changes nothing, from either format.
        for args in [vec!["--dir", dir.to_str().unwrap()], vec!["--cim", xml.to_str().unwrap()]] {
            let out = run(&[&["grid", "import", "--json"][..], &args[..]].concat());
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
            assert_eq!(v["written"], 0, "{v}");
            assert_eq!(v["bureau"], "AP");
        }
        // params.toml is kept as dated data: in force from today unless --params-from says otherwise.
        std::fs::write(dir.join("params.toml"), "switching_h = 0.5\nhours_per_year = 8784.0\n")?;
        let out = run(&["grid", "import", "--dir", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(dir.join("params.toml"), "switching_h = 0.25\n")?;
        let out = run(&["grid", "import", "--dir", dir.to_str().unwrap(), "--params-from", "2099-01-01"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run(&["grid", "import", "--dir", dir.to_str().unwrap(), "--params-from", "2099-13-01"]);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("effective_from"));
        let stored = db.store.grid_params("AP").await?;
        assert_eq!(
            stored.iter().map(|r| (r.effective_from.len(), r.switching_h)).collect::<Vec<_>>(),
            [(10, 0.5), (10, 0.25)]
        );
        assert_eq!(stored[1].effective_from, "2099-01-01");
        let again = dir.join("again");
        let out = run(&["grid", "export", "--bureau", "AP", "--dir", again.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let p = bureau_grid::csvio::read_dir(&again)?.params();
        assert_eq!((p.switching_h, p.hours_per_year), (0.5, 8784.0), "the set in force today");
        std::fs::remove_dir_all(&dir)?;
        db.destroy().await?;
    }
    Ok(())
}
