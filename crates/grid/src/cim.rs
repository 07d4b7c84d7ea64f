//! IEC 61968-13 CIM (CDPSM) RDF/XML: the classes that matter for a radial distribution model.
//!
//! Read: `ConnectivityNode`, `Terminal` (with `Terminal.ConductingEquipment`,
//! `Terminal.ConnectivityNode`, `ACDCTerminal.sequenceNumber`), `ACLineSegment` (`Conductor.length`
//! in metres), `Breaker`, `Recloser`, `Fuse`, `Disconnector`, `LoadBreakSwitch` (`Switch.normalOpen`,
//! `Switch.open`), `PowerTransformer`, `EnergyConsumer` (`EnergyConsumer.customerCount`,
//! `EnergyConsumer.p` in W) and `EnergySource`. Every other class is counted as skipped. A node of the
//! model is a connectivity node: it is a source when an `EnergySource` stands on it, a load point when
//! an `EnergyConsumer` does, a bus otherwise. A two-terminal equipment is a branch from its first to
//! its second terminal's node.
//!
//! Reliability data and demand have no standard CDPSM attribute; they travel in the `bureau:`
//! namespace (`bureau:Equipment.failureRate`, `bureau:Equipment.repairHours`,
//! `bureau:EnergyConsumer.avgKw`, `bureau:EnergyConsumer.peakKw`) and default to 0 when absent.
//!
//! Every element that cannot be used is reported with its id, class and the reason
//! ([`CimReport::rejected`]); the model built from the rest is validated as any other.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::Serialize;

use crate::model::{Branch, BranchKind, Locations, ModelErrors, Network, Node, NodeKind, Params};

pub const CIM_NS: &str = "http://iec.ch/TC57/CIM100#";
pub const BUREAU_NS: &str = "urn:bureau:grid#";
const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// An element of the file that was not used, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub id: String,
    pub class: String,
    pub reason_en: String,
    pub reason_zh: String,
}

/// What an import used and what it could not.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CimReport {
    pub nodes: usize,
    pub branches: usize,
    pub rejected: Vec<Rejected>,
    /// Elements of classes outside the profile subset, by class (e.g. `BaseVoltage`).
    pub skipped: BTreeMap<String, usize>,
}

/// Why a CIM file could not be read at all, or gave an invalid model.
#[derive(Debug, thiserror::Error)]
pub enum CimError {
    #[error("CIM XML is malformed at byte {position}: {message} / CIM XML 格式错误（第 {position} 字节）：{message}")]
    Xml { position: u64, message: String },
    #[error("{errors}")]
    Model { errors: ModelErrors, report: CimReport },
}

/// One RDF object: its class (local name), id and properties (local name → value or resource).
#[derive(Debug, Default)]
struct Object {
    class: String,
    id: String,
    props: HashMap<String, String>,
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

/// A reference `#abc` or `urn:uuid:abc` names the object whose `rdf:ID` (or `rdf:about`) is `abc`.
fn norm_ref(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix('#').unwrap_or(s);
    let s = s.strip_prefix("urn:uuid:").unwrap_or(s);
    s.to_string()
}

fn attr(e: &BytesStart<'_>, wanted: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        if key == wanted || key.ends_with(&format!(":{wanted}")) {
            a.unescape_value().ok().map(|v| v.into_owned())
        } else {
            None
        }
    })
}

fn parse_objects(xml: &str) -> Result<Vec<Object>, CimError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut objects = Vec::new();
    // Depth 1 = rdf:RDF, 2 = an object, 3 = a property.
    let mut depth = 0usize;
    let mut current: Option<Object> = None;
    let mut prop: Option<String> = None;
    let xml_err = |reader: &Reader<&[u8]>, e: quick_xml::Error| CimError::Xml {
        position: reader.buffer_position(),
        message: e.to_string(),
    };
    loop {
        let ev = reader.read_event().map_err(|e| xml_err(&reader, e))?;
        match ev {
            Event::Start(e) if depth == 1 => {
                current = Some(object_of(&e));
                depth = 2;
            }
            Event::Empty(e) if depth == 1 => objects.push(object_of(&e)),
            Event::Start(_) if depth == 0 => depth = 1,
            Event::Start(e) if depth == 2 => {
                prop = Some(local(e.name().as_ref()));
                if let (Some(o), Some(r)) = (current.as_mut(), attr(&e, "resource")) {
                    o.props.insert(local(e.name().as_ref()), norm_ref(&r));
                }
                depth = 3;
            }
            Event::Empty(e) if depth == 2 => {
                if let (Some(o), Some(r)) = (current.as_mut(), attr(&e, "resource")) {
                    o.props.insert(local(e.name().as_ref()), norm_ref(&r));
                }
            }
            Event::Start(_) => depth += 1,
            Event::Text(t) if depth == 3 => {
                let text = t.unescape().map_err(|e| xml_err(&reader, e))?.into_owned();
                if let (Some(o), Some(p)) = (current.as_mut(), prop.as_ref()) {
                    o.props.insert(p.clone(), text);
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    if let Some(o) = current.take() {
                        objects.push(o);
                    }
                }
                if depth == 3 {
                    prop = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(objects)
}

fn object_of(e: &BytesStart<'_>) -> Object {
    let id = attr(e, "ID").or_else(|| attr(e, "about")).map(|s| norm_ref(&s)).unwrap_or_default();
    Object { class: local(e.name().as_ref()), id, props: HashMap::new() }
}

fn branch_kind(class: &str) -> Option<BranchKind> {
    Some(match class {
        "ACLineSegment" => BranchKind::Line,
        "PowerTransformer" => BranchKind::Transformer,
        "Breaker" => BranchKind::Breaker,
        "Recloser" => BranchKind::Recloser,
        "Fuse" => BranchKind::Fuse,
        "Disconnector" => BranchKind::Disconnector,
        "LoadBreakSwitch" => BranchKind::LoadBreakSwitch,
        _ => return None,
    })
}

fn cim_class(kind: BranchKind) -> &'static str {
    match kind {
        BranchKind::Line => "ACLineSegment",
        BranchKind::Transformer => "PowerTransformer",
        BranchKind::Breaker => "Breaker",
        BranchKind::Recloser => "Recloser",
        BranchKind::Fuse => "Fuse",
        BranchKind::Disconnector => "Disconnector",
        BranchKind::LoadBreakSwitch => "LoadBreakSwitch",
    }
}

/// Reads a CIM RDF/XML document into a validated network and the report of what was used.
pub fn read(xml: &str, params: Params) -> Result<(Network, CimReport), CimError> {
    let objects = parse_objects(xml)?;
    let mut report = CimReport::default();
    let reject = |report: &mut CimReport, o: &Object, en: String, zh: String| {
        report.rejected.push(Rejected {
            id: o.id.clone(),
            class: o.class.clone(),
            reason_en: en,
            reason_zh: zh,
        });
    };
    let name_of = |o: &Object| o.props.get("IdentifiedObject.name").cloned().unwrap_or_default();
    // The model id of an object: its mRID when given, else its RDF id.
    let mrid = |o: &Object| {
        o.props
            .get("IdentifiedObject.mRID")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| o.id.clone())
    };

    let mut cns: Vec<&Object> = Vec::new();
    let mut cn_by_rdf: HashMap<&str, usize> = HashMap::new();
    let mut equipment: HashMap<&str, &Object> = HashMap::new();
    let mut terminals: Vec<&Object> = Vec::new();
    for o in &objects {
        if o.id.is_empty() {
            reject(
                &mut report,
                o,
                "element has no rdf:ID or rdf:about".into(),
                "元素缺少 rdf:ID 或 rdf:about".into(),
            );
            continue;
        }
        match o.class.as_str() {
            "ConnectivityNode" => {
                if cn_by_rdf.contains_key(o.id.as_str()) {
                    reject(&mut report, o, "duplicate id".into(), "标识重复".into());
                } else {
                    cn_by_rdf.insert(&o.id, cns.len());
                    cns.push(o);
                }
            }
            "Terminal" => terminals.push(o),
            c if branch_kind(c).is_some() || c == "EnergyConsumer" || c == "EnergySource" => {
                if equipment.insert(&o.id, o).is_some() {
                    reject(&mut report, o, "duplicate id".into(), "标识重复".into());
                }
            }
            other => *report.skipped.entry(other.to_string()).or_insert(0) += 1,
        }
    }
    // Terminals of each equipment: (sequence number, node index).
    let mut ends: HashMap<&str, Vec<(i64, usize)>> = HashMap::new();
    for t in &terminals {
        let Some(eq) = t.props.get("Terminal.ConductingEquipment") else {
            reject(
                &mut report,
                t,
                "Terminal.ConductingEquipment is missing".into(),
                "缺少 Terminal.ConductingEquipment".into(),
            );
            continue;
        };
        let Some(cn) = t.props.get("Terminal.ConnectivityNode") else {
            reject(
                &mut report,
                t,
                "Terminal.ConnectivityNode is missing".into(),
                "缺少 Terminal.ConnectivityNode".into(),
            );
            continue;
        };
        let Some(&k) = cn_by_rdf.get(cn.as_str()) else {
            reject(
                &mut report,
                t,
                format!("Terminal.ConnectivityNode '{cn}' is not in the file"),
                format!("Terminal.ConnectivityNode“{cn}”在文件中不存在"),
            );
            continue;
        };
        let Some((&eq_id, _)) = equipment.get_key_value(eq.as_str()) else {
            // A terminal of equipment outside the subset (e.g. a capacitor) is not an error of its own.
            *report.skipped.entry("Terminal".into()).or_insert(0) += 1;
            continue;
        };
        let seq = match t
            .props
            .get("ACDCTerminal.sequenceNumber")
            .or_else(|| t.props.get("Terminal.sequenceNumber"))
        {
            None => 0,
            Some(s) => match s.trim().parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    reject(
                        &mut report,
                        t,
                        format!("sequenceNumber '{s}' is not a number"),
                        format!("sequenceNumber“{s}”不是数字"),
                    );
                    continue;
                }
            },
        };
        ends.entry(eq_id).or_default().push((seq, k));
    }

    let mut kind = vec![NodeKind::Bus; cns.len()];
    let mut customers = vec![0u32; cns.len()];
    let mut avg_kw = vec![0.0f64; cns.len()];
    let mut peak_kw = vec![0.0f64; cns.len()];
    let mut load_name: Vec<Option<String>> = vec![None; cns.len()];
    let mut branches = Vec::new();
    let num = |o: &Object, key: &str| -> Result<f64, (String, String)> {
        match o.props.get(key) {
            None => Ok(0.0),
            Some(s) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                Ok(v) => Err((
                    format!("{key} = {v} must be a finite number ≥ 0"),
                    format!("{key} = {v} 应为不小于0的有限数"),
                )),
                Err(_) => Err((format!("{key} = '{s}' is not a number"), format!("{key} =“{s}”不是数字"))),
            },
        }
    };
    let mut eq_sorted: Vec<&&Object> = equipment.values().collect();
    eq_sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for o in eq_sorted {
        let mut t = ends.remove(o.id.as_str()).unwrap_or_default();
        t.sort();
        match o.class.as_str() {
            "EnergySource" | "EnergyConsumer" => {
                if t.len() != 1 {
                    reject(
                        &mut report,
                        o,
                        format!("needs exactly one terminal, has {}", t.len()),
                        format!("应有且只有一个端子，实有 {} 个", t.len()),
                    );
                    continue;
                }
                let k = t[0].1;
                if o.class == "EnergySource" {
                    if kind[k] == NodeKind::Load {
                        reject(
                            &mut report,
                            o,
                            "its node already has an EnergyConsumer".into(),
                            "所在节点已有 EnergyConsumer".into(),
                        );
                        continue;
                    }
                    kind[k] = NodeKind::Source;
                    continue;
                }
                if kind[k] == NodeKind::Source {
                    reject(
                        &mut report,
                        o,
                        "its node already has an EnergySource".into(),
                        "所在节点已有 EnergySource".into(),
                    );
                    continue;
                }
                let cust = match o.props.get("EnergyConsumer.customerCount") {
                    None => 0,
                    Some(s) => match s.trim().parse::<u32>() {
                        Ok(v) => v,
                        Err(_) => {
                            reject(
                                &mut report,
                                o,
                                format!("EnergyConsumer.customerCount '{s}' is not a whole number ≥ 0"),
                                format!("EnergyConsumer.customerCount“{s}”不是非负整数"),
                            );
                            continue;
                        }
                    },
                };
                let (avg, peak) = match (
                    num(o, "EnergyConsumer.avgKw"),
                    num(o, "EnergyConsumer.peakKw"),
                    num(o, "EnergyConsumer.p"),
                ) {
                    (Ok(a), Ok(p), Ok(w)) => {
                        let a = if o.props.contains_key("EnergyConsumer.avgKw") { a } else { w / 1000.0 };
                        (a, if o.props.contains_key("EnergyConsumer.peakKw") { p } else { a })
                    }
                    (Err((en, zh)), _, _) | (_, Err((en, zh)), _) | (_, _, Err((en, zh))) => {
                        reject(&mut report, o, en, zh);
                        continue;
                    }
                };
                kind[k] = NodeKind::Load;
                customers[k] += cust;
                avg_kw[k] += avg;
                peak_kw[k] += peak;
                if load_name[k].is_none() {
                    load_name[k] = Some(name_of(o));
                }
            }
            class => {
                let bk = branch_kind(class).expect("filtered above");
                if t.len() != 2 {
                    reject(
                        &mut report,
                        o,
                        format!("needs two terminals, has {}", t.len()),
                        format!("应有两个端子，实有 {} 个", t.len()),
                    );
                    continue;
                }
                let length_m = match num(o, "Conductor.length") {
                    Ok(v) => v,
                    Err((en, zh)) => {
                        reject(&mut report, o, en, zh);
                        continue;
                    }
                };
                let (rate, repair) = match (num(o, "Equipment.failureRate"), num(o, "Equipment.repairHours"))
                {
                    (Ok(r), Ok(h)) => (r, h),
                    (Err((en, zh)), _) | (_, Err((en, zh))) => {
                        reject(&mut report, o, en, zh);
                        continue;
                    }
                };
                let boolean = |key: &str| -> Result<Option<bool>, (String, String)> {
                    match o.props.get(key).map(|s| s.trim().to_ascii_lowercase()) {
                        None => Ok(None),
                        Some(s) if s == "true" || s == "1" => Ok(Some(true)),
                        Some(s) if s == "false" || s == "0" => Ok(Some(false)),
                        Some(s) => Err((
                            format!("{key} = '{s}' is not true/false"),
                            format!("{key} =“{s}”不是 true/false"),
                        )),
                    }
                };
                let (normal_open, open) = match (boolean("Switch.normalOpen"), boolean("Switch.open")) {
                    (Ok(n), Ok(c)) => {
                        let n = n.unwrap_or(false);
                        (n, c.unwrap_or(n))
                    }
                    (Err((en, zh)), _) | (_, Err((en, zh))) => {
                        reject(&mut report, o, en, zh);
                        continue;
                    }
                };
                branches.push(Branch {
                    id: mrid(o),
                    from: mrid(cns[t[0].1]),
                    to: mrid(cns[t[1].1]),
                    kind: bk,
                    normal_open: bk.is_switch() && normal_open,
                    open: bk.is_switch() && open,
                    length_km: length_m / 1000.0,
                    failure_rate: rate,
                    repair_h: repair,
                });
            }
        }
    }
    let nodes: Vec<Node> = cns
        .iter()
        .enumerate()
        .map(|(k, o)| Node {
            id: mrid(o),
            kind: kind[k],
            name: load_name[k].clone().filter(|n| !n.is_empty()).unwrap_or_else(|| name_of(o)),
            customers: customers[k],
            avg_kw: avg_kw[k],
            peak_kw: peak_kw[k],
        })
        .collect();
    report.nodes = nodes.len();
    report.branches = branches.len();
    let locs = Locations {
        nodes_file: "nodes (CIM ConnectivityNode)",
        branches_file: "branches (CIM equipment)",
        node_lines: None,
        branch_lines: None,
    };
    match Network::build(nodes, branches, params, &locs, Vec::new()) {
        Ok(net) => Ok((net, report)),
        Err(errors) => Err(CimError::Model { errors, report }),
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes the network as CIM RDF/XML (the current switch states as `Switch.open`).
pub fn write(net: &Network) -> String {
    let mut x = String::with_capacity(net.nodes().len() * 600 + net.branches().len() * 900);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ =
        writeln!(x, "<rdf:RDF xmlns:rdf=\"{RDF_NS}\" xmlns:cim=\"{CIM_NS}\" xmlns:bureau=\"{BUREAU_NS}\">");
    let ident = |x: &mut String, id: &str, name: &str| {
        let _ = writeln!(x, "  <cim:IdentifiedObject.mRID>{}</cim:IdentifiedObject.mRID>", esc(id));
        let _ = writeln!(x, "  <cim:IdentifiedObject.name>{}</cim:IdentifiedObject.name>", esc(name));
    };
    let terminal = |x: &mut String, eq: &str, cn: &str, seq: u32| {
        let _ = writeln!(x, " <cim:Terminal rdf:ID=\"{}\">", esc(&format!("{eq}.T{seq}")));
        let _ = writeln!(x, "  <cim:ACDCTerminal.sequenceNumber>{seq}</cim:ACDCTerminal.sequenceNumber>");
        let _ = writeln!(x, "  <cim:Terminal.ConductingEquipment rdf:resource=\"#{}\"/>", esc(eq));
        let _ = writeln!(x, "  <cim:Terminal.ConnectivityNode rdf:resource=\"#{}\"/>", esc(cn));
        x.push_str(" </cim:Terminal>\n");
    };
    for n in net.nodes() {
        let cn = format!("CN.{}", n.id);
        let _ = writeln!(x, " <cim:ConnectivityNode rdf:ID=\"{}\">", esc(&cn));
        ident(&mut x, &n.id, &n.name);
        x.push_str(" </cim:ConnectivityNode>\n");
        match n.kind {
            NodeKind::Bus => {}
            NodeKind::Source => {
                let eq = format!("ES.{}", n.id);
                let _ = writeln!(x, " <cim:EnergySource rdf:ID=\"{}\">", esc(&eq));
                ident(&mut x, &eq, &n.name);
                x.push_str(" </cim:EnergySource>\n");
                terminal(&mut x, &eq, &cn, 1);
            }
            NodeKind::Load => {
                let eq = format!("EC.{}", n.id);
                let _ = writeln!(x, " <cim:EnergyConsumer rdf:ID=\"{}\">", esc(&eq));
                ident(&mut x, &eq, &n.name);
                let _ = writeln!(
                    x,
                    "  <cim:EnergyConsumer.customerCount>{}</cim:EnergyConsumer.customerCount>",
                    n.customers
                );
                let _ = writeln!(x, "  <cim:EnergyConsumer.p>{}</cim:EnergyConsumer.p>", n.avg_kw * 1000.0);
                let _ =
                    writeln!(x, "  <bureau:EnergyConsumer.avgKw>{}</bureau:EnergyConsumer.avgKw>", n.avg_kw);
                let _ = writeln!(
                    x,
                    "  <bureau:EnergyConsumer.peakKw>{}</bureau:EnergyConsumer.peakKw>",
                    n.peak_kw
                );
                x.push_str(" </cim:EnergyConsumer>\n");
                terminal(&mut x, &eq, &cn, 1);
            }
        }
    }
    for b in net.branches() {
        let class = cim_class(b.kind);
        let _ = writeln!(x, " <cim:{class} rdf:ID=\"{}\">", esc(&b.id));
        ident(&mut x, &b.id, "");
        if b.kind == BranchKind::Line {
            let _ = writeln!(x, "  <cim:Conductor.length>{}</cim:Conductor.length>", b.length_km * 1000.0);
        }
        if b.kind.is_switch() {
            let _ = writeln!(x, "  <cim:Switch.normalOpen>{}</cim:Switch.normalOpen>", b.normal_open);
            let _ = writeln!(x, "  <cim:Switch.open>{}</cim:Switch.open>", b.open);
        }
        let _ =
            writeln!(x, "  <bureau:Equipment.failureRate>{}</bureau:Equipment.failureRate>", b.failure_rate);
        let _ = writeln!(x, "  <bureau:Equipment.repairHours>{}</bureau:Equipment.repairHours>", b.repair_h);
        let _ = writeln!(x, " </cim:{class}>");
        terminal(&mut x, &b.id, &format!("CN.{}", b.from), 1);
        terminal(&mut x, &b.id, &format!("CN.{}", b.to), 2);
    }
    x.push_str("</rdf:RDF>\n");
    x
}

impl CimReport {
    /// One line per rejected element, in the language asked for.
    pub fn rejected_lines(&self, zh: bool) -> Vec<String> {
        self.rejected
            .iter()
            .map(|r| format!("{} {}: {}", r.class, r.id, if zh { &r.reason_zh } else { &r.reason_en }))
            .collect()
    }
}
