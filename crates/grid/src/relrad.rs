//! Analytical reliability prediction, RELRAD style (failure mode and effect analysis) on the normal
//! operating state (常开/常闭 as in `normal_open`).
//!
//! For every element that can fail (lines at `failure_rate × length_km`, every other branch at its
//! `failure_rate`):
//! 1. the nearest protective device above it (breaker, recloser, fuse; the source if none) trips and
//!    interrupts every load point below that device;
//! 2. the fault zone is the part of the network connected to the element without crossing any switching
//!    device (breaker, recloser, fuse, disconnector, load-break switch); its load points wait `repair_h`;
//! 3. the other interrupted load points wait `switching_h` (capped at `repair_h`) when, with the zone
//!    isolated, they reach a source through closed devices (upstream restoration) or through a
//!    normally-open tie whose far side is energised (backfeed, possibly through other restored parts);
//!    otherwise they wait for the repair.
//!
//! Complexity: the radial tree is built once; sections (switch-bounded zones) and their exit switches are
//! precomputed; each failure adds its effect to a handful of subtrees ("add to every node below x"),
//! which one top-down pass turns into per-node sums. Tie look-ups use the DFS interval of each subtree.
//! The whole study is O(n + m + Σ exits + tie look-ups), i.e. near-linear in the network size.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Branch, GridError, ModelErrors, Network, NodeKind};

/// λ, U and r of one load point.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LoadPointIndices {
    /// Interruptions per year.
    pub lambda: f64,
    /// Unavailability, hours per year.
    pub u: f64,
    /// Average interruption duration, hours (U / λ; 0 when λ = 0).
    pub r: f64,
}

/// System indices and the per-load-point results. Serialises as
/// `{"saifi", "saidi", "caidi", "asai", "ens_mwh", "load_points": {"<id>": {"lambda", "u", "r"}}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReliabilityReport {
    /// Interruptions per customer per year.
    pub saifi: f64,
    /// Hours per customer per year.
    pub saidi: f64,
    /// Hours per interruption (SAIDI / SAIFI).
    pub caidi: f64,
    /// Average service availability, 1 − SAIDI / hours_per_year.
    pub asai: f64,
    /// Energy not supplied, MWh per year (Σ U × avg_kw / 1000).
    pub ens_mwh: f64,
    pub load_points: BTreeMap<String, LoadPointIndices>,
}

/// A change to study with [`Network::what_if`].
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Add a branch between existing nodes (e.g. a new normally-open tie switch).
    Add(Branch),
    /// Remove a branch by id (e.g. take away a tie or a disconnector).
    Remove(String),
    /// Split line `line` at `fraction` of its length (0..1) and insert the switching device `device`
    /// (its `from`/`to` are ignored) between the two parts: e.g. a new sectionalising disconnector on a
    /// main line. Creates buses `bus` and `<bus>_2`; the line keeps its id up to `bus`, and the part from
    /// `<bus>_2` is `<line>_2`.
    InsertSwitch { line: String, fraction: f64, bus: String, device: Branch },
}

/// Indices before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub before: ReliabilityReport,
    pub after: ReliabilityReport,
    /// after − before.
    pub d_saifi: f64,
    pub d_saidi: f64,
    pub d_ens_mwh: f64,
}

/// The radial tree of the normal state with DFS intervals, sections and protective ancestors.
struct Tree {
    /// Parent node and the branch to it (usize::MAX for roots and nodes outside the tree).
    parent: Vec<usize>,
    parent_branch: Vec<usize>,
    in_tree: Vec<bool>,
    /// Root (source) of each tree node.
    root: Vec<usize>,
    /// Nodes in BFS order (parents before children).
    order: Vec<usize>,
    /// DFS pre-order interval: subtree(x) = { v : tin[x] <= tin[v] < tout[x] }.
    tin: Vec<usize>,
    tout: Vec<usize>,
    /// Section (switch-bounded zone) of each node, its top node, and its exit switches' child nodes.
    section: Vec<usize>,
    sec_top: Vec<usize>,
    exit_start: Vec<usize>,
    exits: Vec<usize>,
    /// Child node of the nearest protective branch at or above each node's parent branch.
    prot_child: Vec<usize>,
    /// Normally-open tie ends: (tin of this end, far-side node), sorted by tin.
    tie_ends: Vec<(usize, usize)>,
}

const NONE: usize = usize::MAX;

impl Tree {
    fn build(net: &Network) -> Tree {
        let n = net.nodes.len();
        let closed = |bi: usize| !net.branches[bi].normal_open;
        let mut parent = vec![NONE; n];
        let mut parent_branch = vec![NONE; n];
        let mut in_tree = vec![false; n];
        let mut root = vec![NONE; n];
        let mut order = Vec::with_capacity(n);
        for s in 0..n {
            if net.nodes[s].kind == NodeKind::Source && !in_tree[s] {
                in_tree[s] = true;
                root[s] = s;
                let mut head = order.len();
                order.push(s);
                while head < order.len() {
                    let v = order[head];
                    head += 1;
                    for &(bi, w) in net.neighbours(v) {
                        if closed(bi) && !in_tree[w] {
                            in_tree[w] = true;
                            parent[w] = v;
                            parent_branch[w] = bi;
                            root[w] = s;
                            order.push(w);
                        }
                    }
                }
            }
        }
        // Children CSR.
        let mut child_start = vec![0usize; n + 1];
        for &v in &order {
            if parent[v] != NONE {
                child_start[parent[v] + 1] += 1;
            }
        }
        for v in 0..n {
            child_start[v + 1] += child_start[v];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0usize; child_start[n]];
        for &v in &order {
            if parent[v] != NONE {
                children[fill[parent[v]]] = v;
                fill[parent[v]] += 1;
            }
        }
        // Iterative DFS for pre-order intervals.
        let mut tin = vec![NONE; n];
        let mut tout = vec![NONE; n];
        let mut clock = 0;
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for &s in order.iter().filter(|&&v| parent[v] == NONE) {
            tin[s] = clock;
            clock += 1;
            stack.push((s, child_start[s]));
            while let Some(top) = stack.last_mut() {
                let (v, next) = *top;
                if next < child_start[v + 1] {
                    top.1 += 1;
                    let c = children[next];
                    tin[c] = clock;
                    clock += 1;
                    stack.push((c, child_start[c]));
                } else {
                    tout[v] = clock;
                    stack.pop();
                }
            }
        }
        // Sections and protective ancestors, top-down.
        let mut section = vec![NONE; n];
        let mut sec_top = Vec::new();
        let mut prot_child = vec![NONE; n];
        for &v in &order {
            let pb = parent_branch[v];
            if pb == NONE || net.branches[pb].kind.is_switch() {
                section[v] = sec_top.len();
                sec_top.push(v);
            } else {
                section[v] = section[parent[v]];
            }
            prot_child[v] = if pb == NONE {
                NONE
            } else if net.branches[pb].kind.is_protective() {
                v
            } else {
                prot_child[parent[v]]
            };
        }
        let ns = sec_top.len();
        let mut exit_start = vec![0usize; ns + 1];
        for &v in &order {
            let pb = parent_branch[v];
            if pb != NONE && net.branches[pb].kind.is_switch() {
                exit_start[section[parent[v]] + 1] += 1;
            }
        }
        for s in 0..ns {
            exit_start[s + 1] += exit_start[s];
        }
        let mut fill = exit_start.clone();
        let mut exits = vec![0usize; exit_start[ns]];
        for &v in &order {
            let pb = parent_branch[v];
            if pb != NONE && net.branches[pb].kind.is_switch() {
                let s = section[parent[v]];
                exits[fill[s]] = v;
                fill[s] += 1;
            }
        }
        let mut tie_ends = Vec::new();
        for (bi, b) in net.branches.iter().enumerate() {
            if b.normal_open {
                let (f, t) = net.ends[bi];
                if in_tree[f] && in_tree[t] {
                    tie_ends.push((tin[f], t));
                    tie_ends.push((tin[t], f));
                }
            }
        }
        tie_ends.sort_unstable();
        Tree {
            parent,
            parent_branch,
            in_tree,
            root,
            order,
            tin,
            tout,
            section,
            sec_top,
            exit_start,
            exits,
            prot_child,
            tie_ends,
        }
    }

    fn in_subtree(&self, v: usize, x: usize) -> bool {
        self.in_tree[v] && self.tin[x] <= self.tin[v] && self.tin[v] < self.tout[x]
    }

    fn exits_of(&self, s: usize) -> &[usize] {
        &self.exits[self.exit_start[s]..self.exit_start[s + 1]]
    }

    /// Far-side nodes of the ties with one end inside subtree(x).
    fn ties_below(&self, x: usize) -> impl Iterator<Item = usize> + '_ {
        let lo = self.tie_ends.partition_point(|&(t, _)| t < self.tin[x]);
        let hi = self.tie_ends.partition_point(|&(t, _)| t < self.tout[x]);
        self.tie_ends[lo..hi].iter().map(|&(_, w)| w)
    }
}

impl Network {
    /// Predicts λ, U, r per load point and the system indices (RELRAD on the normal state).
    pub fn reliability(&self) -> ReliabilityReport {
        let n = self.nodes.len();
        let tree = Tree::build(self);
        // "Add to every node in subtree(x)" accumulators.
        let mut add_lambda = vec![0.0f64; n];
        let mut add_u = vec![0.0f64; n];
        let sw_h = self.params.switching_h;
        let mut hanging: Vec<usize> = Vec::new();
        let mut restorable: Vec<bool> = Vec::new();
        for &c in &tree.order {
            let e = tree.parent_branch[c];
            if e == NONE {
                continue;
            }
            let br = &self.branches[e];
            let lam = br.failures_per_year();
            if lam <= 0.0 {
                continue;
            }
            let repair = br.repair_h;
            let s = sw_h.min(repair);
            let p = tree.parent[c];
            let is_sw = br.kind.is_switch();
            // Interrupted region: below the nearest protective device above the element.
            let i_root = match tree.prot_child[p] {
                NONE => tree.root[p],
                x => x,
            };
            let sec_a = tree.section[p];
            let z_top = tree.sec_top[sec_a];
            add_lambda[i_root] += lam;
            add_u[i_root] += lam * s;
            add_u[z_top] += lam * (repair - s);
            if repair <= s {
                continue;
            }
            // Parts hanging below the zone, each behind one exit switch.
            hanging.clear();
            hanging.extend(tree.exits_of(sec_a).iter().copied().filter(|&x| !(is_sw && x == c)));
            if is_sw {
                hanging.extend_from_slice(tree.exits_of(tree.section[c]));
            }
            restorable.clear();
            restorable.resize(hanging.len(), false);
            // Direct backfeed: a tie from inside the part to a node outside subtree(z_top)
            // (unaffected, or upstream and restored by switching).
            let mut pending = false;
            for (k, &x) in hanging.iter().enumerate() {
                for w in tree.ties_below(x) {
                    if !tree.in_subtree(w, x) && !tree.in_subtree(w, z_top) {
                        restorable[k] = true;
                        break;
                    }
                }
                pending |= !restorable[k];
            }
            // Chained backfeed through another restored part.
            while pending {
                let mut changed = false;
                for k in 0..hanging.len() {
                    if restorable[k] {
                        continue;
                    }
                    let x = hanging[k];
                    let hit = tree.ties_below(x).any(|w| {
                        !tree.in_subtree(w, x)
                            && hanging.iter().zip(&restorable).any(|(&y, &ok)| ok && tree.in_subtree(w, y))
                    });
                    if hit {
                        restorable[k] = true;
                        changed = true;
                    }
                }
                pending = changed;
            }
            for (k, &x) in hanging.iter().enumerate() {
                if restorable[k] {
                    add_u[x] -= lam * (repair - s);
                }
            }
        }
        // Top-down sums.
        let mut lambda = vec![0.0f64; n];
        let mut u = vec![0.0f64; n];
        for &v in &tree.order {
            let p = tree.parent[v];
            let (pl, pu) = if p == NONE { (0.0, 0.0) } else { (lambda[p], u[p]) };
            lambda[v] = pl + add_lambda[v];
            u[v] = pu + add_u[v];
        }
        let mut report = ReliabilityReport::default();
        let (mut cust, mut sum_l, mut sum_u, mut ens_kwh) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (v, node) in self.nodes.iter().enumerate() {
            if node.kind != NodeKind::Load {
                continue;
            }
            let l = lambda[v];
            // Cancellation noise from add/subtract pairs must not show as tiny negative hours.
            let uu = if u[v] < 1e-12 { 0.0 } else { u[v] };
            let r = if l > 0.0 { uu / l } else { 0.0 };
            report.load_points.insert(node.id.clone(), LoadPointIndices { lambda: l, u: uu, r });
            let c = node.customers as f64;
            cust += c;
            sum_l += l * c;
            sum_u += uu * c;
            ens_kwh += uu * node.avg_kw;
        }
        if cust > 0.0 {
            report.saifi = sum_l / cust;
            report.saidi = sum_u / cust;
        }
        report.caidi = if report.saifi > 0.0 { report.saidi / report.saifi } else { 0.0 };
        report.asai = 1.0 - report.saidi / self.params.hours_per_year;
        report.ens_mwh = ens_kwh / 1000.0;
        report
    }

    /// Compares the indices of this network with those after `change` (the changed model must be valid).
    pub fn what_if(&self, change: &Change) -> Result<WhatIf, GridError> {
        let before = self.reliability();
        let after = self.with_change(change)?.reliability();
        Ok(WhatIf {
            d_saifi: after.saifi - before.saifi,
            d_saidi: after.saidi - before.saidi,
            d_ens_mwh: after.ens_mwh - before.ens_mwh,
            before,
            after,
        })
    }

    /// A new network with `change` applied (validated again).
    pub fn with_change(&self, change: &Change) -> Result<Network, GridError> {
        let mut nodes = self.nodes.clone();
        let mut branches = self.branches.clone();
        match change {
            Change::Add(b) => branches.push(b.clone()),
            Change::Remove(id) => {
                let bi = self.branch_idx(id)?;
                branches.remove(bi);
            }
            Change::InsertSwitch { line, fraction, bus, device } => {
                let bi = self.branch_idx(line)?;
                let f = fraction.clamp(0.0, 1.0);
                let old = branches[bi].clone();
                nodes.push(crate::model::Node::new(bus.clone(), NodeKind::Bus));
                let mut first = old.clone();
                first.to = bus.clone();
                first.length_km = old.length_km * f;
                let mut second = old.clone();
                second.id = format!("{}_2", old.id);
                second.from = bus.clone();
                second.length_km = old.length_km * (1.0 - f);
                let mut dev = device.clone();
                dev.from = bus.clone();
                dev.to = format!("{bus}_2");
                nodes.push(crate::model::Node::new(format!("{bus}_2"), NodeKind::Bus));
                second.from = format!("{bus}_2");
                branches[bi] = first;
                branches.push(dev);
                branches.push(second);
            }
        }
        Network::new(nodes, branches, self.params).map_err(|e: ModelErrors| GridError::Model(e))
    }
}
