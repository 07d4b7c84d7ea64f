//! Outage prediction (停电研判): group trouble calls into events at the most likely upstream protective
//! device, by rules kept as data ([`PredictionRules`], loadable from TOML).
//!
//! 1. Calls are split into groups by time: a call more than `window_min` after the previous one starts
//!    a new group.
//! 2. Within a group, candidate devices (the kinds in `devices`, not known closed by telemetry) are
//!    visited from the deepest up. A device is predicted open when
//!    * at least `rollup_children` predicted devices lie below it (several predictions under one parent
//!      move up), or
//!    * the calls below it not yet explained reach `min_calls`, or their share of its customers reaches
//!      `min_share`.
//!
//!    A predicted device absorbs every call and prediction below it.
//! 3. A meter known to be on (AMI ping, meter read) below a predicted device proves the device closed:
//!    the prediction moves down to the highest devices below it with no live meter under them, grouping
//!    the calls accordingly; a call with no such device stays a service-level outage at its load point.
//!
//! The network's current switch states give the tree; the tripped device is by definition not yet
//! known to the model.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{BranchKind, GridError, Network, NodeKind};

/// Grouping rules (a rule set; e.g. a normal set and a storm set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictionRules {
    /// Calls farther apart than this start a new group, minutes.
    pub window_min: f64,
    /// Unexplained calls below a device that predict it.
    pub min_calls: u32,
    /// Share of a device's customers calling (unexplained calls / customers below) that predicts it.
    pub min_share: f64,
    /// Predicted devices under one parent device that move the prediction up to it.
    pub rollup_children: u32,
    /// Device kinds that can be predicted.
    pub devices: Vec<BranchKind>,
}

impl Default for PredictionRules {
    fn default() -> PredictionRules {
        PredictionRules {
            window_min: 30.0,
            min_calls: 3,
            min_share: 0.1,
            rollup_children: 2,
            devices: vec![BranchKind::Fuse, BranchKind::Recloser, BranchKind::Breaker],
        }
    }
}

impl PredictionRules {
    pub fn from_toml(text: &str) -> Result<PredictionRules, toml::de::Error> {
        toml::from_str(text)
    }
}

/// A trouble call (or an AMI last gasp) from a customer supplied by load point `load`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub id: String,
    /// Load point (node id) that supplies the caller.
    pub load: String,
    /// Seconds on the bureau's clock.
    pub time_s: i64,
}

/// What else is known when predicting.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// Load points with a meter known to be on.
    pub meters_on: Vec<String>,
    /// Devices that telemetry shows closed: never predicted.
    pub known_closed: Vec<String>,
}

/// One predicted outage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictedOutage {
    /// Predicted open device (PDO); `None` for a service-level outage (PSO) at `load`.
    pub device: Option<String>,
    /// The load point of a service-level outage.
    pub load: Option<String>,
    pub calls: Vec<String>,
    /// Customers below the device (or at the load point).
    pub customers: u64,
    /// Load points below the device.
    pub loads: usize,
    /// Time of the first call.
    pub first_call_s: i64,
}

struct Tree {
    parent: Vec<usize>,
    parent_branch: Vec<usize>,
    depth: Vec<usize>,
    customers_below: Vec<u64>,
    loads_below: Vec<usize>,
}

const NONE: usize = usize::MAX;

fn current_tree(net: &Network) -> Tree {
    let n = net.nodes().len();
    let mut parent = vec![NONE; n];
    let mut parent_branch = vec![NONE; n];
    let mut depth = vec![0usize; n];
    let mut seen = vec![false; n];
    let mut order: Vec<usize> = (0..n).filter(|&v| net.nodes()[v].kind == NodeKind::Source).collect();
    for &s in &order {
        seen[s] = true;
    }
    let mut head = 0;
    while head < order.len() {
        let v = order[head];
        head += 1;
        for &(bi, w) in net.neighbours(v) {
            if !net.branches()[bi].open && !seen[w] {
                seen[w] = true;
                parent[w] = v;
                parent_branch[w] = bi;
                depth[w] = depth[v] + 1;
                order.push(w);
            }
        }
    }
    let mut customers_below = vec![0u64; n];
    let mut loads_below = vec![0usize; n];
    for &v in order.iter().rev() {
        let node = &net.nodes()[v];
        if node.kind == NodeKind::Load {
            customers_below[v] += node.customers as u64;
            loads_below[v] += 1;
        }
        if parent[v] != NONE {
            customers_below[parent[v]] += customers_below[v];
            loads_below[parent[v]] += loads_below[v];
        }
    }
    Tree { parent, parent_branch, depth, customers_below, loads_below }
}

impl Network {
    /// Groups `calls` into predicted outages (see the module documentation for the rules).
    pub fn predict_outages(
        &self,
        calls: &[Call],
        evidence: &Evidence,
        rules: &PredictionRules,
    ) -> Result<Vec<PredictedOutage>, GridError> {
        let tree = current_tree(self);
        let mut known_closed = HashSet::new();
        for id in &evidence.known_closed {
            known_closed.insert(self.branch_idx(id)?);
        }
        let mut meter_on = vec![false; self.nodes.len()];
        for id in &evidence.meters_on {
            meter_on[self.node_idx(id)?] = true;
        }
        // Live meters below each node: walk up from each live meter.
        let mut live_below = vec![false; self.nodes.len()];
        for (v, &on) in meter_on.iter().enumerate() {
            if on {
                let mut x = v;
                while x != NONE && !live_below[x] {
                    live_below[x] = true;
                    x = tree.parent[x];
                }
            }
        }
        let candidate =
            |bi: usize| rules.devices.contains(&self.branches[bi].kind) && !known_closed.contains(&bi);
        // Candidate chain of a load: the child node of each candidate device above it, nearest first.
        let chain = |load: usize| -> Vec<usize> {
            let mut out = Vec::new();
            let mut x = load;
            while x != NONE && tree.parent[x] != NONE {
                if candidate(tree.parent_branch[x]) {
                    out.push(x);
                }
                x = tree.parent[x];
            }
            out
        };

        let mut idx: Vec<(i64, usize, usize)> = Vec::with_capacity(calls.len());
        for (k, c) in calls.iter().enumerate() {
            idx.push((c.time_s, k, self.node_idx(&c.load)?));
        }
        idx.sort_unstable();
        let window_s = (rules.window_min * 60.0).round() as i64;
        let mut out = Vec::new();
        let mut start = 0;
        while start < idx.len() {
            let mut end = start + 1;
            while end < idx.len() && idx[end].0 - idx[end - 1].0 <= window_s {
                end += 1;
            }
            self.predict_group(&idx[start..end], calls, &tree, &chain, &live_below, rules, &mut out);
            start = end;
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn predict_group(
        &self,
        group: &[(i64, usize, usize)],
        calls: &[Call],
        tree: &Tree,
        chain: &dyn Fn(usize) -> Vec<usize>,
        live_below: &[bool],
        rules: &PredictionRules,
        out: &mut Vec<PredictedOutage>,
    ) {
        // Chains per load point (many calls share one), and the calls below each device: built once,
        // so that a storm costs time in proportion to the calls times the depth of their chains.
        let mut chain_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(_, _, load) in group {
            chain_of.entry(load).or_insert_with(|| chain(load));
        }
        let chains: Vec<&Vec<usize>> = group.iter().map(|(_, _, load)| &chain_of[load]).collect();
        let mut calls_below: HashMap<usize, Vec<usize>> = HashMap::new();
        for (k, c) in chains.iter().enumerate() {
            for &d in c.iter() {
                calls_below.entry(d).or_default().push(k);
            }
        }
        // Devices (by child node) seen in any chain, deepest first.
        let mut devices: Vec<usize> = calls_below.keys().copied().collect();
        devices.sort_unstable_by_key(|&d| (std::cmp::Reverse(tree.depth[d]), d));
        // owner[k]: predicted device (child node) that explains call k.
        let mut owner: Vec<Option<usize>> = vec![None; group.len()];
        let mut absorbed: HashSet<usize> = HashSet::new();
        for &d in &devices {
            let below = &calls_below[&d];
            let unexplained = below.iter().filter(|&&k| owner[k].is_none()).count();
            let preds_below: HashSet<usize> =
                below.iter().filter_map(|&k| owner[k]).filter(|p| !absorbed.contains(p)).collect();
            let cust = tree.customers_below[d].max(1) as f64;
            let hit = preds_below.len() >= rules.rollup_children as usize
                || (unexplained > 0
                    && (unexplained >= rules.min_calls as usize
                        || unexplained as f64 / cust >= rules.min_share));
            if hit {
                for &k in below {
                    owner[k] = Some(d);
                }
                absorbed.extend(preds_below);
            }
        }
        // Live meters move predictions down.
        for k in 0..group.len() {
            if let Some(d) = owner[k] {
                if live_below[d] {
                    // Highest device strictly below d on this call's chain with no live meter under it.
                    let pos = chains[k].iter().position(|&x| x == d).unwrap_or(0);
                    owner[k] = chains[k][..pos].iter().rev().copied().find(|&x| !live_below[x]);
                }
            }
        }
        let mut by_device: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut by_load: HashMap<usize, Vec<usize>> = HashMap::new();
        for k in 0..group.len() {
            match owner[k] {
                Some(d) => by_device.entry(d).or_default().push(k),
                None => by_load.entry(group[k].2).or_default().push(k),
            }
        }
        let first = |ks: &[usize]| ks.iter().map(|&k| group[k].0).min().unwrap_or(0);
        let ids = |ks: &[usize]| ks.iter().map(|&k| calls[group[k].1].id.clone()).collect::<Vec<_>>();
        for (d, ks) in by_device {
            out.push(PredictedOutage {
                device: Some(self.branches[tree.parent_branch[d]].id.clone()),
                load: None,
                calls: ids(&ks),
                customers: tree.customers_below[d],
                loads: tree.loads_below[d],
                first_call_s: first(&ks),
            });
        }
        let mut loads: Vec<(usize, Vec<usize>)> = by_load.into_iter().collect();
        loads.sort_unstable();
        for (v, ks) in loads {
            out.push(PredictedOutage {
                device: None,
                load: Some(self.nodes[v].id.clone()),
                calls: ids(&ks),
                customers: self.nodes[v].customers as u64,
                loads: 1,
                first_call_s: first(&ks),
            });
        }
    }
}
