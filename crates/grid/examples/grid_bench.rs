//! Timings of tracing, RELRAD and storm grouping on synthetic networks.
//! Run: `cargo run --release -p bureau-grid --example grid_bench`

use std::time::Instant;

use bureau_grid::synth::{network, SynthSpec};
use bureau_grid::NodeKind;

fn main() {
    // ~100,000 nodes: 200 feeders × 160 segments (3.2 nodes per segment).
    let spec =
        SynthSpec { feeders: 200, segments: 160, disconnector_every: 5, feeders_per_source: 8, seed: 7 };
    let t = Instant::now();
    let mut net = network(&spec);
    println!(
        "built {} nodes, {} branches in {:.1} ms",
        net.nodes().len(),
        net.branches().len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    net.recompute_energised();
    println!("full energisation: {:.2} ms", t.elapsed().as_secs_f64() * 1e3);

    // Switch operations: every disconnector of 20 feeders opened then closed; and feeder breakers.
    let ids: Vec<String> = net
        .branches()
        .iter()
        .filter(|b| b.kind.is_switch() && !b.normal_open)
        .filter(|b| b.id.starts_with("F1") && (b.id.contains('D') || b.id.contains("CB")))
        .map(|b| b.id.clone())
        .collect();
    let (mut worst, mut total, mut ops) = (0.0f64, 0.0f64, 0usize);
    for id in &ids {
        for open in [true, false] {
            let t = Instant::now();
            let ch = net.set_open(id, open).unwrap();
            let dt = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(ch);
            worst = worst.max(dt);
            total += dt;
            ops += 1;
        }
    }
    println!("set_open: {ops} operations, mean {:.3} ms, worst {:.3} ms", total / ops as f64, worst);
    // With a tie closed the network is meshed: opening a breaker must search both sides.
    net.set_open("TIE11", false).unwrap();
    let t = Instant::now();
    let ch = net.set_open("F11CB", true).unwrap();
    println!(
        "set_open on a meshed pair (F11CB with TIE11 closed): {:.3} ms, {} nodes changed",
        t.elapsed().as_secs_f64() * 1e3,
        ch.de_energised.len()
    );
    let t = Instant::now();
    let d = net.downstream("F12CB").unwrap();
    println!("downstream(F12CB): {:.3} ms, {} customers", t.elapsed().as_secs_f64() * 1e3, d.customers);

    // RELRAD on ~10,000 line sections (50 feeders × 100 segments × 2 lines) and on the 100k model.
    for spec in [
        SynthSpec { feeders: 50, segments: 100, disconnector_every: 5, feeders_per_source: 8, seed: 3 },
        spec,
    ] {
        let net = network(&spec);
        let lines = net.branches().iter().filter(|b| b.kind == bureau_grid::BranchKind::Line).count();
        let loads = net.nodes().iter().filter(|n| n.kind == NodeKind::Load).count();
        let t = Instant::now();
        let rep = net.reliability();
        println!(
            "RELRAD: {} nodes, {lines} line sections, {loads} load points: {:.1} ms (SAIFI {:.3}, SAIDI {:.3} h)",
            net.nodes().len(),
            t.elapsed().as_secs_f64() * 1e3,
            rep.saifi,
            rep.saidi
        );
    }

    // A storm: 100,000 trouble calls within half an hour on a grid of about 1,000,000 customers
    // (100 feeders × 84 segments, one load point of 20–220 customers per segment), grouped at once.
    let spec =
        SynthSpec { feeders: 100, segments: 84, disconnector_every: 5, feeders_per_source: 8, seed: 11 };
    let net = network(&spec);
    let loads: Vec<String> =
        net.nodes().iter().filter(|n| n.kind == NodeKind::Load).map(|n| n.id.clone()).collect();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let calls: Vec<bureau_grid::predict::Call> = (0..100_000)
        .map(|k| bureau_grid::predict::Call {
            id: format!("C{k}"),
            load: loads[(next() % loads.len() as u64) as usize].clone(),
            time_s: (k as i64 * 1800) / 100_000,
        })
        .collect();
    let rules = bureau_grid::predict::PredictionRules::default();
    let t = Instant::now();
    let out = net.predict_outages(&calls, &Default::default(), &rules).unwrap();
    println!(
        "storm grouping: {} calls on {} customers ({} load points): {:.1} ms, {} predicted outages",
        calls.len(),
        net.total_customers(),
        loads.len(),
        t.elapsed().as_secs_f64() * 1e3,
        out.len()
    );
    // A storm of local faults: calls only below 300 random fuses (a third of their customers call).
    let fuses: Vec<String> = net
        .branches()
        .iter()
        .filter(|b| b.kind == bureau_grid::BranchKind::Fuse)
        .map(|b| b.id.clone())
        .collect();
    let mut local = Vec::new();
    for f in 0..300 {
        let fuse = &fuses[(next() % fuses.len() as u64) as usize];
        let d = net.downstream(fuse).unwrap();
        for &l in &d.loads {
            let n = (net.nodes()[l].customers / 3).max(1);
            for c in 0..n {
                local.push(bureau_grid::predict::Call {
                    id: format!("L{f}-{c}"),
                    load: net.nodes()[l].id.clone(),
                    time_s: (next() % 1800) as i64,
                });
            }
        }
    }
    let t = Instant::now();
    let out = net.predict_outages(&local, &Default::default(), &rules).unwrap();
    println!(
        "local-fault storm: {} calls below 300 fuses: {:.1} ms, {} predicted outages",
        local.len(),
        t.elapsed().as_secs_f64() * 1e3,
        out.len()
    );
}
