//! Reliability indices from recorded interruptions (pure functions).
//!
//! * IEEE Std 1366: SAIFI, SAIDI, CAIDI, CTAIDI, CAIFI, ASAI, MAIFI, CEMI-n; major event days by the
//!   2.5β method (Annex B: daily SAIDI of past years, zeros discarded, α/β = mean/standard deviation of
//!   the natural logs, T_MED = exp(α + 2.5β); a day of the next period with SAIDI > T_MED is a MED).
//! * DL/T 836 (供电系统用户供电可靠性评价规程): AIHC-1 (用户平均停电时间), AITC-1 (用户平均停电次数),
//!   RS-1 (供电可靠率, all interruptions, planned ones included), RS-2 (不计外部影响),
//!   RS-3 (不计系统电源不足限电).
//!
//! Durations are in **hours** throughout (SAIDI, CAIDI, AIHC-1), frequencies per customer.
//!
//! What counts as a customer is chosen with [`Basis`]: IEEE practice counts metered (low-voltage)
//! customers; DL/T 836 has historically counted medium-voltage users — each public distribution
//! transformer (台区) and each 10 kV customer is one user — and since 2016 also evaluates low-voltage
//! users. Each affected group carries both counts.
//!
//! Items marked \[R\] in the research note are parameters, not constants: the momentary threshold
//! (5 min, IEEE), the short-interruption threshold not counted by DL/T 836 (3 min by default), and the
//! equivalent duration of limited supply (duration × share of load shed).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::{Network, Node, NodeKind};

/// Class of an interruption (停电性质).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageClass {
    /// 故障停电 (内部): fault inside the bureau's system.
    Fault,
    /// 故障停电 (外部影响): fault caused outside (transmission, customer equipment...).
    FaultExternal,
    /// 计划停电: planned work notified in advance.
    Planned,
    /// 临时停电: unplanned but arranged (预安排) interruption.
    Temporary,
    /// 系统电源不足限电: load limited for lack of generation / system capacity.
    LimitSystemShortage,
    /// 供电网限电: load limited by the network's capacity.
    LimitNetwork,
}

impl OutageClass {
    pub const ALL: [OutageClass; 6] = [
        OutageClass::Fault,
        OutageClass::FaultExternal,
        OutageClass::Planned,
        OutageClass::Temporary,
        OutageClass::LimitSystemShortage,
        OutageClass::LimitNetwork,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OutageClass::Fault => "fault",
            OutageClass::FaultExternal => "fault_external",
            OutageClass::Planned => "planned",
            OutageClass::Temporary => "temporary",
            OutageClass::LimitSystemShortage => "limit_system_shortage",
            OutageClass::LimitNetwork => "limit_network",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            OutageClass::Fault => "故障停电",
            OutageClass::FaultExternal => "外部影响故障停电",
            OutageClass::Planned => "计划停电",
            OutageClass::Temporary => "临时停电",
            OutageClass::LimitSystemShortage => "系统电源不足限电",
            OutageClass::LimitNetwork => "供电网限电",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            OutageClass::Fault => "Fault",
            OutageClass::FaultExternal => "Fault (external)",
            OutageClass::Planned => "Planned",
            OutageClass::Temporary => "Temporary (arranged)",
            OutageClass::LimitSystemShortage => "Limited supply (system shortage)",
            OutageClass::LimitNetwork => "Limited supply (network)",
        }
    }

    pub fn parse(s: &str) -> Option<OutageClass> {
        let t = s.trim();
        OutageClass::ALL.into_iter().find(|c| t.eq_ignore_ascii_case(c.code()) || t == c.name_zh())
    }

    /// 故障停电 (internal or external).
    pub fn is_fault(self) -> bool {
        matches!(self, OutageClass::Fault | OutageClass::FaultExternal)
    }

    /// 预安排停电: planned, temporary and limited supply.
    pub fn is_planned(self) -> bool {
        !self.is_fault()
    }
}

/// Which customers are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// 中压用户: a public distribution transformer or a 10 kV customer is one user (DL/T 836 classic).
    MediumVoltage,
    /// 低压用户: metered households and businesses (IEEE practice, DL/T 836.1-2016 LV evaluation).
    #[default]
    LowVoltage,
}

/// Customers behind one supply point (a 台区 or a 10 kV customer) hit by an interruption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedGroup {
    /// Supply point id (e.g. the load node id); the same id in several interruptions is the same customers.
    pub id: String,
    pub mv_users: u32,
    pub lv_customers: u32,
}

impl AffectedGroup {
    /// A load point of the grid model: one MV user and its customers.
    pub fn from_load(node: &Node) -> AffectedGroup {
        AffectedGroup { id: node.id.clone(), mv_users: 1, lv_customers: node.customers }
    }

    fn count(&self, basis: Basis) -> u64 {
        match basis {
            Basis::MediumVoltage => self.mv_users as u64,
            Basis::LowVoltage => self.lv_customers as u64,
        }
    }
}

/// Customers served in the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Population {
    pub mv_users: u64,
    pub lv_customers: u64,
}

impl Population {
    /// One MV user per load point; LV customers = Σ customers.
    pub fn from_network(net: &Network) -> Population {
        let loads = net.nodes().iter().filter(|n| n.kind == NodeKind::Load);
        let (mut mv, mut lv) = (0u64, 0u64);
        for n in loads {
            mv += 1;
            lv += n.customers as u64;
        }
        Population { mv_users: mv, lv_customers: lv }
    }

    pub fn count(&self, basis: Basis) -> u64 {
        match basis {
            Basis::MediumVoltage => self.mv_users,
            Basis::LowVoltage => self.lv_customers,
        }
    }
}

/// One recorded interruption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interruption {
    pub id: String,
    /// Start in seconds since 1970-01-01 00:00 of the bureau's local clock (so the day is `start_s / 86400`).
    pub start_s: i64,
    pub duration_min: f64,
    pub class: OutageClass,
    /// Limited supply (限电) only: share of the load shed, 1 − load after / load before; DL/T 836 counts
    /// the equivalent duration = duration × share. Use 1.0 for a full interruption.
    pub shed_fraction: f64,
    pub affected: Vec<AffectedGroup>,
}

impl Interruption {
    /// Day number (days since 1970-01-01, local clock) on which the interruption began.
    pub fn day(&self) -> i64 {
        self.start_s.div_euclid(86_400)
    }

    fn customers(&self, basis: Basis) -> u64 {
        self.affected.iter().map(|g| g.count(basis)).sum()
    }
}

/// Options of the IEEE 1366 calculation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IeeeOptions {
    pub basis: Basis,
    /// Interruptions of at most this many minutes are momentary (IEEE 1366: 5 min).
    pub momentary_max_min: f64,
    /// n of CEMI-n.
    pub cemi_n: u32,
    /// Hours in the period (8760 or 8784).
    pub period_hours: f64,
}

impl Default for IeeeOptions {
    fn default() -> IeeeOptions {
        IeeeOptions { basis: Basis::LowVoltage, momentary_max_min: 5.0, cemi_n: 3, period_hours: 8760.0 }
    }
}

/// IEEE 1366 indices (durations in hours).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Ieee1366 {
    pub saifi: f64,
    pub saidi: f64,
    pub caidi: f64,
    pub ctaidi: f64,
    pub caifi: f64,
    pub asai: f64,
    pub maifi: f64,
    /// Share of customers with more than `cemi_n` sustained interruptions.
    pub cemi: f64,
    pub cemi_n: u32,
    pub customers_served: u64,
    /// Σ N_i over sustained interruptions.
    pub customer_interruptions: u64,
    /// Distinct customers with at least one sustained interruption (CN).
    pub customers_interrupted: u64,
    pub sustained: usize,
    pub momentary: usize,
}

/// IEEE 1366 indices of the given interruptions (filter them first for a class or to drop MEDs).
pub fn ieee1366(interruptions: &[Interruption], served: Population, opts: &IeeeOptions) -> Ieee1366 {
    let nt = served.count(opts.basis);
    let mut out = Ieee1366 { customers_served: nt, cemi_n: opts.cemi_n, ..Default::default() };
    let mut sum_n = 0u64;
    let mut sum_rn = 0.0f64;
    let mut sum_m = 0u64;
    let mut per_group: HashMap<&str, (u32, u64)> = HashMap::new();
    for i in interruptions {
        if i.duration_min <= opts.momentary_max_min {
            out.momentary += 1;
            sum_m += i.customers(opts.basis);
            continue;
        }
        out.sustained += 1;
        let n = i.customers(opts.basis);
        sum_n += n;
        sum_rn += n as f64 * i.duration_min / 60.0;
        let mut seen_here: Vec<&str> = Vec::with_capacity(i.affected.len());
        for g in &i.affected {
            if seen_here.contains(&g.id.as_str()) {
                continue;
            }
            seen_here.push(&g.id);
            let e = per_group.entry(&g.id).or_insert((0, g.count(opts.basis)));
            e.0 += 1;
        }
    }
    let cn: u64 = per_group.values().map(|&(_, c)| c).sum();
    let cemi: u64 = per_group.values().filter(|&&(k, _)| k > opts.cemi_n).map(|&(_, c)| c).sum();
    out.customer_interruptions = sum_n;
    out.customers_interrupted = cn;
    if nt > 0 {
        let nt = nt as f64;
        out.saifi = sum_n as f64 / nt;
        out.saidi = sum_rn / nt;
        out.maifi = sum_m as f64 / nt;
        out.cemi = cemi as f64 / nt;
    }
    if sum_n > 0 {
        out.caidi = sum_rn / sum_n as f64;
    }
    if cn > 0 {
        out.caifi = sum_n as f64 / cn as f64;
        out.ctaidi = sum_rn / cn as f64;
    }
    out.asai = 1.0 - out.saidi / opts.period_hours;
    out
}

/// Indices for all interruptions, fault ones (故障) and planned/arranged ones (预安排) separately.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ByClass<T> {
    pub all: T,
    pub fault: T,
    pub planned: T,
}

/// [`ieee1366`] for all, fault and planned interruptions.
pub fn ieee1366_by_class(
    interruptions: &[Interruption],
    served: Population,
    opts: &IeeeOptions,
) -> ByClass<Ieee1366> {
    let pick = |f: fn(OutageClass) -> bool| -> Vec<Interruption> {
        interruptions.iter().filter(|i| f(i.class)).cloned().collect()
    };
    ByClass {
        all: ieee1366(interruptions, served, opts),
        fault: ieee1366(&pick(OutageClass::is_fault), served, opts),
        planned: ieee1366(&pick(OutageClass::is_planned), served, opts),
    }
}

/// Daily SAIDI (hours) of sustained interruptions, assigned to the day each began (IEEE 1366).
/// Days without interruptions are absent.
pub fn daily_saidi(
    interruptions: &[Interruption],
    served: Population,
    opts: &IeeeOptions,
) -> BTreeMap<i64, f64> {
    let nt = served.count(opts.basis) as f64;
    let mut out = BTreeMap::new();
    if nt <= 0.0 {
        return out;
    }
    for i in interruptions.iter().filter(|i| i.duration_min > opts.momentary_max_min) {
        *out.entry(i.day()).or_insert(0.0) += i.customers(opts.basis) as f64 * i.duration_min / 60.0 / nt;
    }
    out
}

/// The 2.5β major-event-day threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MedThreshold {
    /// Mean of ln(daily SAIDI) over days with SAIDI > 0.
    pub alpha: f64,
    /// Sample standard deviation (n − 1) of the same logs.
    pub beta: f64,
    /// exp(α + 2.5β), in the unit of the input.
    pub t_med: f64,
    pub days_used: usize,
}

/// T_MED from the daily SAIDI values of the past years (IEEE 1366 recommends the last five). Days with
/// SAIDI = 0 are discarded; `None` with fewer than two positive days.
pub fn med_threshold(daily_saidi: impl IntoIterator<Item = f64>) -> Option<MedThreshold> {
    let logs: Vec<f64> = daily_saidi.into_iter().filter(|&v| v > 0.0 && v.is_finite()).map(f64::ln).collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let alpha = logs.iter().sum::<f64>() / n;
    let beta = (logs.iter().map(|l| (l - alpha).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Some(MedThreshold { alpha, beta, t_med: (alpha + 2.5 * beta).exp(), days_used: logs.len() })
}

/// Days whose SAIDI exceeds `t_med`: the major event days.
pub fn major_event_days(daily: &BTreeMap<i64, f64>, t_med: f64) -> Vec<i64> {
    daily.iter().filter(|&(_, &v)| v > t_med).map(|(&d, _)| d).collect()
}

/// The interruptions that did not begin on one of `days` (to report indices without MEDs).
pub fn excluding_days(interruptions: &[Interruption], days: &[i64]) -> Vec<Interruption> {
    interruptions.iter().filter(|i| !days.contains(&i.day())).cloned().collect()
}

/// Options of the DL/T 836 calculation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DltOptions {
    pub basis: Basis,
    /// Interruptions of at most this many minutes are not counted (short interruptions, e.g. a
    /// successful auto-reclose). Default 3 min [R: DL/T 836.1-2016].
    pub short_max_min: f64,
    pub period_hours: f64,
}

impl Default for DltOptions {
    fn default() -> DltOptions {
        DltOptions { basis: Basis::MediumVoltage, short_max_min: 3.0, period_hours: 8760.0 }
    }
}

/// DL/T 836 indices. AIHC in hours per user, RS in percent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Dlt836 {
    /// 用户平均停电时间 AIHC-1 = Σ(duration × users) / users, h/户, every class included.
    pub aihc_1: f64,
    /// 用户平均停电次数 AITC-1 = Σ users interrupted / users, 次/户.
    pub aitc_1: f64,
    /// 供电可靠率 RS-1 = (1 − AIHC-1 / period hours) × 100 %.
    pub rs_1: f64,
    /// RS-2: as RS-1 without interruptions of external cause (外部影响).
    pub rs_2: f64,
    /// RS-3: as RS-1 without limited supply for system shortage (系统电源不足限电).
    pub rs_3: f64,
    /// AIHC / AITC of fault (故障) and arranged (预安排) interruptions.
    pub aihc_fault: f64,
    pub aihc_planned: f64,
    pub aitc_fault: f64,
    pub aitc_planned: f64,
    pub users: u64,
}

/// DL/T 836 indices of the given interruptions.
pub fn dlt836(interruptions: &[Interruption], served: Population, opts: &DltOptions) -> Dlt836 {
    let users = served.count(opts.basis);
    let mut out = Dlt836 { users, ..Default::default() };
    let (mut h_all, mut h_ext, mut h_short, mut h_fault, mut h_plan) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut t_all, mut t_fault, mut t_plan) = (0u64, 0u64, 0u64);
    for i in interruptions.iter().filter(|i| i.duration_min > opts.short_max_min) {
        let n = i.customers(opts.basis);
        let share = if matches!(i.class, OutageClass::LimitSystemShortage | OutageClass::LimitNetwork) {
            i.shed_fraction.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let h = n as f64 * i.duration_min / 60.0 * share;
        h_all += h;
        t_all += n;
        match i.class {
            OutageClass::FaultExternal => h_ext += h,
            OutageClass::LimitSystemShortage => h_short += h,
            _ => {}
        }
        if i.class.is_fault() {
            h_fault += h;
            t_fault += n;
        } else {
            h_plan += h;
            t_plan += n;
        }
    }
    if users > 0 {
        let u = users as f64;
        out.aihc_1 = h_all / u;
        out.aitc_1 = t_all as f64 / u;
        out.aihc_fault = h_fault / u;
        out.aihc_planned = h_plan / u;
        out.aitc_fault = t_fault as f64 / u;
        out.aitc_planned = t_plan as f64 / u;
        out.rs_1 = (1.0 - h_all / u / opts.period_hours) * 100.0;
        out.rs_2 = (1.0 - (h_all - h_ext) / u / opts.period_hours) * 100.0;
        out.rs_3 = (1.0 - (h_all - h_short) / u / opts.period_hours) * 100.0;
    } else {
        out.rs_1 = 100.0;
        out.rs_2 = 100.0;
        out.rs_3 = 100.0;
    }
    out
}
