//! Reliability statistics (供电可靠性统计) from the recorded outages, per bureau, substation and
//! feeder, for any period: DL/T 836 (medium-voltage users and low-voltage customers) and IEEE 1366,
//! planned and fault apart, and major event days by the 2.5β method over the five years before the
//! period. The formulas are the pure `bureau_grid::indices`; this module turns outages into
//! interruptions and picks the population.

use super::ops::GridCache;
use crate::access::Actor;
use crate::error::AppResult;
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_grid::indices::{
    self, AffectedGroup, Basis, ByClass, Dlt836, DltOptions, Ieee1366, IeeeOptions, Interruption,
    MedThreshold, OutageClass, Population,
};
use bureau_grid::{Network, NodeKind};
use bureau_store::{DynStore, OutageWithPoints, Scope};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

pub const VIEWERS: &[Role] = &[Role::Manager, Role::Dispatcher, Role::ProductionLeader];

/// The bureau's clock: Beijing time, UTC+8 (days and months are counted on it).
pub const LOCAL_OFFSET_S: i64 = 8 * 3600;

/// Indices of one group of customers (the bureau, a substation or a feeder).
#[derive(Clone, Debug, Serialize)]
pub struct GroupStats {
    /// `bureau`, `substation` or `feeder`.
    pub level: String,
    pub id: String,
    pub name: String,
    pub mv_users: u64,
    pub lv_customers: u64,
    /// IEEE 1366 on low-voltage customers: all, fault, planned.
    pub ieee: ByClass<Ieee1366>,
    /// DL/T 836 counting medium-voltage users (public transformers and 10 kV customers).
    pub dlt_mv: Dlt836,
    /// DL/T 836 counting low-voltage customers.
    pub dlt_lv: Dlt836,
}

#[derive(Clone, Debug, Serialize)]
pub struct MonthSaidi {
    /// `YYYY-MM`.
    pub month: String,
    pub fault_h: f64,
    pub planned_h: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReliabilityStats {
    pub from: String,
    pub to: String,
    pub period_hours: f64,
    pub outages: usize,
    /// The 2.5β threshold from the five years before the period (None without enough history).
    pub med: Option<MedThreshold>,
    /// Major event days in the period (`YYYY-MM-DD`).
    pub med_days: Vec<String>,
    /// Bureau-level IEEE 1366 without the major event days.
    pub ieee_without_med: Ieee1366,
    pub bureau: GroupStats,
    pub substations: Vec<GroupStats>,
    pub feeders: Vec<GroupStats>,
    pub monthly: Vec<MonthSaidi>,
}

/// Feeder (head branch id) and substation (source node id) of every load point, on the normal state.
pub fn feeders_of(net: &Network) -> HashMap<String, (String, String)> {
    let n = net.nodes().len();
    let mut out = HashMap::new();
    let mut seen = vec![false; n];
    let mut queue: Vec<(usize, usize, usize)> = Vec::new(); // (node, source, head branch)
    for s in (0..n).filter(|&v| net.nodes()[v].kind == NodeKind::Source) {
        seen[s] = true;
        for &(bi, w) in net.neighbours(s) {
            if !net.branches()[bi].normal_open && !seen[w] {
                seen[w] = true;
                queue.push((w, s, bi));
            }
        }
    }
    let mut head = 0;
    while head < queue.len() {
        let (v, s, f) = queue[head];
        head += 1;
        if net.nodes()[v].kind == NodeKind::Load {
            out.insert(net.nodes()[v].id.clone(), (net.branches()[f].id.clone(), net.nodes()[s].id.clone()));
        }
        for &(bi, w) in net.neighbours(v) {
            if !net.branches()[bi].normal_open && !seen[w] {
                seen[w] = true;
                queue.push((w, s, f));
            }
        }
    }
    out
}

/// The interruptions of recorded outages: one per outage and restoration time (a partly restored
/// outage gives several). Ongoing outages count up to `until`.
pub fn interruptions(outages: &[OutageWithPoints], until: i64) -> Vec<Interruption> {
    let mut out = Vec::new();
    for ow in outages {
        let class = OutageClass::parse(&ow.outage.class).unwrap_or(OutageClass::Fault);
        let mut by_end: BTreeMap<(i64, i64), Vec<AffectedGroup>> = BTreeMap::new();
        for p in &ow.points {
            let end = p.restored_at.unwrap_or(until).max(p.out_at);
            by_end.entry((p.out_at, end)).or_default().push(AffectedGroup {
                id: p.load_id.clone(),
                mv_users: 1,
                lv_customers: p.customers.clamp(0, u32::MAX as i64) as u32,
            });
        }
        for (k, ((start, end), affected)) in by_end.into_iter().enumerate() {
            out.push(Interruption {
                id: format!("{}#{k}", ow.outage.id),
                start_s: start + LOCAL_OFFSET_S,
                duration_min: (end - start) as f64 / 60.0,
                class,
                shed_fraction: 1.0,
                affected,
            });
        }
    }
    out
}

fn restrict(ints: &[Interruption], keep: &dyn Fn(&str) -> bool) -> Vec<Interruption> {
    ints.iter()
        .filter_map(|i| {
            let affected: Vec<AffectedGroup> = i.affected.iter().filter(|g| keep(&g.id)).cloned().collect();
            (!affected.is_empty()).then(|| Interruption { affected, ..i.clone() })
        })
        .collect()
}

fn group(
    level: &str,
    id: &str,
    name: &str,
    ints: &[Interruption],
    pop: Population,
    hours: f64,
) -> GroupStats {
    let ieee_opts = IeeeOptions { basis: Basis::LowVoltage, period_hours: hours, ..Default::default() };
    GroupStats {
        level: level.into(),
        id: id.into(),
        name: name.into(),
        mv_users: pop.mv_users,
        lv_customers: pop.lv_customers,
        ieee: indices::ieee1366_by_class(ints, pop, &ieee_opts),
        dlt_mv: indices::dlt836(
            ints,
            pop,
            &DltOptions { basis: Basis::MediumVoltage, period_hours: hours, ..Default::default() },
        ),
        dlt_lv: indices::dlt836(
            ints,
            pop,
            &DltOptions { basis: Basis::LowVoltage, period_hours: hours, ..Default::default() },
        ),
    }
}

fn day_text(day: i64) -> String {
    jiff::Timestamp::from_second(day * 86_400)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
        .unwrap_or_default()
}

fn parse_day(field: &str, s: &str) -> AppResult<jiff::civil::Date> {
    s.trim().parse::<jiff::civil::Date>().map_err(|_| {
        FieldError::invalid(
            field,
            format!("日期“{s}”应为YYYY-MM-DD"),
            format!("'{s}' is not a date YYYY-MM-DD"),
        )
        .into()
    })
}

/// Local midnight of a date as Unix seconds.
fn local_start(d: jiff::civil::Date) -> i64 {
    d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp().as_second()).unwrap_or(0) - LOCAL_OFFSET_S
}

/// Statistics for `[from, to)` (dates `YYYY-MM-DD`, local time) of the bureaus in the actor's scope.
pub async fn statistics(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    from: &str,
    to: &str,
    now: i64,
) -> AppResult<ReliabilityStats> {
    actor.require_any(VIEWERS)?;
    actor.require_bureau(bureau_id)?;
    let (f, t) = (parse_day("from", from)?, parse_day("to", to)?);
    if t <= f {
        return Err(
            FieldError::invalid("to", "结束日期应晚于开始日期", "the end must be after the start").into()
        );
    }
    let (from_s, to_s) = (local_start(f), local_start(t));
    let hours = (to_s - from_s) as f64 / 3600.0;
    let scope = Scope::Bureaus(vec![bureau_id.into()]);
    let recorded = store.outages_between(&scope, from_s, to_s).await?;
    let ints = interruptions(&recorded, now.min(to_s));
    let history = store.outages_between(&scope, from_s - 5 * 365 * 86_400 - 86_400, from_s).await?;

    let net = cache.network(store, bureau_id).await?;
    let net = net.lock().await;
    let pop = Population::from_network(&net);
    let map = feeders_of(&net);
    let names: HashMap<String, String> = net
        .nodes()
        .iter()
        .map(|n| (n.id.clone(), n.name.clone()))
        .chain(net.branches().iter().map(|b| {
            let name = net.node(&b.to).map(|n| n.name.clone()).unwrap_or_default();
            (b.id.clone(), name)
        }))
        .collect();
    let loads: Vec<&bureau_grid::Node> = net.nodes().iter().filter(|n| n.kind == NodeKind::Load).collect();
    let pop_of = |keep: &dyn Fn(&str) -> bool| {
        let mut p = Population::default();
        for l in loads.iter().filter(|l| keep(&l.id)) {
            p.mv_users += 1;
            p.lv_customers += l.customers as u64;
        }
        p
    };

    let ieee_opts = IeeeOptions { basis: Basis::LowVoltage, period_hours: hours, ..Default::default() };
    let past = interruptions(&history, from_s);
    let med = indices::med_threshold(indices::daily_saidi(&past, pop, &ieee_opts).into_values());
    let daily = indices::daily_saidi(&ints, pop, &ieee_opts);
    let med_day_numbers = med.map(|m| indices::major_event_days(&daily, m.t_med)).unwrap_or_default();
    let without = indices::excluding_days(&ints, &med_day_numbers);

    // Every branch leaving a source is a feeder, every source a substation bus, loads or not.
    let is_src = |id: &str| net.node(id).is_some_and(|n| n.kind == NodeKind::Source);
    let feeder_ids: Vec<&String> = net
        .branches()
        .iter()
        .filter(|b| !b.normal_open && (is_src(&b.from) || is_src(&b.to)))
        .map(|b| &b.id)
        .collect();
    let subs: Vec<&String> =
        net.nodes().iter().filter(|n| n.kind == NodeKind::Source).map(|n| &n.id).collect();
    let feeders = feeder_ids
        .iter()
        .map(|fid| {
            let keep = |l: &str| map.get(l).is_some_and(|(f, _)| f == *fid);
            group(
                "feeder",
                fid,
                names.get(*fid).map_or("", |s| s),
                &restrict(&ints, &keep),
                pop_of(&keep),
                hours,
            )
        })
        .collect();
    let substations = subs
        .iter()
        .map(|sid| {
            let keep = |l: &str| map.get(l).is_some_and(|(_, s)| s == *sid);
            group(
                "substation",
                sid,
                names.get(*sid).map_or("", |s| s),
                &restrict(&ints, &keep),
                pop_of(&keep),
                hours,
            )
        })
        .collect();

    // SAIDI by month (local), fault and planned apart.
    let mut monthly: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut m = f.first_of_month();
    while m < t {
        monthly.insert(format!("{:04}-{:02}", m.year(), m.month()), (0.0, 0.0));
        m = m.checked_add(jiff::Span::new().months(1)).unwrap_or(t);
    }
    let nt = pop.lv_customers.max(1) as f64;
    for i in ints.iter().filter(|i| i.duration_min > ieee_opts.momentary_max_min) {
        let key = day_text(i.day())[..7].to_string();
        let h = i.affected.iter().map(|g| g.lv_customers as f64).sum::<f64>() * i.duration_min / 60.0 / nt;
        let e = monthly.entry(key).or_default();
        if i.class.is_fault() {
            e.0 += h;
        } else {
            e.1 += h;
        }
    }
    Ok(ReliabilityStats {
        from: f.to_string(),
        to: t.to_string(),
        period_hours: hours,
        outages: recorded.len(),
        med,
        med_days: med_day_numbers.iter().map(|&d| day_text(d)).collect(),
        ieee_without_med: indices::ieee1366(&without, pop, &ieee_opts),
        bureau: group("bureau", bureau_id, bureau_id, &ints, pop, hours),
        substations,
        feeders,
        monthly: monthly
            .into_iter()
            .map(|(month, (fault_h, planned_h))| MonthSaidi { month, fault_h, planned_h })
            .collect(),
    })
}
