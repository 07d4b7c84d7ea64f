//! The network model: nodes (电源 / 母线 / 负荷点) and branches (线路, 变压器 and the switching devices).
//!
//! The types are plain public structs with the same columns as the CSV files and the SQL tables
//! (`nodes: id,kind,name,customers,avg_kw,peak_kw`;
//! `branches: id,from,to,kind,normal_open,length_km,failure_rate,repair_h` plus the current `open` state).
//! [`Network::new`] validates them and reports every bad element at once.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Kind of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// 电源: a substation 10 kV bus that feeds the network; always energised.
    Source,
    /// 母线 / 节点: a junction without customers.
    Bus,
    /// 负荷点: a public distribution transformer (台区) or a 10 kV customer, with its customers.
    Load,
}

impl NodeKind {
    pub const ALL: [NodeKind; 3] = [NodeKind::Source, NodeKind::Bus, NodeKind::Load];

    /// The code used in files and tables.
    pub fn code(self) -> &'static str {
        match self {
            NodeKind::Source => "source",
            NodeKind::Bus => "bus",
            NodeKind::Load => "load",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            NodeKind::Source => "电源",
            NodeKind::Bus => "母线",
            NodeKind::Load => "负荷点",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            NodeKind::Source => "Source",
            NodeKind::Bus => "Bus",
            NodeKind::Load => "Load",
        }
    }

    /// Parses the code, the English name (any case) or the Chinese name.
    pub fn parse(s: &str) -> Option<NodeKind> {
        let t = s.trim();
        NodeKind::ALL.into_iter().find(|k| {
            t.eq_ignore_ascii_case(k.code()) || t.eq_ignore_ascii_case(k.name_en()) || t == k.name_zh()
        })
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Kind of a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchKind {
    /// 线路: overhead line or cable section; failure rate per km·year.
    Line,
    /// 变压器; failure rate per year.
    Transformer,
    /// 断路器: protective device that breaks fault current.
    Breaker,
    /// 熔断器: protective device (blows on a fault below it).
    Fuse,
    /// 隔离开关: opened without load to isolate a section.
    Disconnector,
    /// 负荷开关: opens load current, not fault current.
    LoadBreakSwitch,
    /// 重合器: protective device with automatic reclosing.
    Recloser,
}

impl BranchKind {
    pub const ALL: [BranchKind; 7] = [
        BranchKind::Line,
        BranchKind::Transformer,
        BranchKind::Breaker,
        BranchKind::Fuse,
        BranchKind::Disconnector,
        BranchKind::LoadBreakSwitch,
        BranchKind::Recloser,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BranchKind::Line => "line",
            BranchKind::Transformer => "transformer",
            BranchKind::Breaker => "breaker",
            BranchKind::Fuse => "fuse",
            BranchKind::Disconnector => "disconnector",
            BranchKind::LoadBreakSwitch => "load_break_switch",
            BranchKind::Recloser => "recloser",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            BranchKind::Line => "线路",
            BranchKind::Transformer => "变压器",
            BranchKind::Breaker => "断路器",
            BranchKind::Fuse => "熔断器",
            BranchKind::Disconnector => "隔离开关",
            BranchKind::LoadBreakSwitch => "负荷开关",
            BranchKind::Recloser => "重合器",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            BranchKind::Line => "Line",
            BranchKind::Transformer => "Transformer",
            BranchKind::Breaker => "Breaker",
            BranchKind::Fuse => "Fuse",
            BranchKind::Disconnector => "Disconnector",
            BranchKind::LoadBreakSwitch => "Load-break switch",
            BranchKind::Recloser => "Recloser",
        }
    }

    /// Parses the code, the English name (any case, `-`/space/`_` alike) or the Chinese name.
    pub fn parse(s: &str) -> Option<BranchKind> {
        let t: String = s
            .trim()
            .chars()
            .map(|c| if c == '-' || c == ' ' { '_' } else { c.to_ascii_lowercase() })
            .collect();
        BranchKind::ALL.into_iter().find(|k| {
            t == k.code()
                || t == k.name_en().to_ascii_lowercase().replace(['-', ' '], "_")
                || s.trim() == k.name_zh()
        })
    }

    /// A device that can be opened (everything except lines and transformers).
    pub fn is_switch(self) -> bool {
        !matches!(self, BranchKind::Line | BranchKind::Transformer)
    }

    /// A device that clears faults by itself: breaker, recloser, fuse.
    pub fn is_protective(self) -> bool {
        matches!(self, BranchKind::Breaker | BranchKind::Recloser | BranchKind::Fuse)
    }
}

impl fmt::Display for BranchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A node (row of `nodes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub name: String,
    /// Customers (用户数) supplied at this load point; 0 for sources and buses.
    pub customers: u32,
    /// Average demand, kW (used for energy not supplied).
    pub avg_kw: f64,
    /// Peak demand, kW (used for transfer capacity).
    pub peak_kw: f64,
}

impl Node {
    pub fn new(id: impl Into<String>, kind: NodeKind) -> Node {
        Node { id: id.into(), kind, name: String::new(), customers: 0, avg_kw: 0.0, peak_kw: 0.0 }
    }

    /// A load point with `customers` customers and demand in kW.
    pub fn load(id: impl Into<String>, customers: u32, avg_kw: f64, peak_kw: f64) -> Node {
        Node { id: id.into(), kind: NodeKind::Load, name: String::new(), customers, avg_kw, peak_kw }
    }
}

/// A branch (row of `branches`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    pub id: String,
    pub from: String,
    pub to: String,
    pub kind: BranchKind,
    /// Open in the normal operating state (常开, e.g. a tie switch 联络开关).
    pub normal_open: bool,
    /// Open now. Starts equal to `normal_open`; changed with [`Network::set_open`].
    pub open: bool,
    pub length_km: f64,
    /// Failures per km·year for lines, per year for every other kind.
    pub failure_rate: f64,
    /// Mean time to repair, hours.
    pub repair_h: f64,
}

impl Branch {
    /// A closed branch with zero rates; set the other fields with struct update syntax.
    pub fn new(
        id: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
        kind: BranchKind,
    ) -> Branch {
        Branch {
            id: id.into(),
            from: from.into(),
            to: to.into(),
            kind,
            normal_open: false,
            open: false,
            length_km: 0.0,
            failure_rate: 0.0,
            repair_h: 0.0,
        }
    }

    /// Failures per year of this element: rate × length for lines, the rate otherwise.
    pub fn failures_per_year(&self) -> f64 {
        match self.kind {
            BranchKind::Line => self.failure_rate * self.length_km,
            _ => self.failure_rate,
        }
    }
}

/// Study parameters (`params.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Time to isolate a fault and restore by switching, hours (default 1.0).
    pub switching_h: f64,
    /// Hours in the period (default 8760).
    pub hours_per_year: f64,
}

impl Default for Params {
    fn default() -> Params {
        Params { switching_h: 1.0, hours_per_year: 8760.0 }
    }
}

/// Why an element is bad.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// A required value is empty.
    Missing,
    /// A required column is missing from the header.
    MissingColumn,
    InvalidNumber(String),
    InvalidBool(String),
    UnknownKind(String),
    Negative(f64),
    NotFinite,
    /// Must be strictly positive.
    NotPositive(f64),
    /// The id was already used at `first` (line or row).
    DuplicateId {
        first: Option<u64>,
    },
    /// A branch end names a node that does not exist (dangling branch).
    UnknownNode(String),
    /// A branch connects a node to itself.
    SelfLoop,
    /// The branches (ids) close a loop through closed devices in the normal state (or join two sources).
    ClosedLoop(Vec<String>),
    /// A load point that no source reaches in the normal state.
    Unreachable,
    /// A malformed CSV row or TOML file.
    Syntax(String),
}

impl Reason {
    pub fn en(&self) -> String {
        match self {
            Reason::Missing => "value is required".into(),
            Reason::MissingColumn => "column is missing from the header".into(),
            Reason::InvalidNumber(v) => format!("'{v}' is not a valid number"),
            Reason::InvalidBool(v) => format!("'{v}' is not true/false"),
            Reason::UnknownKind(v) => format!("unknown kind '{v}'"),
            Reason::Negative(v) => format!("must not be negative (got {v})"),
            Reason::NotFinite => "must be a finite number".into(),
            Reason::NotPositive(v) => format!("must be greater than zero (got {v})"),
            Reason::DuplicateId { first: Some(l) } => format!("duplicate id (first used at line/row {l})"),
            Reason::DuplicateId { first: None } => "duplicate id".into(),
            Reason::UnknownNode(n) => format!("dangling branch: unknown node '{n}'"),
            Reason::SelfLoop => "branch connects a node to itself".into(),
            Reason::ClosedLoop(ids) => format!(
                "loop through closed devices in the normal state (radial operation required): {}",
                ids.join(" - ")
            ),
            Reason::Unreachable => "load is not reachable from any source in the normal state".into(),
            Reason::Syntax(m) => format!("malformed input: {m}"),
        }
    }

    pub fn zh(&self) -> String {
        match self {
            Reason::Missing => "缺少必填值".into(),
            Reason::MissingColumn => "表头缺少该列".into(),
            Reason::InvalidNumber(v) => format!("“{v}”不是有效数字"),
            Reason::InvalidBool(v) => format!("“{v}”不是 true/false"),
            Reason::UnknownKind(v) => format!("未知类型“{v}”"),
            Reason::Negative(v) => format!("不能为负数(实际为 {v})"),
            Reason::NotFinite => "必须是有限数值".into(),
            Reason::NotPositive(v) => format!("必须大于零(实际为 {v})"),
            Reason::DuplicateId { first: Some(l) } => format!("编号重复(首次出现在第 {l} 行)"),
            Reason::DuplicateId { first: None } => "编号重复".into(),
            Reason::UnknownNode(n) => format!("悬空支路:节点“{n}”不存在"),
            Reason::SelfLoop => "支路两端为同一节点".into(),
            Reason::ClosedLoop(ids) => {
                format!("正常运行方式下经闭合设备形成环路(要求辐射运行):{}", ids.join(" - "))
            }
            Reason::Unreachable => "正常运行方式下负荷点无法从任何电源到达".into(),
            Reason::Syntax(m) => format!("格式错误:{m}"),
        }
    }
}

/// One bad element: where it is, which element, which field, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    /// `nodes.csv` / `branches.csv` / `params.toml` (also used for rows given to [`Network::new`]).
    pub file: String,
    /// Line in the file (header = line 1). For [`Network::new`] this is the 1-based row of the vector.
    pub line: Option<u64>,
    /// Element id (may be empty when the id itself is missing).
    pub id: String,
    pub field: String,
    pub reason: Reason,
}

impl ModelError {
    pub fn message_en(&self) -> String {
        format!(
            "{}: {} '{}' field '{}': {}",
            self.location(),
            self.element_word(),
            self.id,
            self.field,
            self.reason.en()
        )
    }

    pub fn message_zh(&self) -> String {
        let word = match self.file.as_str() {
            f if f.starts_with("nodes") => "节点",
            f if f.starts_with("branches") => "支路",
            _ => "参数",
        };
        format!("{}:{}“{}”字段“{}”:{}", self.location(), word, self.id, self.field, self.reason.zh())
    }

    fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{}", self.file, l),
            None => self.file.clone(),
        }
    }

    fn element_word(&self) -> &'static str {
        match self.file.as_str() {
            f if f.starts_with("nodes") => "node",
            f if f.starts_with("branches") => "branch",
            _ => "parameter",
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.message_en(), self.reason.zh())
    }
}

/// Every problem found in a model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelErrors(pub Vec<ModelError>);

impl ModelErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, ModelError> {
        self.0.iter()
    }
}

impl fmt::Display for ModelErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} error(s) in the grid model / 电网模型有 {} 处错误:", self.0.len(), self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ModelErrors {}

/// An error of a query or an operation on a valid network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    #[error("unknown node '{0}' / 节点“{0}”不存在")]
    UnknownNode(String),
    #[error("unknown branch '{0}' / 支路“{0}”不存在")]
    UnknownBranch(String),
    #[error("branch '{0}' is not a switching device / 支路“{0}”不是开关设备")]
    NotASwitch(String),
    #[error("{0}")]
    Model(#[from] ModelErrors),
}

/// Where validation errors point: the file name and the line of each row.
pub(crate) struct Locations<'a> {
    pub nodes_file: &'a str,
    pub branches_file: &'a str,
    pub node_lines: Option<&'a [u64]>,
    pub branch_lines: Option<&'a [u64]>,
}

impl Locations<'_> {
    fn node_line(&self, i: usize) -> u64 {
        self.node_lines.map_or(i as u64 + 1, |l| l[i])
    }
    fn branch_line(&self, i: usize) -> u64 {
        self.branch_lines.map_or(i as u64 + 1, |l| l[i])
    }
}

/// A validated network with its adjacency (CSR) and the current energised state.
#[derive(Debug, Clone)]
pub struct Network {
    pub(crate) nodes: Vec<Node>,
    pub(crate) branches: Vec<Branch>,
    pub(crate) params: Params,
    pub(crate) node_index: HashMap<String, usize>,
    pub(crate) branch_index: HashMap<String, usize>,
    /// (from, to) node indices of each branch.
    pub(crate) ends: Vec<(usize, usize)>,
    /// CSR adjacency: entries `adj[adj_start[v]..adj_start[v + 1]]` are (branch, other node).
    pub(crate) adj_start: Vec<usize>,
    pub(crate) adj: Vec<(usize, usize)>,
    pub(crate) energised: Vec<bool>,
    pub(crate) scratch: crate::topology::Scratch,
}

impl Network {
    /// Validates and builds a network. Every bad element is reported; rows are referred to by their
    /// 1-based position in `nodes` / `branches`.
    pub fn new(nodes: Vec<Node>, branches: Vec<Branch>, params: Params) -> Result<Network, ModelErrors> {
        let locs = Locations {
            nodes_file: "nodes",
            branches_file: "branches",
            node_lines: None,
            branch_lines: None,
        };
        Network::build(nodes, branches, params, &locs, Vec::new())
    }

    pub(crate) fn build(
        nodes: Vec<Node>,
        branches: Vec<Branch>,
        params: Params,
        locs: &Locations<'_>,
        mut errors: Vec<ModelError>,
    ) -> Result<Network, ModelErrors> {
        let nerr = |errors: &mut Vec<ModelError>, i: usize, id: &str, field: &str, reason: Reason| {
            errors.push(ModelError {
                file: locs.nodes_file.to_string(),
                line: Some(locs.node_line(i)),
                id: id.to_string(),
                field: field.to_string(),
                reason,
            })
        };
        let berr = |errors: &mut Vec<ModelError>, i: usize, id: &str, field: &str, reason: Reason| {
            errors.push(ModelError {
                file: locs.branches_file.to_string(),
                line: Some(locs.branch_line(i)),
                id: id.to_string(),
                field: field.to_string(),
                reason,
            })
        };
        let check_num = |v: f64| -> Option<Reason> {
            if !v.is_finite() {
                Some(Reason::NotFinite)
            } else if v < 0.0 {
                Some(Reason::Negative(v))
            } else {
                None
            }
        };

        if !(params.switching_h.is_finite() && params.switching_h >= 0.0) {
            errors.push(ModelError {
                file: "params.toml".into(),
                line: None,
                id: String::new(),
                field: "switching_h".into(),
                reason: Reason::Negative(params.switching_h),
            });
        }
        if !(params.hours_per_year.is_finite() && params.hours_per_year > 0.0) {
            errors.push(ModelError {
                file: "params.toml".into(),
                line: None,
                id: String::new(),
                field: "hours_per_year".into(),
                reason: Reason::NotPositive(params.hours_per_year),
            });
        }

        let mut node_index: HashMap<String, usize> = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            if n.id.trim().is_empty() {
                nerr(&mut errors, i, &n.id, "id", Reason::Missing);
            } else if let Some(&first) = node_index.get(&n.id) {
                nerr(&mut errors, i, &n.id, "id", Reason::DuplicateId { first: Some(locs.node_line(first)) });
            } else {
                node_index.insert(n.id.clone(), i);
            }
            for (field, v) in [("avg_kw", n.avg_kw), ("peak_kw", n.peak_kw)] {
                if let Some(r) = check_num(v) {
                    nerr(&mut errors, i, &n.id, field, r);
                }
            }
        }

        let mut branch_index: HashMap<String, usize> = HashMap::with_capacity(branches.len());
        // Ends of well-formed branches; usize::MAX marks a dangling end.
        let mut ends = Vec::with_capacity(branches.len());
        for (i, b) in branches.iter().enumerate() {
            if b.id.trim().is_empty() {
                berr(&mut errors, i, &b.id, "id", Reason::Missing);
            } else if let Some(&first) = branch_index.get(&b.id) {
                berr(
                    &mut errors,
                    i,
                    &b.id,
                    "id",
                    Reason::DuplicateId { first: Some(locs.branch_line(first)) },
                );
            } else {
                branch_index.insert(b.id.clone(), i);
            }
            let end = |field: &str, name: &str, errors: &mut Vec<ModelError>| match node_index.get(name) {
                Some(&k) => k,
                None => {
                    let r = if name.trim().is_empty() {
                        Reason::Missing
                    } else {
                        Reason::UnknownNode(name.into())
                    };
                    berr(errors, i, &b.id, field, r);
                    usize::MAX
                }
            };
            let f = end("from", &b.from, &mut errors);
            let t = end("to", &b.to, &mut errors);
            if f != usize::MAX && f == t {
                berr(&mut errors, i, &b.id, "to", Reason::SelfLoop);
            }
            ends.push((f, t));
            for (field, v) in
                [("length_km", b.length_km), ("failure_rate", b.failure_rate), ("repair_h", b.repair_h)]
            {
                if let Some(r) = check_num(v) {
                    berr(&mut errors, i, &b.id, field, r);
                }
            }
        }

        // Adjacency over well-formed branches (first occurrence of duplicated ids still participates).
        let n = nodes.len();
        let good = |&(f, t): &(usize, usize)| f != usize::MAX && t != usize::MAX && f != t;
        let mut deg = vec![0usize; n + 1];
        for e in ends.iter().filter(|e| good(e)) {
            deg[e.0] += 1;
            deg[e.1] += 1;
        }
        let mut adj_start = vec![0usize; n + 1];
        for v in 0..n {
            adj_start[v + 1] = adj_start[v] + deg[v];
        }
        let mut fill = adj_start.clone();
        let mut adj = vec![(0usize, 0usize); adj_start[n]];
        for (bi, e) in ends.iter().enumerate() {
            if good(e) {
                adj[fill[e.0]] = (bi, e.1);
                fill[e.0] += 1;
                adj[fill[e.1]] = (bi, e.0);
                fill[e.1] += 1;
            }
        }

        // Normal-state checks: loops through closed devices and unreachable loads.
        let normal_closed = |bi: usize| !branches[bi].normal_open;
        {
            // Spanning forest grown from all sources together (a closed path between two sources is a loop too).
            const UNSEEN: usize = usize::MAX;
            let mut parent_b = vec![UNSEEN; n]; // branch to parent
            let mut parent_n = vec![UNSEEN; n];
            let mut seen = vec![false; n];
            let mut root_src = vec![false; n];
            let mut queue = Vec::with_capacity(n);
            let mut reported = vec![false; branches.len()];
            let sources: Vec<usize> = (0..n).filter(|&v| nodes[v].kind == NodeKind::Source).collect();
            let mut loops: Vec<(usize, Vec<String>)> = Vec::new();
            let mut grow = |starts: &[usize], queue: &mut Vec<usize>, seen: &mut Vec<bool>| {
                queue.clear();
                for &s in starts {
                    seen[s] = true;
                    queue.push(s);
                }
                let mut head = 0;
                while head < queue.len() {
                    let v = queue[head];
                    head += 1;
                    for &(bi, w) in &adj[adj_start[v]..adj_start[v + 1]] {
                        if !normal_closed(bi) || parent_b[v] == bi {
                            continue;
                        }
                        if !seen[w] {
                            seen[w] = true;
                            parent_b[w] = bi;
                            parent_n[w] = v;
                            queue.push(w);
                        } else if !reported[bi] && parent_b[w] != bi {
                            reported[bi] = true;
                            // Walk both ends up to their common ancestor (or to roots for source-source).
                            let mut path_a = vec![bi];
                            let mut a = v;
                            let mut b = w;
                            let mut path_b = Vec::new();
                            let depth = |mut x: usize| {
                                let mut d = 0;
                                while parent_n[x] != UNSEEN {
                                    x = parent_n[x];
                                    d += 1;
                                }
                                d
                            };
                            let (mut da, mut db) = (depth(a), depth(b));
                            while da > db {
                                path_a.push(parent_b[a]);
                                a = parent_n[a];
                                da -= 1;
                            }
                            while db > da {
                                path_b.push(parent_b[b]);
                                b = parent_n[b];
                                db -= 1;
                            }
                            while a != b && parent_n[a] != UNSEEN {
                                path_a.push(parent_b[a]);
                                a = parent_n[a];
                                path_b.push(parent_b[b]);
                                b = parent_n[b];
                            }
                            path_b.reverse();
                            path_a.extend(path_b);
                            let ids = path_a.iter().map(|&k| branches[k].id.clone()).collect();
                            loops.push((bi, ids));
                        }
                    }
                }
            };
            grow(&sources, &mut queue, &mut seen);
            for &v in &queue {
                root_src[v] = true;
            }
            for v in 0..n {
                if !seen[v] {
                    grow(&[v], &mut queue, &mut seen);
                }
            }
            for (bi, ids) in loops {
                berr(&mut errors, bi, &branches[bi].id, "normal_open", Reason::ClosedLoop(ids));
            }
            for v in 0..n {
                if nodes[v].kind == NodeKind::Load && !root_src[v] {
                    nerr(&mut errors, v, &nodes[v].id, "id", Reason::Unreachable);
                }
            }
        }

        if !errors.is_empty() {
            errors.sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
            return Err(ModelErrors(errors));
        }

        let mut net = Network {
            scratch: crate::topology::Scratch::new(n),
            energised: vec![false; n],
            nodes,
            branches,
            params,
            node_index,
            branch_index,
            ends,
            adj_start,
            adj,
        };
        net.recompute_energised();
        Ok(net)
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }
    pub fn params(&self) -> Params {
        self.params
    }
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.node_index.get(id).map(|&i| &self.nodes[i])
    }
    pub fn branch(&self, id: &str) -> Option<&Branch> {
        self.branch_index.get(id).map(|&i| &self.branches[i])
    }
    /// Index of a node in [`Network::nodes`].
    pub fn node_idx(&self, id: &str) -> Result<usize, GridError> {
        self.node_index.get(id).copied().ok_or_else(|| GridError::UnknownNode(id.into()))
    }
    /// Index of a branch in [`Network::branches`].
    pub fn branch_idx(&self, id: &str) -> Result<usize, GridError> {
        self.branch_index.get(id).copied().ok_or_else(|| GridError::UnknownBranch(id.into()))
    }
    /// (from, to) node indices of branch `bi`.
    pub fn branch_ends(&self, bi: usize) -> (usize, usize) {
        self.ends[bi]
    }
    /// (branch index, other node index) for every branch at node `v`.
    pub fn neighbours(&self, v: usize) -> &[(usize, usize)] {
        &self.adj[self.adj_start[v]..self.adj_start[v + 1]]
    }
    /// Takes the rows back (e.g. to change them and build again).
    pub fn into_parts(self) -> (Vec<Node>, Vec<Branch>, Params) {
        (self.nodes, self.branches, self.params)
    }
    /// Total customers over all load points.
    pub fn total_customers(&self) -> u64 {
        self.nodes.iter().filter(|n| n.kind == NodeKind::Load).map(|n| n.customers as u64).sum()
    }
}
