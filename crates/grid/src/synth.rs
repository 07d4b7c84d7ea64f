//! Deterministic synthetic networks for benchmarks and demos (no randomness crate: a small LCG).

use crate::model::{Branch, BranchKind, Network, Node, NodeKind, Params};

/// Shape of a synthetic network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthSpec {
    /// Number of feeders; consecutive feeders are joined at their far ends by a normally-open tie.
    pub feeders: usize,
    /// Main-line segments per feeder; each has a fused lateral with one load point.
    pub segments: usize,
    /// A disconnector every `disconnector_every` main segments (0 = none).
    pub disconnector_every: usize,
    /// Feeders per source (substation bus).
    pub feeders_per_source: usize,
    pub seed: u64,
}

impl Default for SynthSpec {
    fn default() -> SynthSpec {
        SynthSpec { feeders: 10, segments: 50, disconnector_every: 5, feeders_per_source: 8, seed: 1 }
    }
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Builds the rows of a synthetic network (radial feeders with fused laterals, disconnectors on the
/// main lines and normally-open ties between neighbouring feeders).
pub fn rows(spec: &SynthSpec) -> (Vec<Node>, Vec<Branch>) {
    let mut rng = Lcg(spec.seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
    let mut nodes = Vec::new();
    let mut branches = Vec::new();
    let per_src = spec.feeders_per_source.max(1);
    let line = |id: String, f: &str, t: &str, km: f64, repair: f64| Branch {
        length_km: km,
        failure_rate: 0.08,
        repair_h: repair,
        ..Branch::new(id, f, t, BranchKind::Line)
    };
    let mut ends = Vec::new();
    for f in 0..spec.feeders {
        let src = format!("S{}", f / per_src);
        if f % per_src == 0 {
            nodes.push(Node::new(src.clone(), NodeKind::Source));
        }
        let head = format!("F{f}H");
        nodes.push(Node::new(head.clone(), NodeKind::Bus));
        branches.push(Branch::new(format!("F{f}CB"), &src, &head, BranchKind::Breaker));
        let mut prev = head;
        for k in 0..spec.segments {
            let m = format!("F{f}M{k}");
            if spec.disconnector_every > 0 && k > 0 && k % spec.disconnector_every == 0 {
                let x = format!("F{f}X{k}");
                nodes.push(Node::new(x.clone(), NodeKind::Bus));
                branches.push(Branch::new(format!("F{f}D{k}"), &prev, &x, BranchKind::Disconnector));
                prev = x;
            }
            nodes.push(Node::new(m.clone(), NodeKind::Bus));
            branches.push(line(format!("F{f}L{k}"), &prev, &m, 0.2 + rng.next(), 4.0));
            let lat = format!("F{f}T{k}");
            nodes.push(Node::new(lat.clone(), NodeKind::Bus));
            branches.push(Branch::new(format!("F{f}FU{k}"), &m, &lat, BranchKind::Fuse));
            let lp = format!("F{f}LP{k}");
            let cust = 20 + (rng.next() * 200.0) as u32;
            let avg = cust as f64 * (1.0 + rng.next());
            nodes.push(Node { name: String::new(), ..Node::load(lp.clone(), cust, avg, avg * 1.8) });
            branches.push(line(format!("F{f}LL{k}"), &lat, &lp, 0.1 + rng.next() * 0.5, 2.0));
            prev = m;
        }
        ends.push(prev);
    }
    for f in 1..spec.feeders {
        let mut tie = Branch::new(format!("TIE{f}"), &ends[f - 1], &ends[f], BranchKind::LoadBreakSwitch);
        tie.normal_open = true;
        tie.open = true;
        branches.push(tie);
    }
    (nodes, branches)
}

/// A validated synthetic network with default parameters.
pub fn network(spec: &SynthSpec) -> Network {
    let (nodes, branches) = rows(spec);
    Network::new(nodes, branches, Params::default()).expect("synthetic network is valid")
}
