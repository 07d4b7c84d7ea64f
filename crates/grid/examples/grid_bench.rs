//! Timings of tracing and RELRAD on synthetic networks.
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
}
