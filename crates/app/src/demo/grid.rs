//! The demo county's 10 kV network: two substations, feeders in "hand-in-hand" pairs (手拉手) joined
//! by normally-open tie switches, sectionalising load-break switches on the trunk, fused laterals to
//! the distribution transformers (台区), and large customers on their own 10 kV breakers.

use super::org::BUREAU;
use super::rng::Rng;
use bureau_grid::{BranchKind, NodeKind};
use bureau_store::{GridBranch, GridNode};

/// Transformers per trunk section, and sections per feeder: 30 台区 a feeder.
pub const PER_SECTION: usize = 5;
pub const SECTIONS: usize = 6;

const FEEDER_NAMES: &[&str] =
    &["城关一线", "城关二线", "城北线", "城南线", "兴隆线", "太平线", "丰收线", "永安线", "新民线", "长青线"];

/// Where a transformer sits, for the customers who hang on it.
#[derive(Clone, Debug)]
pub struct Transformer {
    pub id: String,
    pub feeder: usize,
    pub section: usize,
    pub urban: bool,
    pub remote: bool,
}

pub struct Layout {
    pub nodes: Vec<GridNode>,
    pub branches: Vec<GridBranch>,
    pub transformers: Vec<Transformer>,
    /// The node of each large (10 kV) customer.
    pub large_points: Vec<(String, usize)>,
    pub feeders: usize,
}

pub fn feeder_name(f: usize) -> String {
    match FEEDER_NAMES.get(f) {
        Some(n) => format!("10kV{n}"),
        None => format!("10kV{}号线", f + 1),
    }
}

fn node(id: String, kind: NodeKind, name: String) -> GridNode {
    GridNode {
        id,
        bureau_id: BUREAU.into(),
        kind: kind.code().into(),
        name,
        customers: 0,
        avg_kw: 0.0,
        peak_kw: 0.0,
    }
}

fn branch(
    id: String,
    from: &str,
    to: &str,
    kind: BranchKind,
    normal_open: bool,
    length_km: f64,
) -> GridBranch {
    // Typical rates for 10 kV overhead networks of the region (per km·year for lines, per year for
    // equipment) and repair times in hours; demo values, not measurements.
    let (failure_rate, repair_h) = match kind {
        BranchKind::Line => (0.065, 4.0),
        BranchKind::Transformer => (0.015, 8.0),
        BranchKind::Breaker => (0.004, 6.0),
        BranchKind::Recloser => (0.006, 6.0),
        BranchKind::Fuse => (0.010, 1.5),
        BranchKind::Disconnector => (0.004, 3.0),
        BranchKind::LoadBreakSwitch => (0.005, 3.0),
    };
    GridBranch {
        id,
        bureau_id: BUREAU.into(),
        from_node: from.into(),
        to_node: to.into(),
        kind: kind.code().into(),
        normal_open,
        is_open: normal_open,
        length_km,
        failure_rate,
        repair_h,
    }
}

/// Lays out `transformers` public transformers and `large` 10 kV customers.
pub fn layout(rng: &mut Rng, transformers: usize, large: usize) -> Layout {
    let per_feeder = PER_SECTION * SECTIONS;
    // Feeders come in pairs, so round up to an even number.
    let feeders = transformers.div_ceil(per_feeder).max(2).div_ceil(2) * 2;
    let urban_feeders = (feeders * 2).div_ceil(5);
    // The town takes the first 40% of transformers; the far ends of the last feeders are remote.
    let urban_transformers = (transformers * 2).div_ceil(5);
    let mut nodes = Vec::new();
    let mut branches = Vec::new();
    // Sources: the 10 kV buses of the 220 kV and the 66 kV substation; a bigger county gets more.
    let substations = feeders.div_ceil(10).max(1);
    let mut sources = Vec::new();
    for s in 0..substations {
        let (a, b) = (format!("SUB{}-220-10kV", s + 1), format!("SUB{}-66-10kV", s + 1));
        let suffix = if substations > 1 { format!("{}", s + 1) } else { String::new() };
        nodes.push(node(a.clone(), NodeKind::Source, format!("220kV安平变{suffix} 10kV母线")));
        nodes.push(node(b.clone(), NodeKind::Source, format!("66kV城南变{suffix} 10kV母线")));
        sources.push((a, b));
    }
    let mut out = Vec::new();
    for f in 0..feeders {
        let fid = format!("F{:02}", f + 1);
        let (a, b) = &sources[f / 10 % substations];
        // The two feeders of a pair start from different substations, so either can carry both.
        let source = if f % 2 == 0 { a } else { b };
        let head = format!("{fid}-B0");
        nodes.push(node(head.clone(), NodeKind::Bus, format!("{} 出线", feeder_name(f))));
        branches.push(branch(format!("{fid}-CB"), source, &head, BranchKind::Breaker, false, 0.0));
        let mut prev = head;
        for s in 1..=SECTIONS {
            let bus = format!("{fid}-B{s}");
            nodes.push(node(bus.clone(), NodeKind::Bus, format!("{} {s}号杆", feeder_name(f))));
            let km = (rng.range(0.6, 1.8) * 100.0).round() / 100.0;
            if s == 3 || s == 5 {
                // A sectionalising switch ahead of sections 3 and 5 splits the trunk into three zones.
                let mid = format!("{fid}-B{s}K");
                nodes.push(node(mid.clone(), NodeKind::Bus, format!("{} {s}号分段", feeder_name(f))));
                branches.push(branch(format!("{fid}-L{s}"), &prev, &mid, BranchKind::Line, false, km));
                branches.push(branch(
                    format!("{fid}-K{s}"),
                    &mid,
                    &bus,
                    BranchKind::LoadBreakSwitch,
                    false,
                    0.0,
                ));
            } else {
                branches.push(branch(format!("{fid}-L{s}"), &prev, &bus, BranchKind::Line, false, km));
            }
            for k in 1..=PER_SECTION {
                let n = out.len();
                if n >= transformers {
                    break;
                }
                let hv = format!("{fid}-T{s}{k}-HV");
                let t = format!("{fid}-T{s}{k}");
                let name = format!("{}{s}-{k}号台区", feeder_name(f).trim_start_matches("10kV"));
                nodes.push(node(hv.clone(), NodeKind::Bus, format!("{name}高压侧")));
                let mut load = node(t.clone(), NodeKind::Load, name);
                load.kind = NodeKind::Load.code().into();
                nodes.push(load);
                branches.push(branch(format!("{fid}-FU{s}{k}"), &bus, &hv, BranchKind::Fuse, false, 0.0));
                branches.push(branch(
                    format!("{fid}-TR{s}{k}"),
                    &hv,
                    &t,
                    BranchKind::Transformer,
                    false,
                    0.0,
                ));
                out.push(Transformer {
                    id: t,
                    feeder: f,
                    section: s,
                    urban: n < urban_transformers,
                    remote: n * 5 >= transformers * 4 && s >= 5,
                });
            }
            prev = bus;
        }
        // The tie: the far end of each odd feeder meets the far end of its partner, normally open.
        if f % 2 == 1 {
            let partner = format!("F{:02}", f);
            branches.push(branch(
                format!("TIE-{partner}-{fid}"),
                &format!("{partner}-B{SECTIONS}"),
                &format!("{fid}-B{SECTIONS}"),
                BranchKind::LoadBreakSwitch,
                true,
                0.0,
            ));
        }
    }
    // Large customers on their own breaker off a trunk bus; farms on the rural feeders.
    let mut large_points = Vec::new();
    for i in 0..large {
        let f = if i < 3 {
            i % urban_feeders.max(1)
        } else {
            urban_feeders + (i % (feeders - urban_feeders).max(1))
        };
        let f = f.min(feeders - 1);
        let s = 2 + i % (SECTIONS - 1);
        let id = format!("DK{:03}", i + 1);
        nodes.push(node(id.clone(), NodeKind::Load, format!("10kV专变用户{}", i + 1)));
        branches.push(branch(
            format!("{id}-CB"),
            &format!("F{:02}-B{s}", f + 1),
            &id,
            BranchKind::Breaker,
            false,
            0.0,
        ));
        large_points.push((id, f));
    }
    Layout { nodes, branches, transformers: out, large_points, feeders }
}
