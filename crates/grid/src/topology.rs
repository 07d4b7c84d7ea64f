//! Topology under the current switch states: energisation (带电), the path to the source, what is
//! downstream of a device, and switch operations with the change in energised loads.
//!
//! The adjacency is built once (CSR arrays); searches reuse stamped visit marks so that one switch
//! operation costs time proportional to the part of the network it touches, not to the network.

use crate::model::{GridError, Network, NodeKind};

/// Reusable search buffers (visit marks with a generation stamp, queues).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    gen: u32,
    mark_a: Vec<u32>,
    mark_b: Vec<u32>,
    qa: Vec<usize>,
    qb: Vec<usize>,
}

impl Scratch {
    pub(crate) fn new(n: usize) -> Scratch {
        Scratch { gen: 0, mark_a: vec![0; n], mark_b: vec![0; n], qa: Vec::new(), qb: Vec::new() }
    }

    fn next_gen(&mut self) -> u32 {
        if self.gen == u32::MAX {
            self.mark_a.iter_mut().for_each(|m| *m = 0);
            self.mark_b.iter_mut().for_each(|m| *m = 0);
            self.gen = 0;
        }
        self.gen += 1;
        self.gen
    }
}

/// What a switch operation changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnergisationChange {
    /// Node indices that lost supply.
    pub de_energised: Vec<usize>,
    /// Node indices that regained supply.
    pub energised: Vec<usize>,
    /// Load-point indices that lost supply.
    pub loads_lost: Vec<usize>,
    /// Load-point indices that regained supply.
    pub loads_restored: Vec<usize>,
    pub customers_lost: u64,
    pub customers_restored: u64,
}

/// The part of the network that a device feeds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Downstream {
    /// Node indices that would lose supply if the device opened.
    pub nodes: Vec<usize>,
    /// Load-point indices among them.
    pub loads: Vec<usize>,
    pub customers: u64,
    pub avg_kw: f64,
    pub peak_kw: f64,
}

/// The route from a node up to its source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathToSource {
    /// Node indices from the start node to the source, both included.
    pub nodes: Vec<usize>,
    /// Branch indices in the same order (one fewer than nodes).
    pub branches: Vec<usize>,
}

/// Result of the two-sided search that follows opening a branch between `a` and `b`.
enum Split {
    /// Both sides still reach a source.
    Connected,
    /// This side (its visited nodes, in `qa` or `qb`) lost every source.
    DeadA,
    DeadB,
}

impl Network {
    /// Recomputes the energised set from scratch (BFS from every source over closed branches).
    pub fn recompute_energised(&mut self) {
        let n = self.nodes.len();
        self.energised.clear();
        self.energised.resize(n, false);
        let mut queue = std::mem::take(&mut self.scratch.qa);
        queue.clear();
        for v in 0..n {
            if self.nodes[v].kind == NodeKind::Source {
                self.energised[v] = true;
                queue.push(v);
            }
        }
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head];
            head += 1;
            for &(bi, w) in &self.adj[self.adj_start[v]..self.adj_start[v + 1]] {
                if !self.branches[bi].open && !self.energised[w] {
                    self.energised[w] = true;
                    queue.push(w);
                }
            }
        }
        self.scratch.qa = queue;
    }

    /// Energised flags by node index.
    pub fn energised_mask(&self) -> &[bool] {
        &self.energised
    }

    pub fn is_energised(&self, node_id: &str) -> Result<bool, GridError> {
        Ok(self.energised[self.node_idx(node_id)?])
    }

    /// Load-point indices without supply now.
    pub fn de_energised_loads(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&v| self.nodes[v].kind == NodeKind::Load && !self.energised[v])
            .collect()
    }

    /// Opens or closes a switching device and returns the change in energised nodes and loads.
    /// Lines and transformers cannot be operated ([`GridError::NotASwitch`]).
    pub fn set_open(&mut self, branch_id: &str, open: bool) -> Result<EnergisationChange, GridError> {
        let bi = self.branch_idx(branch_id)?;
        if !self.branches[bi].kind.is_switch() {
            return Err(GridError::NotASwitch(branch_id.into()));
        }
        Ok(self.set_open_idx(bi, open))
    }

    /// As [`Network::set_open`] by branch index, for any branch kind (e.g. to take a line out in a study).
    pub fn set_open_idx(&mut self, bi: usize, open: bool) -> EnergisationChange {
        let mut change = EnergisationChange::default();
        if self.branches[bi].open == open {
            return change;
        }
        self.branches[bi].open = open;
        let (a, b) = self.ends[bi];
        if open {
            if !(self.energised[a] && self.energised[b]) {
                return change;
            }
            let mut scratch = std::mem::take(&mut self.scratch);
            let split = split_search(self, &mut scratch, a, b, bi);
            self.scratch = scratch;
            let dead = match split {
                Split::Connected => return change,
                Split::DeadA => std::mem::take(&mut self.scratch.qa),
                Split::DeadB => std::mem::take(&mut self.scratch.qb),
            };
            for &v in &dead {
                self.energised[v] = false;
            }
            change.de_energised = dead.clone();
            // Give the buffer back (whichever side it came from; both are scratch).
            if self.scratch.qa.is_empty() {
                self.scratch.qa = dead;
            } else {
                self.scratch.qb = dead;
            }
        } else {
            let start = match (self.energised[a], self.energised[b]) {
                (true, false) => b,
                (false, true) => a,
                _ => return change,
            };
            let mut queue = std::mem::take(&mut self.scratch.qa);
            queue.clear();
            self.energised[start] = true;
            queue.push(start);
            let mut head = 0;
            while head < queue.len() {
                let v = queue[head];
                head += 1;
                for &(bj, w) in &self.adj[self.adj_start[v]..self.adj_start[v + 1]] {
                    if !self.branches[bj].open && !self.energised[w] {
                        self.energised[w] = true;
                        queue.push(w);
                    }
                }
            }
            change.energised = queue.clone();
            self.scratch.qa = queue;
        }
        for &v in &change.de_energised {
            if self.nodes[v].kind == NodeKind::Load {
                change.loads_lost.push(v);
                change.customers_lost += self.nodes[v].customers as u64;
            }
        }
        for &v in &change.energised {
            if self.nodes[v].kind == NodeKind::Load {
                change.loads_restored.push(v);
                change.customers_restored += self.nodes[v].customers as u64;
            }
        }
        change
    }

    /// Everything that would lose supply if `branch_id` opened now (nodes, loads, customers, demand).
    /// Empty for an open branch, a de-energised one, or one with an alternative closed path.
    pub fn downstream(&self, branch_id: &str) -> Result<Downstream, GridError> {
        let bi = self.branch_idx(branch_id)?;
        Ok(self.downstream_idx(bi))
    }

    /// As [`Network::downstream`] by branch index.
    pub fn downstream_idx(&self, bi: usize) -> Downstream {
        let mut out = Downstream::default();
        let (a, b) = self.ends[bi];
        if self.branches[bi].open || !(self.energised[a] && self.energised[b]) {
            return out;
        }
        // Queries take &self, so they search with buffers of their own.
        let mut s = Scratch::new(self.nodes.len());
        let dead = match split_search(self, &mut s, a, b, bi) {
            Split::Connected => return out,
            Split::DeadA => s.qa,
            Split::DeadB => s.qb,
        };
        for &v in &dead {
            let node = &self.nodes[v];
            if node.kind == NodeKind::Load {
                out.loads.push(v);
                out.customers += node.customers as u64;
                out.avg_kw += node.avg_kw;
                out.peak_kw += node.peak_kw;
            }
        }
        out.nodes = dead;
        out
    }

    /// The route over closed branches from `node_id` to the nearest source (fewest branches), or
    /// `None` when the node is not energised.
    pub fn path_to_source(&self, node_id: &str) -> Result<Option<PathToSource>, GridError> {
        let start = self.node_idx(node_id)?;
        Ok(self.path_to_source_idx(start))
    }

    /// As [`Network::path_to_source`] by node index.
    pub fn path_to_source_idx(&self, start: usize) -> Option<PathToSource> {
        if !self.energised[start] {
            return None;
        }
        let n = self.nodes.len();
        const NONE: usize = usize::MAX;
        let mut via = vec![NONE; n]; // branch by which a node was reached
        let mut seen = vec![false; n];
        let mut queue = vec![start];
        seen[start] = true;
        let mut head = 0;
        let mut found = NONE;
        while head < queue.len() {
            let v = queue[head];
            head += 1;
            if self.nodes[v].kind == NodeKind::Source {
                found = v;
                break;
            }
            for &(bi, w) in self.neighbours(v) {
                if !self.branches[bi].open && !seen[w] {
                    seen[w] = true;
                    via[w] = bi;
                    queue.push(w);
                }
            }
        }
        if found == NONE {
            return None;
        }
        let mut path = PathToSource::default();
        let mut v = found;
        path.nodes.push(v);
        while v != start {
            let bi = via[v];
            path.branches.push(bi);
            let (f, t) = self.ends[bi];
            v = if f == v { t } else { f };
            path.nodes.push(v);
        }
        path.nodes.reverse();
        path.branches.reverse();
        Some(path)
    }
}

/// Interleaved BFS from both ends of `skip` (treated as open) over closed branches. Stops as soon as
/// the answer is known: the sides meet, both find a source, or one side is exhausted without one.
/// A dead side's nodes are left in `s.qa` (side A) or `s.qb` (side B).
fn split_search(net: &Network, s: &mut Scratch, a: usize, b: usize, skip: usize) -> Split {
    if s.mark_a.len() < net.nodes.len() {
        *s = Scratch::new(net.nodes.len());
    }
    let g = s.next_gen();
    s.qa.clear();
    s.qb.clear();
    s.qa.push(a);
    s.mark_a[a] = g;
    s.qb.push(b);
    s.mark_b[b] = g;
    let (mut ha, mut hb) = (0usize, 0usize);
    let is_src = |v: usize| net.nodes[v].kind == NodeKind::Source;
    let mut found_a = is_src(a);
    let mut found_b = is_src(b);
    loop {
        if found_a && found_b {
            return Split::Connected;
        }
        // Expand side A by one node unless it already has a source.
        if !found_a {
            if ha == s.qa.len() {
                return Split::DeadA;
            }
            let v = s.qa[ha];
            ha += 1;
            for &(bi, w) in &net.adj[net.adj_start[v]..net.adj_start[v + 1]] {
                if bi == skip || net.branches[bi].open || s.mark_a[w] == g {
                    continue;
                }
                if s.mark_b[w] == g {
                    return Split::Connected;
                }
                s.mark_a[w] = g;
                s.qa.push(w);
                if is_src(w) {
                    found_a = true;
                }
            }
        }
        if !found_b {
            if hb == s.qb.len() {
                return Split::DeadB;
            }
            let v = s.qb[hb];
            hb += 1;
            for &(bi, w) in &net.adj[net.adj_start[v]..net.adj_start[v + 1]] {
                if bi == skip || net.branches[bi].open || s.mark_b[w] == g {
                    continue;
                }
                if s.mark_a[w] == g {
                    return Split::Connected;
                }
                s.mark_b[w] = g;
                s.qb.push(w);
                if is_src(w) {
                    found_b = true;
                }
            }
        }
    }
}
