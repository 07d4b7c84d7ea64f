//! The CSV folder format of the grid model.
//!
//! * `nodes.csv`: `id,kind,name,customers,avg_kw,peak_kw`
//! * `branches.csv`: `id,from,to,kind,normal_open,length_km,failure_rate,repair_h`, plus an optional
//!   `open` column for the current state (written only when some device is not in its normal state).
//! * `params.toml` (optional): `switching_h = 1.0`, `hours_per_year = 8760.0`.
//!
//! Columns may come in any order; empty numeric cells mean 0; `kind` takes the code, the English or the
//! Chinese name; booleans take `true/false/1/0/yes/no/是/否`. Every bad cell is reported with its file,
//! line, element id and field.

use std::io::{Read, Write};
use std::path::Path;

use crate::model::{
    Branch, BranchKind, Locations, ModelError, ModelErrors, Network, Node, NodeKind, Params, Reason,
};

pub const NODES_FILE: &str = "nodes.csv";
pub const BRANCHES_FILE: &str = "branches.csv";
pub const PARAMS_FILE: &str = "params.toml";

pub const NODE_COLUMNS: [&str; 6] = ["id", "kind", "name", "customers", "avg_kw", "peak_kw"];
pub const BRANCH_COLUMNS: [&str; 8] =
    ["id", "from", "to", "kind", "normal_open", "length_km", "failure_rate", "repair_h"];

/// Error of reading or writing a model folder.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{0}")]
    Model(#[from] ModelErrors),
}

/// Reads a model folder (`nodes.csv`, `branches.csv`, optional `params.toml`) and validates it.
pub fn read_dir(dir: impl AsRef<Path>) -> Result<Network, ImportError> {
    let dir = dir.as_ref();
    let open = |name: &str| {
        std::fs::File::open(dir.join(name)).map_err(|e| ImportError::Io { file: name.into(), source: e })
    };
    let nodes = open(NODES_FILE)?;
    let branches = open(BRANCHES_FILE)?;
    let params = match std::fs::read_to_string(dir.join(PARAMS_FILE)) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ImportError::Io { file: PARAMS_FILE.into(), source: e }),
    };
    read(nodes, branches, params.as_deref())
}

/// Reads a model from two CSV readers and the optional text of `params.toml`.
pub fn read(
    nodes: impl Read,
    branches: impl Read,
    params_toml: Option<&str>,
) -> Result<Network, ImportError> {
    let mut errors = Vec::new();
    let params = match params_toml {
        None => Params::default(),
        Some(text) => match toml::from_str::<Params>(text) {
            Ok(p) => p,
            Err(e) => {
                errors.push(ModelError {
                    file: PARAMS_FILE.into(),
                    line: None,
                    id: String::new(),
                    field: String::new(),
                    reason: Reason::Syntax(e.message().to_string()),
                });
                Params::default()
            }
        },
    };
    let (nodes, node_lines) = read_nodes(nodes, &mut errors);
    let (branches, branch_lines) = read_branches(branches, &mut errors);
    let locs = Locations {
        nodes_file: NODES_FILE,
        branches_file: BRANCHES_FILE,
        node_lines: Some(&node_lines),
        branch_lines: Some(&branch_lines),
    };
    Ok(Network::build(nodes, branches, params, &locs, errors)?)
}

/// A CSV table being read: header positions and the error sink.
struct Table<'e> {
    file: &'static str,
    cols: Vec<Option<usize>>,
    errors: &'e mut Vec<ModelError>,
}

impl Table<'_> {
    fn err(&mut self, line: u64, id: &str, field: &str, reason: Reason) {
        self.errors.push(ModelError {
            file: self.file.into(),
            line: Some(line),
            id: id.into(),
            field: field.into(),
            reason,
        });
    }

    fn cell<'r>(&self, rec: &'r csv::StringRecord, col: usize) -> &'r str {
        self.cols[col].and_then(|i| rec.get(i)).unwrap_or("").trim()
    }

    fn num(&mut self, rec: &csv::StringRecord, col: usize, name: &str, line: u64, id: &str) -> f64 {
        let s = self.cell(rec, col).to_string();
        if s.is_empty() {
            return 0.0;
        }
        match s.parse::<f64>() {
            Ok(v) => v,
            Err(_) => {
                self.err(line, id, name, Reason::InvalidNumber(s));
                0.0
            }
        }
    }
}

fn open_table<'e, R: Read>(
    input: R,
    file: &'static str,
    columns: &[&str],
    optional: &[&str],
    errors: &'e mut Vec<ModelError>,
) -> Option<(csv::Reader<R>, Table<'e>)> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(input);
    let header = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errors.push(ModelError {
                file: file.into(),
                line: Some(1),
                id: String::new(),
                field: String::new(),
                reason: Reason::Syntax(e.to_string()),
            });
            return None;
        }
    };
    let find = |name: &str| header.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name);
    let mut cols = Vec::new();
    let mut missing = false;
    for &c in columns {
        let p = find(c);
        if p.is_none() {
            missing = true;
            errors.push(ModelError {
                file: file.into(),
                line: Some(1),
                id: String::new(),
                field: c.into(),
                reason: Reason::MissingColumn,
            });
        }
        cols.push(p);
    }
    for &c in optional {
        cols.push(find(c));
    }
    if missing {
        return None;
    }
    Some((rdr, Table { file, cols, errors }))
}

fn read_nodes(input: impl Read, errors: &mut Vec<ModelError>) -> (Vec<Node>, Vec<u64>) {
    let mut nodes = Vec::new();
    let mut lines = Vec::new();
    let Some((mut rdr, mut t)) = open_table(input, NODES_FILE, &NODE_COLUMNS, &[], errors) else {
        return (nodes, lines);
    };
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                t.err(line, "", "", Reason::Syntax(e.to_string()));
                continue;
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let id = t.cell(&rec, 0).to_string();
        let kind_s = t.cell(&rec, 1).to_string();
        let kind = match NodeKind::parse(&kind_s) {
            Some(k) => k,
            None => {
                let r = if kind_s.is_empty() { Reason::Missing } else { Reason::UnknownKind(kind_s) };
                t.err(line, &id, "kind", r);
                NodeKind::Bus
            }
        };
        let name = t.cell(&rec, 2).to_string();
        let cust_s = t.cell(&rec, 3).to_string();
        let customers = if cust_s.is_empty() {
            0
        } else {
            match cust_s.parse::<u32>() {
                Ok(v) => v,
                Err(_) => {
                    let r = match cust_s.parse::<f64>() {
                        Ok(v) if v < 0.0 => Reason::Negative(v),
                        _ => Reason::InvalidNumber(cust_s),
                    };
                    t.err(line, &id, "customers", r);
                    0
                }
            }
        };
        let avg_kw = t.num(&rec, 4, "avg_kw", line, &id);
        let peak_kw = t.num(&rec, 5, "peak_kw", line, &id);
        nodes.push(Node { id, kind, name, customers, avg_kw, peak_kw });
        lines.push(line);
    }
    (nodes, lines)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" | "n" | "f" | "否" => Some(false),
        "true" | "1" | "yes" | "y" | "t" | "是" => Some(true),
        _ => None,
    }
}

fn read_branches(input: impl Read, errors: &mut Vec<ModelError>) -> (Vec<Branch>, Vec<u64>) {
    let mut branches = Vec::new();
    let mut lines = Vec::new();
    let Some((mut rdr, mut t)) = open_table(input, BRANCHES_FILE, &BRANCH_COLUMNS, &["open"], errors) else {
        return (branches, lines);
    };
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                t.err(line, "", "", Reason::Syntax(e.to_string()));
                continue;
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let id = t.cell(&rec, 0).to_string();
        let from = t.cell(&rec, 1).to_string();
        let to = t.cell(&rec, 2).to_string();
        let kind_s = t.cell(&rec, 3).to_string();
        let kind = match BranchKind::parse(&kind_s) {
            Some(k) => k,
            None => {
                let r = if kind_s.is_empty() { Reason::Missing } else { Reason::UnknownKind(kind_s) };
                t.err(line, &id, "kind", r);
                BranchKind::Line
            }
        };
        let boolean = |t: &mut Table<'_>, col: usize, name: &str| -> Option<bool> {
            let s = t.cell(&rec, col).to_string();
            let v = parse_bool(&s);
            if v.is_none() {
                t.err(line, &id, name, Reason::InvalidBool(s));
            }
            v
        };
        let normal_open = boolean(&mut t, 4, "normal_open").unwrap_or(false);
        let open = if t.cols[8].is_some() && !t.cell(&rec, 8).is_empty() {
            boolean(&mut t, 8, "open").unwrap_or(normal_open)
        } else {
            normal_open
        };
        let length_km = t.num(&rec, 5, "length_km", line, &id);
        let failure_rate = t.num(&rec, 6, "failure_rate", line, &id);
        let repair_h = t.num(&rec, 7, "repair_h", line, &id);
        branches.push(Branch { id, from, to, kind, normal_open, open, length_km, failure_rate, repair_h });
        lines.push(line);
    }
    (branches, lines)
}

fn csv_err(file: &str, e: csv::Error) -> ImportError {
    ImportError::Io { file: file.into(), source: std::io::Error::other(e) }
}

/// Writes `nodes.csv`.
pub fn write_nodes(net: &Network, out: impl Write) -> Result<(), ImportError> {
    let mut w = csv::Writer::from_writer(out);
    let e = |e| csv_err(NODES_FILE, e);
    w.write_record(NODE_COLUMNS).map_err(e)?;
    for n in net.nodes() {
        w.write_record([
            n.id.as_str(),
            n.kind.code(),
            n.name.as_str(),
            &n.customers.to_string(),
            &n.avg_kw.to_string(),
            &n.peak_kw.to_string(),
        ])
        .map_err(e)?;
    }
    w.flush().map_err(|e| ImportError::Io { file: NODES_FILE.into(), source: e })
}

/// Writes `branches.csv` (with the `open` column only if some device is not in its normal state).
pub fn write_branches(net: &Network, out: impl Write) -> Result<(), ImportError> {
    let with_open = net.branches().iter().any(|b| b.open != b.normal_open);
    let mut w = csv::Writer::from_writer(out);
    let e = |e| csv_err(BRANCHES_FILE, e);
    let mut header: Vec<&str> = BRANCH_COLUMNS.to_vec();
    if with_open {
        header.push("open");
    }
    w.write_record(&header).map_err(e)?;
    for b in net.branches() {
        let mut row = vec![
            b.id.clone(),
            b.from.clone(),
            b.to.clone(),
            b.kind.code().to_string(),
            b.normal_open.to_string(),
            b.length_km.to_string(),
            b.failure_rate.to_string(),
            b.repair_h.to_string(),
        ];
        if with_open {
            row.push(b.open.to_string());
        }
        w.write_record(&row).map_err(e)?;
    }
    w.flush().map_err(|e| ImportError::Io { file: BRANCHES_FILE.into(), source: e })
}

/// The text of `params.toml`.
pub fn params_toml(params: &Params) -> String {
    format!("switching_h = {:?}\nhours_per_year = {:?}\n", params.switching_h, params.hours_per_year)
}

/// Writes the three files into `dir` (created if missing).
pub fn write_dir(net: &Network, dir: impl AsRef<Path>) -> Result<(), ImportError> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir)
        .map_err(|e| ImportError::Io { file: dir.display().to_string(), source: e })?;
    let create = |name: &str| {
        std::fs::File::create(dir.join(name)).map_err(|e| ImportError::Io { file: name.into(), source: e })
    };
    write_nodes(net, std::io::BufWriter::new(create(NODES_FILE)?))?;
    write_branches(net, std::io::BufWriter::new(create(BRANCHES_FILE)?))?;
    std::fs::write(dir.join(PARAMS_FILE), params_toml(&net.params()))
        .map_err(|e| ImportError::Io { file: PARAMS_FILE.into(), source: e })
}
