//! `bureau grid ...` (the model in the database, to and from CSV folders and CIM RDF/XML) and
//! `bureau reliability predict` (RELRAD on a CSV model, with a what-if mode).

use crate::Failure;
use anyhow::Context;
use bureau_app::access::Actor;
use bureau_domain::i18n::Lang;
use bureau_grid::relrad::Change;
use bureau_grid::{csvio, Branch, BranchKind, Network, Params};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum GridCmd {
    /// Imports a grid model into the database: a CSV folder (nodes.csv, branches.csv, params.toml)
    /// or a CIM (CDPSM) RDF/XML file.
    Import {
        /// The CSV folder.
        #[arg(long, conflicts_with = "cim", required_unless_present = "cim")]
        dir: Option<String>,
        /// A CIM RDF/XML file instead.
        #[arg(long)]
        cim: Option<String>,
        /// The bureau that owns the model (default: the only county bureau in the database).
        #[arg(long)]
        bureau: Option<String>,
        /// The date from which the folder's params.toml is in force (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        params_from: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Exports the grid model from the database to a CSV folder and/or a CIM RDF/XML file.
    Export {
        #[arg(long, required_unless_present = "cim")]
        dir: Option<String>,
        #[arg(long)]
        cim: Option<String>,
        /// Only this bureau's model (default: every bureau).
        #[arg(long)]
        bureau: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ReliabilityCmd {
    /// Predicts λ, U, r per load point and SAIFI, SAIDI, CAIDI, ASAI, ENS (RELRAD) for a CSV model.
    /// With --add-tie, --add-switch or --remove, compares the indices before and after the change.
    Predict {
        /// The CSV model folder (nodes.csv, branches.csv, optional params.toml).
        #[arg(long)]
        model: String,
        /// Print JSON: {"saifi","saidi","caidi","asai","ens_mwh","load_points":{id:{"lambda","u","r"}}},
        /// or {"before","after","d_saifi","d_saidi","d_ens_mwh"} in what-if mode.
        #[arg(long)]
        json: bool,
        /// What if a normally-open tie switch were added: ID,FROM,TO (a load-break switch).
        #[arg(long, value_name = "ID,FROM,TO")]
        add_tie: Option<String>,
        /// What if a switching device were inserted in a line: KIND,LINE,FRACTION (e.g.
        /// disconnector,L2,0.5); the new buses are named after the line.
        #[arg(long, value_name = "KIND,LINE,FRACTION")]
        add_switch: Option<String>,
        /// What if a branch (a tie, a disconnector) were removed: its ID.
        #[arg(long, value_name = "ID")]
        remove: Option<String>,
    },
}

/// Prints a document; a closed pipe (e.g. `| head`) is not an error.
fn emit(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn zh(lang: Lang) -> bool {
    lang == Lang::Zh
}

fn read_model(dir: &str) -> Result<Network, Failure> {
    csvio::read_dir(dir).map_err(|e| match e {
        csvio::ImportError::Model(m) => Failure::Input(m.to_string()),
        other => Failure::Other(anyhow::anyhow!("{dir}/{other}")),
    })
}

fn parse_change(
    add_tie: Option<String>,
    add_switch: Option<String>,
    remove: Option<String>,
) -> Result<Option<Change>, Failure> {
    let given = add_tie.is_some() as u8 + add_switch.is_some() as u8 + remove.is_some() as u8;
    if given > 1 {
        return Err(Failure::Input(
            "what-if: give one of --add-tie, --add-switch, --remove / 每次只能比较一种变化".into(),
        ));
    }
    if let Some(s) = add_tie {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [id, from, to] = parts[..] else {
            return Err(Failure::Input(format!("add-tie: '{s}' should be ID,FROM,TO / 应为 编号,起点,终点")));
        };
        let mut b = Branch::new(id, from, to, BranchKind::LoadBreakSwitch);
        b.normal_open = true;
        b.open = true;
        return Ok(Some(Change::Add(b)));
    }
    if let Some(s) = add_switch {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [kind, line, fraction] = parts[..] else {
            return Err(Failure::Input(format!(
                "add-switch: '{s}' should be KIND,LINE,FRACTION / 应为 类型,线路,位置比例"
            )));
        };
        let kind = BranchKind::parse(kind).filter(|k| k.is_switch()).ok_or_else(|| {
            Failure::Input(format!("add-switch: '{kind}' is not a switching device / 不是开关设备类型"))
        })?;
        let fraction: f64 =
            fraction.parse().ok().filter(|f: &f64| (0.0..=1.0).contains(f)).ok_or_else(|| {
                Failure::Input(format!(
                    "add-switch: fraction '{fraction}' should be between 0 and 1 / 位置比例应在0到1之间"
                ))
            })?;
        let device = Branch::new(format!("{line}-NEW-{}", kind.code()), "", "", kind);
        return Ok(Some(Change::InsertSwitch {
            line: line.into(),
            fraction,
            bus: format!("{line}-NEWBUS"),
            device,
        }));
    }
    Ok(remove.map(Change::Remove))
}

pub fn reliability(cmd: ReliabilityCmd, lang: Lang) -> Result<ExitCode, Failure> {
    let ReliabilityCmd::Predict { model, json, add_tie, add_switch, remove } = cmd;
    let net = read_model(&model)?;
    if let Some(change) = parse_change(add_tie, add_switch, remove)? {
        let w = net.what_if(&change).map_err(|e| Failure::Input(e.to_string()))?;
        if json {
            emit(&serde_json::to_string_pretty(&w).context("JSON")?);
        } else {
            let h = if zh(lang) {
                ["指标", "变化前", "变化后", "差"]
            } else {
                ["index", "before", "after", "change"]
            };
            println!("{:<10} {:>12} {:>12} {:>12}", h[0], h[1], h[2], h[3]);
            for (name, b, a) in [
                ("SAIFI", w.before.saifi, w.after.saifi),
                ("SAIDI h", w.before.saidi, w.after.saidi),
                ("CAIDI h", w.before.caidi, w.after.caidi),
                ("ASAI", w.before.asai, w.after.asai),
                ("ENS MWh", w.before.ens_mwh, w.after.ens_mwh),
            ] {
                println!("{name:<10} {b:>12.6} {a:>12.6} {:>+12.6}", a - b);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let r = net.reliability();
    if json {
        emit(&serde_json::to_string_pretty(&r).context("JSON")?);
    } else {
        let h = if zh(lang) {
            ["负荷点", "λ (次/年)", "U (小时/年)", "r (小时)"]
        } else {
            ["load point", "λ (1/yr)", "U (h/yr)", "r (h)"]
        };
        println!("{:<16} {:>12} {:>12} {:>10}", h[0], h[1], h[2], h[3]);
        for (id, lp) in &r.load_points {
            println!("{id:<16} {:>12.4} {:>12.4} {:>10.3}", lp.lambda, lp.u, lp.r);
        }
        println!(
            "SAIFI {:.4} /yr · SAIDI {:.4} h/yr · CAIDI {:.3} h · ASAI {:.6} · ENS {:.3} MWh/yr",
            r.saifi, r.saidi, r.caidi, r.asai, r.ens_mwh
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The bureau to import into: the one named, or the only county bureau of the database.
async fn pick_bureau(store: &bureau_store::DynStore, given: Option<String>) -> Result<String, Failure> {
    if let Some(b) = given {
        return Ok(b);
    }
    let units = store.list_org_units().await.context("reading the organisation")?;
    let counties: Vec<_> = units
        .iter()
        .filter(|u| u.level == bureau_domain::org::OrgLevel::County)
        .map(|u| u.id.clone())
        .collect();
    match counties.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Failure::Input(
            "bureau: name the bureau that owns the model with --bureau / 请用 --bureau 指定供电单位".into(),
        )),
    }
}

pub async fn grid(cmd: GridCmd, db: &str, lang: Lang) -> Result<ExitCode, Failure> {
    let store = crate::open(db).await?;
    let actor = Actor::system();
    match cmd {
        GridCmd::Import { dir, cim, bureau, params_from, json } => {
            let bureau = pick_bureau(&store, bureau).await?;
            if let Some(d) = params_from.as_deref().filter(|d| d.parse::<jiff::civil::Date>().is_err()) {
                return Err(Failure::Input(format!(
                    "effective_from: --params-from {d} is not a date YYYY-MM-DD / 日期无效，应为YYYY-MM-DD"
                )));
            }
            // A folder's params.toml is kept as dated data (in force from --params-from or today).
            let params_file =
                dir.as_ref().map(|d| std::path::Path::new(d).join("params.toml")).filter(|p| p.exists());
            let (net, report) = match (dir, cim) {
                (Some(dir), _) => (read_model(&dir)?, None),
                (None, Some(file)) => {
                    let xml = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
                    match bureau_grid::cim::read(&xml, Params::default()) {
                        Ok((net, report)) => (net, Some(report)),
                        Err(bureau_grid::cim::CimError::Model { errors, report }) => {
                            for l in report.rejected_lines(zh(lang)) {
                                eprintln!("{file}: {l}");
                            }
                            return Err(Failure::Input(errors.to_string()));
                        }
                        Err(e) => return Err(Failure::Input(format!("{file}: {e}"))),
                    }
                }
                (None, None) => return Err(Failure::Input("dir: give --dir or --cim".into())),
            };
            let counts = bureau_app::grid::save(&store, &actor, &bureau, &net)
                .await
                .map_err(|e| crate::app_failure(e, lang))?;
            if let Some(file) = &params_file {
                let from = params_from.unwrap_or_else(bureau_app::grid::limits::today);
                let source = file.display().to_string();
                let now = bureau_app::grid::ops::now();
                bureau_app::grid::limits::save_params(
                    &store,
                    &actor,
                    &bureau,
                    &net.params(),
                    &from,
                    &source,
                    now,
                )
                .await
                .map_err(|e| crate::app_failure(e, lang))?;
            }
            let rejected = report.as_ref().map_or(0, |r| r.rejected.len());
            if json {
                let v = serde_json::json!({
                    "bureau": bureau, "nodes": net.nodes().len(), "branches": net.branches().len(),
                    "written": counts.written, "unchanged": counts.unchanged, "cim": report,
                });
                println!("{}", serde_json::to_string_pretty(&v).context("JSON")?);
            } else {
                if let Some(r) = &report {
                    for l in r.rejected_lines(zh(lang)) {
                        eprintln!("{l}");
                    }
                }
                println!(
                    "{bureau}: {} nodes, {} branches: {} written, {} unchanged{}",
                    net.nodes().len(),
                    net.branches().len(),
                    counts.written,
                    counts.unchanged,
                    if rejected > 0 { format!("; {rejected} CIM elements rejected") } else { String::new() }
                );
            }
            Ok(if rejected > 0 { ExitCode::from(3) } else { ExitCode::SUCCESS })
        }
        GridCmd::Export { dir, cim, bureau } => {
            let scope = match bureau {
                Some(b) => bureau_store::Scope::Bureaus(vec![b]),
                None => bureau_store::Scope::All,
            };
            let net =
                bureau_app::grid::load(&store, &scope).await.map_err(|e| crate::app_failure(e, lang))?;
            if let Some(dir) = &dir {
                csvio::write_dir(&net, dir).with_context(|| format!("writing {dir}"))?;
            }
            if let Some(file) = &cim {
                std::fs::write(file, bureau_grid::cim::write(&net))
                    .with_context(|| format!("writing {file}"))?;
            }
            println!(
                "{} nodes, {} branches → {}",
                net.nodes().len(),
                net.branches().len(),
                [dir, cim].into_iter().flatten().collect::<Vec<_>>().join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
