//! Two years of recorded outages for the demo county (the demo's twelve months and the year before,
//! so that the 2.5β threshold has a history), consistent with about 99.8% supply reliability
//! (RS-1 on medium-voltage users: AIHC-1 ≈ 0.002 × 8760 ≈ 17.5 h per user and year), two thirds of
//! the outage time from faults and one third planned, as in the national statistics
//! (../shared/reference/outage-and-reliability.md):
//!
//! * a fuse blows on a transformer lateral: that 台区 is out until the repair;
//! * a trunk section fails: the feeder breaker trips, the healthy parts come back by switching after
//!   about an hour (upstream, and downstream over the tie), the isolated section waits for the repair;
//! * planned work on a trunk section: the switching plan of the grid crate, the load points it leaves
//!   without supply are out for the working hours;
//! * a few successful auto-reclosures (momentary, under 5 minutes);
//! * one storm day in the demo year: trunk faults on most feeders, restored only by repair (a major
//!   event day by the 2.5β method).
//!
//! Deterministic for a seed; ids are fixed, so a second run adds nothing.

use super::org::BUREAU;
use super::rng::Rng;
use super::DemoOptions;
use crate::error::AppResult;
use bureau_grid::switching::TransferOptions;
use bureau_grid::{BranchKind, Network, NodeKind};
use bureau_store::{DynStore, Outage, OutagePoint, OutageWithPoints, Scope};

/// Target reliability (RS-1) and the planned share of the outage time.
const TARGET_RS1: f64 = 0.998;
const PLANNED_SHARE: f64 = 0.33;

struct Gen<'a> {
    net: &'a Network,
    rng: Rng,
    out: Vec<OutageWithPoints>,
    seq: usize,
    year_tag: i32,
}

impl Gen<'_> {
    fn outage(
        &mut self,
        class: &str,
        device: &str,
        start: i64,
        points: Vec<(String, i64)>,
        cause: &str,
    ) -> f64 {
        self.seq += 1;
        let id = format!("OT-DEMO-{}-{:04}", self.year_tag, self.seq);
        let mut hours = 0.0;
        let points: Vec<OutagePoint> = points
            .into_iter()
            .map(|(load, end)| {
                hours += (end - start) as f64 / 3600.0;
                OutagePoint {
                    outage_id: id.clone(),
                    customers: self.net.node(&load).map_or(0, |n| n.customers as i64),
                    load_id: load,
                    out_at: start,
                    restored_at: Some(end),
                }
            })
            .collect();
        let end = points.iter().filter_map(|p| p.restored_at).max().unwrap_or(start);
        self.out.push(OutageWithPoints {
            outage: Outage {
                id,
                bureau_id: BUREAU.into(),
                class: class.into(),
                state: "closed".into(),
                device: Some(device.into()),
                load_point: None,
                started_at: start,
                confirmed_at: Some(start + 600),
                restored_at: Some(end),
                closed_at: Some(end + 3600),
                etr: None,
                crew: Some(if class == "planned" { "检修班" } else { "抢修一班" }.into()),
                cause: cause.into(),
                customers: points.iter().map(|p| p.customers).sum(),
                mv_users: points.len() as i64,
                calls: 0,
                plan_id: None,
                created_by: "demo".into(),
            },
            points,
        });
        hours
    }

    /// Loads fed through a device now.
    fn below(&self, branch: &str) -> Vec<String> {
        let Ok(bi) = self.net.branch_idx(branch) else { return Vec::new() };
        self.net.downstream_idx(bi).loads.into_iter().map(|v| self.net.nodes()[v].id.clone()).collect()
    }

    /// A trunk fault: everything of the feeder out; healthy parts back after switching, the isolated
    /// section after the repair. Returns MV-user hours.
    /// In a storm the crews are out everywhere: nothing is restored before the repair.
    fn trunk_fault(&mut self, line: &str, head: &str, start: i64, storm: bool) -> f64 {
        let all = self.below(head);
        let Ok(plan) = self.net.plan_transfer(line, &TransferOptions::default()) else { return 0.0 };
        let switch_end = start + (self.rng.range(0.6, 1.5) * 3600.0) as i64;
        let repair_end = start + (self.rng.range(3.0, 7.0) * if storm { 1.6 } else { 1.0 } * 3600.0) as i64;
        let points = all
            .into_iter()
            .map(|l| {
                let end = if storm || plan.unsupplied_loads.contains(&l) { repair_end } else { switch_end };
                (l, end)
            })
            .collect();
        let cause = *self.rng.pick(&["wind", "tree", "external_damage", "lightning", "equipment_ageing"]);
        self.outage("fault", line, start, points, cause)
    }
}

/// Local midnight (UTC+8) of the first day of a month, as Unix seconds.
fn month_start(year: i16, month: i8) -> i64 {
    let d = jiff::civil::Date::new(year, month, 1).expect("valid month");
    d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp().as_second()).unwrap_or(0) - 8 * 3600
}

/// Generates and stores the outages; returns how many were new.
pub async fn generate(store: &DynStore, opts: &DemoOptions) -> AppResult<u64> {
    let net = crate::grid::load(store, &Scope::Bureaus(vec![BUREAU.into()])).await?;
    let users = net.nodes().iter().filter(|n| n.kind == NodeKind::Load).count() as f64;
    let (y, m) = super::months_back(opts.through_year, opts.through_month, 0);
    let end = if m == 12 { month_start(y + 1, 1) } else { month_start(y, m + 1) };
    let year = 365 * 86_400;
    let heads: Vec<String> = net
        .branches()
        .iter()
        .filter(|b| {
            b.kind == BranchKind::Breaker && net.node(&b.from).is_some_and(|n| n.kind == NodeKind::Source)
        })
        .map(|b| b.id.clone())
        .collect();
    // Trunk lines: the feeder's own line sections (laterals hold only fuses and transformers).
    let trunk: Vec<(String, String)> = heads
        .iter()
        .flat_map(|h| {
            let f = h.trim_end_matches("-CB").to_string();
            net.branches()
                .iter()
                .filter(move |b| b.kind == BranchKind::Line && b.id.starts_with(&format!("{f}-L")))
                .map(move |b| (b.id.clone(), h.clone()))
        })
        .collect();
    let fuses: Vec<String> =
        net.branches().iter().filter(|b| b.kind == BranchKind::Fuse).map(|b| b.id.clone()).collect();
    if trunk.is_empty() || fuses.is_empty() {
        return Ok(0);
    }
    let mut all = Vec::new();
    for (k, from) in [(1u64, end - 2 * year), (0, end - year)] {
        let year_tag = jiff::Timestamp::from_second(from + 8 * 3600)
            .map_or(0, |t| t.to_zoned(jiff::tz::TimeZone::UTC).year() as i32);
        let rng = Rng::new(opts.seed.wrapping_mul(31).wrapping_add(k + 11));
        let mut g = Gen { net: &net, rng, out: Vec::new(), seq: 0, year_tag };
        // Never loop for ever on a model whose events add no time (e.g. no customers at all).
        let mut budget = 100_000;
        let target = (1.0 - TARGET_RS1) * 8760.0 * users;
        // Spread over the year; working hours for planned work.
        let when = |rng: &mut Rng, working: bool| {
            let day = rng.below(365) as i64;
            let hour = if working { 8.0 + rng.range(0.0, 2.0) } else { rng.range(0.0, 24.0) };
            from + day * 86_400 + (hour * 3600.0) as i64
        };
        let mut fault_h = 0.0;
        if k == 0 {
            // The storm day: a trunk fault on most feeders within hours, nothing back before repair.
            let day = from + (150 + g.rng.below(60) as i64) * 86_400 + 14 * 3600;
            for (s, head) in heads.iter().enumerate().filter(|(i, _)| i % 5 != 4) {
                let lines: Vec<&(String, String)> = trunk.iter().filter(|(_, h)| h == head).collect();
                let (line, head) = (*g.rng.pick(&lines)).clone();
                fault_h += g.trunk_fault(&line, &head, day + s as i64 * 900, true);
            }
        }
        while fault_h < target * (1.0 - PLANNED_SHARE) && budget > 0 {
            budget -= 1;
            let start = when(&mut g.rng, false);
            if g.rng.chance(0.3) {
                let (line, head) = g.rng.pick(&trunk).clone();
                fault_h += g.trunk_fault(&line, &head, start, false);
            } else {
                let fuse = g.rng.pick(&fuses).clone();
                let loads = g.below(&fuse);
                let end = start + (g.rng.lognormal(0.4) * 3.0 * 3600.0) as i64;
                let cause = *g.rng.pick(&["fuse_blown", "transformer_fault", "animal", "customer_equipment"]);
                fault_h +=
                    g.outage("fault", &fuse, start, loads.into_iter().map(|l| (l, end)).collect(), cause);
            }
        }
        let mut planned_h = 0.0;
        while planned_h < target * PLANNED_SHARE && budget > 0 {
            budget -= 1;
            let start = when(&mut g.rng, true);
            let (line, _) = g.rng.pick(&trunk).clone();
            let Ok(plan) = net.plan_transfer(&line, &TransferOptions::default()) else { continue };
            if plan.unsupplied_loads.is_empty() {
                continue;
            }
            let end = start + (g.rng.range(4.0, 8.0) * 3600.0) as i64;
            planned_h += g.outage(
                "planned",
                &line,
                start,
                plan.unsupplied_loads.iter().map(|l| (l.clone(), end)).collect(),
                "planned_maintenance",
            );
        }
        for _ in 0..20 {
            let start = when(&mut g.rng, false);
            let head = g.rng.pick(&heads).clone();
            let loads = g.below(&head);
            let end = start + 60 + g.rng.below(120) as i64;
            g.outage("fault", &head, start, loads.into_iter().map(|l| (l, end)).collect(), "auto_reclosed");
        }
        all.extend(g.out);
    }
    Ok(store.insert_outage_history(&all).await?)
}
