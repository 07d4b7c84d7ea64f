//! Switching plans for planned work (计划检修 with 转供电): isolate the section around the work, then
//! restore the parts cut off below it through normally-open ties (联络开关), choosing for each part the
//! tie that keeps the most customers supplied within an optional capacity limit per feeder; when a whole
//! part does not fit, one switching device inside it may be opened to shed the far end.
//!
//! The plan is break-before-make (the ties are closed after the section is isolated), works on the
//! current switch states, and is greedy: the part transfer keeping the most customers is chosen first,
//! feeder loads (Σ `peak_kw` of the loads it supplies) are updated, and the search repeats.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{GridError, Network, NodeKind};

/// Options of a transfer plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransferOptions {
    /// Capacity of a feeder in kW, keyed by the id of its head branch (the branch leaving the source,
    /// normally the feeder breaker). Feeders not listed are unlimited.
    pub feeder_limits_kw: HashMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Open,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// 隔离: bounds the work section.
    Isolate,
    /// 甩负荷: sheds the far end of a part that does not fit the receiving feeder.
    Shed,
    /// 转供: closes a tie to supply a part from another feeder.
    Transfer,
    /// 恢复正常运行方式: after the work, back to the switch states the plan started from.
    SwitchBack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchingStep {
    pub branch: String,
    pub action: Action,
    pub purpose: Purpose,
}

/// One part supplied again through a tie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub tie: String,
    /// Head branch of the receiving feeder.
    pub feeder: String,
    pub shed: Option<String>,
    pub customers: u64,
    pub peak_kw: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchingPlan {
    /// Nodes of the isolated work section.
    pub work_zone: Vec<String>,
    pub steps: Vec<SwitchingStep>,
    /// After the work: open the ties the plan closed, then close the isolation points (nearest the
    /// source first, so that the section is energised from its own feeder) and the shed switches.
    /// Break-before-make like the plan itself: the transferred parts are off for the moments between
    /// the tie opening and their own feeder's switch closing; the two feeders are never paralleled.
    #[serde(default)]
    pub switch_back: Vec<SwitchingStep>,
    pub transfers: Vec<Transfer>,
    /// Customers of load points inside the work section.
    pub customers_in_zone: u64,
    /// Customers outside the section left without supply.
    pub customers_unsupplied: u64,
    pub customers_transferred: u64,
    /// Load points without supply at the end of the plan (zone included).
    pub unsupplied_loads: Vec<String>,
}

const NONE: usize = usize::MAX;

impl Network {
    /// Plans the isolation of the section around `work_branch` and the transfer of what lies beyond it.
    pub fn plan_transfer(
        &self,
        work_branch: &str,
        opts: &TransferOptions,
    ) -> Result<SwitchingPlan, GridError> {
        let wb = self.branch_idx(work_branch)?;
        let n = self.nodes.len();
        let mut sim = self.clone();
        // Work zone: through closed non-switching branches from both ends.
        let (a, b) = self.ends[wb];
        let mut zone = vec![false; n];
        let mut stack = vec![a, b];
        zone[a] = true;
        zone[b] = true;
        while let Some(v) = stack.pop() {
            for &(bi, w) in self.neighbours(v) {
                let br = &self.branches[bi];
                if !br.open && !br.kind.is_switch() && !zone[w] {
                    zone[w] = true;
                    stack.push(w);
                }
            }
        }
        // Isolation points, nearest the source first.
        let depth = self.depths();
        let mut iso: Vec<usize> = (0..self.branches.len())
            .filter(|&bi| {
                let (f, t) = self.ends[bi];
                let br = &self.branches[bi];
                br.kind.is_switch() && !br.open && (zone[f] || zone[t]) && (bi == wb || zone[f] != zone[t])
            })
            .collect();
        iso.sort_by_key(|&bi| {
            let (f, t) = self.ends[bi];
            (depth[f].min(depth[t]), bi)
        });
        let mut plan = SwitchingPlan {
            work_zone: (0..n).filter(|&v| zone[v]).map(|v| self.nodes[v].id.clone()).collect(),
            steps: Vec::new(),
            switch_back: Vec::new(),
            transfers: Vec::new(),
            customers_in_zone: (0..n)
                .filter(|&v| zone[v] && self.nodes[v].kind == NodeKind::Load)
                .map(|v| self.nodes[v].customers as u64)
                .sum(),
            customers_unsupplied: 0,
            customers_transferred: 0,
            unsupplied_loads: Vec::new(),
        };
        let mut locked = vec![false; self.branches.len()];
        for &bi in &iso {
            sim.set_open_idx(bi, true);
            locked[bi] = true;
            plan.steps.push(SwitchingStep {
                branch: self.branches[bi].id.clone(),
                action: Action::Open,
                purpose: Purpose::Isolate,
            });
        }
        // Repeatedly pick the best transfer.
        while let Some(best) = sim.best_transfer(&zone, &locked, opts) {
            if let Some(s) = best.shed {
                sim.set_open_idx(s, true);
                locked[s] = true;
                plan.steps.push(SwitchingStep {
                    branch: self.branches[s].id.clone(),
                    action: Action::Open,
                    purpose: Purpose::Shed,
                });
            }
            sim.set_open_idx(best.tie, false);
            locked[best.tie] = true;
            plan.steps.push(SwitchingStep {
                branch: self.branches[best.tie].id.clone(),
                action: Action::Close,
                purpose: Purpose::Transfer,
            });
            plan.customers_transferred += best.customers;
            plan.transfers.push(Transfer {
                tie: self.branches[best.tie].id.clone(),
                feeder: self.branches[best.feeder].id.clone(),
                shed: best.shed.map(|s| self.branches[s].id.clone()),
                customers: best.customers,
                peak_kw: best.peak_kw,
            });
        }
        let back = |purpose: Purpose, action: Action| {
            plan.steps.iter().filter(move |s| s.purpose == purpose).map(move |s| SwitchingStep {
                branch: s.branch.clone(),
                action,
                purpose: Purpose::SwitchBack,
            })
        };
        plan.switch_back = back(Purpose::Transfer, Action::Open)
            .chain(back(Purpose::Isolate, Action::Close))
            .chain(back(Purpose::Shed, Action::Close))
            .collect();
        for (v, node) in self.nodes.iter().enumerate() {
            if node.kind == NodeKind::Load && !sim.energised[v] {
                plan.unsupplied_loads.push(node.id.clone());
                if !zone[v] {
                    plan.customers_unsupplied += node.customers as u64;
                }
            }
        }
        Ok(plan)
    }

    /// BFS depth from the sources over closed branches (usize::MAX when not reached).
    fn depths(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut depth = vec![NONE; n];
        let mut queue: Vec<usize> = (0..n).filter(|&v| self.nodes[v].kind == NodeKind::Source).collect();
        for &s in &queue {
            depth[s] = 0;
        }
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head];
            head += 1;
            for &(bi, w) in self.neighbours(v) {
                if !self.branches[bi].open && depth[w] == NONE {
                    depth[w] = depth[v] + 1;
                    queue.push(w);
                }
            }
        }
        depth
    }

    /// The single transfer (tie, optional shed switch) that restores the most customers now.
    fn best_transfer(&self, zone: &[bool], locked: &[bool], opts: &TransferOptions) -> Option<Candidate> {
        let n = self.nodes.len();
        // Feeder head of each energised node and the load of each feeder.
        let mut head_of = vec![NONE; n];
        let mut load = vec![0.0f64; self.branches.len()];
        let mut queue: Vec<usize> = (0..n).filter(|&v| self.nodes[v].kind == NodeKind::Source).collect();
        let mut seen = vec![false; n];
        for &s in &queue {
            seen[s] = true;
        }
        let mut h = 0;
        while h < queue.len() {
            let v = queue[h];
            h += 1;
            for &(bi, w) in self.neighbours(v) {
                if !self.branches[bi].open && !seen[w] {
                    seen[w] = true;
                    head_of[w] = if self.nodes[v].kind == NodeKind::Source { bi } else { head_of[v] };
                    if self.nodes[w].kind == NodeKind::Load && head_of[w] != NONE {
                        load[head_of[w]] += self.nodes[w].peak_kw;
                    }
                    queue.push(w);
                }
            }
        }
        let mut best: Option<Candidate> = None;
        // Scratch for the BFS inside a part.
        let mut parent_b = vec![NONE; n];
        let mut in_part = vec![false; n];
        for (t, br) in self.branches.iter().enumerate() {
            if !br.open || !br.kind.is_switch() || locked[t] {
                continue;
            }
            let (f, to) = self.ends[t];
            let (u, w) = match (self.energised[f], self.energised[to]) {
                (false, true) => (f, to),
                (true, false) => (to, f),
                _ => continue,
            };
            if zone[u] || zone[w] || head_of[w] == NONE {
                continue;
            }
            let feeder = head_of[w];
            let available = match opts.feeder_limits_kw.get(&self.branches[feeder].id) {
                Some(&lim) => lim - load[feeder],
                None => f64::INFINITY,
            };
            // The de-energised part reachable from u, as a tree rooted at u.
            let mut order = vec![u];
            in_part[u] = true;
            parent_b[u] = NONE;
            let mut k = 0;
            while k < order.len() {
                let v = order[k];
                k += 1;
                for &(bi, x) in self.neighbours(v) {
                    if !self.branches[bi].open && !in_part[x] && !zone[x] {
                        in_part[x] = true;
                        parent_b[x] = bi;
                        order.push(x);
                    }
                }
            }
            let mut peak_below = vec![0.0f64; order.len()];
            let mut cust_below = vec![0u64; order.len()];
            let pos: HashMap<usize, usize> = order.iter().enumerate().map(|(i, &v)| (v, i)).collect();
            for i in (0..order.len()).rev() {
                let v = order[i];
                if self.nodes[v].kind == NodeKind::Load {
                    peak_below[i] += self.nodes[v].peak_kw;
                    cust_below[i] += self.nodes[v].customers as u64;
                }
                if parent_b[v] != NONE {
                    let (pf, pt) = self.ends[parent_b[v]];
                    let p = if pf == v { pt } else { pf };
                    let pi = pos[&p];
                    peak_below[pi] += peak_below[i];
                    cust_below[pi] += cust_below[i];
                }
            }
            let (total_kw, total_c) = (peak_below[0], cust_below[0]);
            let mut consider = |customers: u64, kw: f64, shed: Option<usize>| {
                if customers == 0 || kw > available + 1e-9 {
                    return;
                }
                let better = match &best {
                    None => true,
                    Some(b) => (customers, -kw) > (b.customers, -b.peak_kw),
                };
                if better {
                    best = Some(Candidate { tie: t, feeder, shed, customers, peak_kw: kw });
                }
            };
            consider(total_c, total_kw, None);
            for i in 1..order.len() {
                let s = parent_b[order[i]];
                if self.branches[s].kind.is_switch() && !locked[s] {
                    consider(total_c - cust_below[i], total_kw - peak_below[i], Some(s));
                }
            }
            for &v in &order {
                in_part[v] = false;
            }
        }
        best
    }
}

struct Candidate {
    tie: usize,
    feeder: usize,
    shed: Option<usize>,
    customers: u64,
    peak_kw: f64,
}
