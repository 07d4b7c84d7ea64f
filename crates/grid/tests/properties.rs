//! Property tests on random radial networks:
//! * RELRAD agrees with a brute-force simulation of every failure (trip, isolate, restore by switching);
//! * incremental energisation after any sequence of switch operations equals a full recomputation.

use bureau_grid::{Branch, BranchKind, Network, Node, NodeKind, Params};
use proptest::prelude::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
}

/// A random radial network: node 0 and sometimes others are sources; each other node hangs from an
/// earlier one through a random kind of branch; a few random normally-open ties.
fn random_network(seed: u64, n: usize, ties: usize) -> Network {
    let mut rng = Rng(seed);
    let mut nodes = vec![Node::new("N0", NodeKind::Source)];
    let mut branches = Vec::new();
    for i in 1..n {
        let id = format!("N{i}");
        if rng.below(12) == 0 {
            nodes.push(Node::new(id, NodeKind::Source));
            continue;
        }
        if rng.below(10) < 4 {
            nodes.push(Node::load(id.clone(), 1 + rng.below(100) as u32, rng.unit() * 100.0, 100.0));
        } else {
            nodes.push(Node::new(id.clone(), NodeKind::Bus));
        }
        let parent = rng.below(i);
        let kind = BranchKind::ALL[rng.below(7)];
        branches.push(Branch {
            length_km: rng.unit() * 3.0,
            failure_rate: if rng.below(5) == 0 { 0.0 } else { rng.unit() * 0.3 },
            repair_h: 0.5 + rng.unit() * 8.0,
            ..Branch::new(format!("B{i}"), format!("N{parent}"), id, kind)
        });
    }
    for t in 0..ties {
        let u = rng.below(n);
        let v = rng.below(n);
        if u != v {
            let mut b =
                Branch::new(format!("T{t}"), format!("N{u}"), format!("N{v}"), BranchKind::LoadBreakSwitch);
            b.normal_open = true;
            b.open = true;
            branches.push(b);
        }
    }
    let params = Params { switching_h: 0.25 + rng.unit() * 3.0, hours_per_year: 8760.0 };
    Network::new(nodes, branches, params).expect("random radial network is valid")
}

fn energised(net: &Network, closed: &[bool]) -> Vec<bool> {
    let n = net.nodes().len();
    let mut on = vec![false; n];
    let mut queue: Vec<usize> = (0..n).filter(|&v| net.nodes()[v].kind == NodeKind::Source).collect();
    for &s in &queue {
        on[s] = true;
    }
    while let Some(v) = queue.pop() {
        for &(bi, w) in net.neighbours(v) {
            if closed[bi] && !on[w] {
                on[w] = true;
                queue.push(w);
            }
        }
    }
    on
}

/// Brute force: simulate each failure with explicit switch states.
fn brute_force(net: &Network) -> Vec<(f64, f64)> {
    let n = net.nodes().len();
    let br = net.branches();
    let normal: Vec<bool> = br.iter().map(|b| !b.normal_open).collect();
    // Orientation of the normal tree.
    let mut parent_b = vec![usize::MAX; n];
    let mut parent_n = vec![usize::MAX; n];
    let mut root = vec![usize::MAX; n];
    let mut queue: Vec<usize> = (0..n).filter(|&v| net.nodes()[v].kind == NodeKind::Source).collect();
    for &s in &queue {
        root[s] = s;
    }
    let mut head = 0;
    while head < queue.len() {
        let v = queue[head];
        head += 1;
        for &(bi, w) in net.neighbours(v) {
            if normal[bi] && root[w] == usize::MAX {
                root[w] = root[v];
                parent_b[w] = bi;
                parent_n[w] = v;
                queue.push(w);
            }
        }
    }
    let on_normal = energised(net, &normal);
    let sw = net.params().switching_h;
    let mut out = vec![(0.0, 0.0); n];
    for (e, b) in br.iter().enumerate() {
        let lam = b.failures_per_year();
        let (f, t) = net.branch_ends(e);
        if !normal[e] || lam <= 0.0 || !on_normal[f] {
            continue;
        }
        let (p, c) = if parent_b[t] == e { (f, t) } else { (t, f) };
        // 1. Protection trips.
        let mut x = p;
        let mut prot = None;
        while parent_b[x] != usize::MAX {
            if br[parent_b[x]].kind.is_protective() {
                prot = Some(parent_b[x]);
                break;
            }
            x = parent_n[x];
        }
        let interrupted: Vec<bool> = match prot {
            Some(pb) => {
                let mut st = normal.clone();
                st[pb] = false;
                let on = energised(net, &st);
                (0..n).map(|v| on_normal[v] && !on[v]).collect()
            }
            None => (0..n).map(|v| root[v] == root[p]).collect(),
        };
        // 2. Fault zone: reach through closed non-switching branches from both ends.
        let mut zone = vec![false; n];
        let mut stack = vec![p, c];
        zone[p] = true;
        zone[c] = true;
        while let Some(v) = stack.pop() {
            for &(bi, w) in net.neighbours(v) {
                if normal[bi] && !br[bi].kind.is_switch() && !zone[w] {
                    zone[w] = true;
                    stack.push(w);
                }
            }
        }
        // 3. Isolate the zone, reclose the protection, close every tie not touching the zone.
        let mut st = normal.clone();
        for (bi, bb) in br.iter().enumerate() {
            let (a, z) = net.branch_ends(bi);
            let touches = zone[a] || zone[z];
            if bb.kind.is_switch() && touches {
                st[bi] = false;
            } else if bb.normal_open && !touches {
                st[bi] = true;
            }
        }
        st[e] = false;
        let on = energised(net, &st);
        let s = sw.min(b.repair_h);
        for v in 0..n {
            if net.nodes()[v].kind == NodeKind::Load && interrupted[v] {
                let dur = if zone[v] || !on[v] { b.repair_h } else { s };
                out[v].0 += lam;
                out[v].1 += lam * dur;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn relrad_matches_brute_force(seed in any::<u64>(), n in 2usize..45, ties in 0usize..6) {
        let net = random_network(seed, n, ties);
        let rep = net.reliability();
        let bf = brute_force(&net);
        for (v, node) in net.nodes().iter().enumerate() {
            if node.kind != NodeKind::Load {
                continue;
            }
            let lp = rep.load_points[&node.id];
            prop_assert!((lp.lambda - bf[v].0).abs() < 1e-9, "{} λ {} vs {}", node.id, lp.lambda, bf[v].0);
            prop_assert!((lp.u - bf[v].1).abs() < 1e-9, "{} U {} vs {}", node.id, lp.u, bf[v].1);
        }
    }

    #[test]
    fn incremental_energisation_matches_recompute(
        seed in any::<u64>(), n in 2usize..45, ties in 0usize..6, ops in proptest::collection::vec(any::<u32>(), 1..30)
    ) {
        let mut net = random_network(seed, n, ties);
        let m = net.branches().len();
        prop_assume!(m > 0);
        for op in ops {
            let bi = op as usize % m;
            let open = op & (1 << 31) != 0;
            let before = net.energised_mask().to_vec();
            let ch = net.set_open_idx(bi, open);
            let after = net.energised_mask().to_vec();
            let mut fresh = net.clone();
            fresh.recompute_energised();
            prop_assert_eq!(&after, fresh.energised_mask());
            for v in 0..after.len() {
                let lost = before[v] && !after[v];
                let gained = !before[v] && after[v];
                prop_assert_eq!(lost, ch.de_energised.contains(&v));
                prop_assert_eq!(gained, ch.energised.contains(&v));
            }
        }
    }
}
