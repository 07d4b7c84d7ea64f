//! Service-level rule sets and the deadlines of a work order.
//!
//! The time limits change by date (the 2011 commitments gave complaints 1 working day to contact
//! the customer and 7 to answer; the current ones 24 hours and 5), so a rule set is dated data: a
//! file in `data/service-levels/` with an `effective_from` date. The set in force at the time an
//! order was accepted decides its deadlines. The numbers, their sources and whether each was
//! verified ([`Basis`]) are in the files, not here; see `sgcc-2011.toml` for the format.
//!
//! Two kinds of clock (service-rules.md §5.2): elapsed time (repair arrival, restoration,
//! reconnection) and working days (complaints, meters, connections). "Within N working days of
//! acceptance" (N个工作日内) is read as: the same Beijing time of day on the N-th working day after
//! the day of acceptance ([`Calendar::add_working_days_at`]).

use crate::calendar::datafile::{self, Table};
use crate::calendar::{beijing, read_toml_dir, Calendar};
use crate::error::FieldError;
use crate::i18n::Text;
use crate::org::coded_enum;
use crate::register::ServiceArea;
use crate::service::taxonomy::{Channel, OrderKind, SubType};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The rule sets shipped with the program (`data/service-levels/*.toml`, compiled in).
const BUILTIN: &[(&str, &str)] = &[
    ("sgcc-2011.toml", include_str!("../../../../data/service-levels/sgcc-2011.toml")),
    ("sgcc-current.toml", include_str!("../../../../data/service-levels/sgcc-current.toml")),
];

coded_enum!(
    /// A stage of a work order that has a time limit.
    Stage, "stage" {
        /// 派单: pass the order to the unit that handles it.
        Dispatch = "dispatch", "派单", "Dispatch";
        /// 联系客户: first contact with the customer (complaints).
        Contact = "contact", "联系客户", "Contact the customer";
        /// 到达现场: arrive on site.
        Arrival = "arrival", "到达现场", "Arrive on site";
        /// 恢复供电: supply restored after a fault.
        Restoration = "restoration", "恢复供电", "Restore supply";
        /// 复电: reconnection after payment of arrears.
        Reconnection = "reconnection", "复电", "Reconnect";
        /// 答复: the answer or handling opinion given to the customer.
        Reply = "reply", "答复客户", "Reply to the customer";
        /// 办结: the order closed (12398 / 12345 orders).
        Close = "close", "办结", "Close";
        /// 回访: call the customer back.
        CallBack = "call_back", "回访", "Call back";
    }
);

coded_enum!(
    /// How certain a number is, as tagged in the research (service-rules.md legend).
    Basis, "basis" {
        /// [V]: the text was seen in the cited source.
        Verified = "verified", "已核实", "Verified";
        /// [Q]: taken from an exam question bank whose answer key was not visible.
        QuestionBank = "question_bank", "题库来源", "Question bank";
        /// [R]: from memory or from a copy with no citable address; check before relying on it.
        Unverified = "unverified", "未核实", "Unverified";
    }
);

/// How a stage's time limit is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Clock {
    /// Wall-clock time, day and night, holidays included.
    Elapsed { minutes: u32 },
    /// The same time of day on the N-th working day after the day the clock starts.
    WorkingDays { days: u32 },
}

impl Clock {
    /// The deadline of a clock that starts at `start`.
    pub fn due(self, start: Timestamp, calendar: &Calendar) -> Result<Timestamp, FieldError> {
        match self {
            Clock::Elapsed { minutes } => {
                start.checked_add(SignedDuration::from_mins(minutes.into())).map_err(|e| {
                    FieldError::new(
                        "accepted",
                        "out_of_range",
                        format!("时间超出范围：{e}"),
                        format!("time out of range: {e}"),
                    )
                })
            }
            Clock::WorkingDays { days } => calendar.add_working_days_at(start, days),
        }
    }

    pub fn is_working_days(self) -> bool {
        matches!(self, Clock::WorkingDays { .. })
    }
}

/// One stage's time limit within a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageRule {
    pub stage: Stage,
    pub clock: Clock,
    /// The clock starts at this stage (its deadline, or its actual time once known); `None` means
    /// at acceptance.
    pub after: Option<Stage>,
    pub basis: Basis,
    pub source: String,
    pub note: Option<String>,
}

/// The time limits for the orders that match its filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub kind: OrderKind,
    pub subtype: Option<SubType>,
    pub area: Option<ServiceArea>,
    pub channel: Option<Channel>,
    pub stages: Vec<StageRule>,
}

impl Rule {
    fn matches(&self, q: &DeadlineQuery) -> bool {
        self.kind == q.kind
            && self.subtype.is_none_or(|s| q.subtype == Some(s))
            && self.area.is_none_or(|a| q.area == Some(a))
            && self.channel.is_none_or(|c| q.channel == Some(c))
    }

    /// Channel beats sub-type beats area; a rule with no filter is the base.
    fn specificity(&self) -> u8 {
        4 * u8::from(self.channel.is_some())
            + 2 * u8::from(self.subtype.is_some())
            + u8::from(self.area.is_some())
    }
}

/// A dated set of rules, as read from one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleSet {
    pub id: String,
    pub name: Text,
    /// In force from 00:00 Beijing time on this date until the next set's date.
    pub effective_from: Date,
    pub source: String,
    pub file: String,
    pub rules: Vec<Rule>,
}

/// What to compute deadlines for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadlineQuery {
    pub kind: OrderKind,
    pub subtype: Option<SubType>,
    pub area: Option<ServiceArea>,
    pub channel: Option<Channel>,
    pub accepted: Timestamp,
}

/// The deadline of one stage of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageDeadline {
    pub stage: Stage,
    pub name: Text,
    /// Serialised as RFC 3339 with the Beijing offset, e.g. `2026-10-09T09:30:00+08:00`.
    #[serde(serialize_with = "beijing::serialize")]
    pub due: Timestamp,
    pub clock: Clock,
    pub after: Option<Stage>,
    pub basis: Basis,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Every deadline of an order, with the rule set that gave them: the output of
/// `bureau sla deadlines ... --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub rule_set: String,
    pub rule_set_name: Text,
    pub effective_from: Date,
    pub kind: OrderKind,
    pub subtype: Option<SubType>,
    pub area: Option<ServiceArea>,
    pub channel: Option<Channel>,
    #[serde(serialize_with = "beijing::serialize")]
    pub accepted: Timestamp,
    pub stages: Vec<StageDeadline>,
}

impl Schedule {
    /// The same schedule with every deadline moved by the order's pauses (see
    /// [`crate::service::pause`] for how each kind of clock is moved).
    pub fn with_pauses(
        &self,
        pauses: &[crate::service::pause::Pause],
        calendar: &Calendar,
    ) -> Result<Schedule, FieldError> {
        let stages =
            crate::service::pause::apply_pauses_to_all(&self.stages, self.accepted, pauses, calendar)?;
        Ok(Schedule { stages, ..self.clone() })
    }
}

/// All the rule sets, ordered by date, and the calendar their working-day clocks count on.
#[derive(Clone, Debug)]
pub struct RuleBook {
    sets: Vec<RuleSet>,
    calendar: Calendar,
}

impl RuleBook {
    /// The shipped rule sets and the shipped calendar.
    pub fn builtin() -> RuleBook {
        let mut book = RuleBook { sets: Vec::new(), calendar: Calendar::builtin() };
        for (name, text) in BUILTIN {
            // The shipped files are checked by the tests; a failure here is a build defect.
            book.add_file(name, text).unwrap_or_else(|e| panic!("built-in rule set {name}: {e}"));
        }
        book
    }

    /// The built-in sets plus every `*.toml` file of an operator's directory. A file whose `id`
    /// equals a built-in set's replaces it. Uses the built-in calendar; see [`with_calendar`].
    ///
    /// [`with_calendar`]: RuleBook::with_calendar
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<RuleBook, FieldError> {
        let mut book = RuleBook::builtin();
        for (name, text) in read_toml_dir(dir.as_ref())? {
            book.add_file(&name, &text)?;
        }
        Ok(book)
    }

    /// Replaces the calendar (e.g. one loaded with [`Calendar::load_dir`]).
    pub fn with_calendar(mut self, calendar: Calendar) -> RuleBook {
        self.calendar = calendar;
        self
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The rule sets, oldest first.
    pub fn sets(&self) -> &[RuleSet] {
        &self.sets
    }

    /// Adds a rule set from the text of a file, replacing a set with the same `id`.
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), FieldError> {
        let set = parse_rule_set(file, text)?;
        let mut sets: Vec<RuleSet> = self.sets.iter().filter(|s| s.id != set.id).cloned().collect();
        if let Some(other) = sets.iter().find(|s| s.effective_from == set.effective_from) {
            return Err(FieldError::new(
                &format!("{file}: effective_from"),
                "duplicate",
                format!("规则集 {} 也从 {} 起生效", other.file, set.effective_from),
                format!("rule set {} ({}) also takes effect on {}", other.id, other.file, set.effective_from),
            ));
        }
        sets.push(set);
        sets.sort_by_key(|s| s.effective_from);
        self.sets = sets;
        Ok(())
    }

    /// The rule set in force at an instant: the latest whose `effective_from` is on or before the
    /// Beijing date of `at`.
    pub fn set_in_force(&self, at: Timestamp) -> Result<&RuleSet, FieldError> {
        let day = beijing::date_of(at);
        self.sets.iter().rev().find(|s| s.effective_from <= day).ok_or_else(|| {
            let first = self.sets.first().map(|s| s.effective_from.to_string()).unwrap_or_else(|| "—".into());
            FieldError::new(
                "accepted",
                "no_rule_set",
                format!("{day} 没有生效的服务时限规则集（最早的自 {first} 起）"),
                format!("no service-level rule set is in force on {day} (the earliest starts {first})"),
            )
        })
    }

    /// The deadlines of an order: every stage with its due time, in the order of the rules.
    ///
    /// Errors name the field: `subtype` (not of this kind, or required), `area` (required where
    /// the limits depend on it), `kind` (no rule for this kind), `accepted` (no set in force).
    pub fn deadlines(
        &self,
        kind: OrderKind,
        subtype: Option<SubType>,
        area: Option<ServiceArea>,
        accepted: Timestamp,
    ) -> Result<Vec<StageDeadline>, FieldError> {
        Ok(self.schedule(&DeadlineQuery { kind, subtype, area, channel: None, accepted })?.stages)
    }

    /// [`deadlines`](RuleBook::deadlines) with the channel, and the rule set that applied.
    pub fn schedule(&self, q: &DeadlineQuery) -> Result<Schedule, FieldError> {
        if let Some(st) = q.subtype {
            st.check_kind(q.kind)?;
        }
        let set = self.set_in_force(q.accepted)?;
        let stages = self.stage_rules(set, q)?;
        let mut out: Vec<StageDeadline> = Vec::with_capacity(stages.len());
        for r in stages {
            let start = match r.after {
                None => q.accepted,
                Some(anchor) => match out.iter().find(|d| d.stage == anchor) {
                    Some(d) => d.due,
                    None => {
                        return Err(FieldError::new(
                            &format!("{}: stage {}.after", set.file, r.stage.code()),
                            "invalid",
                            format!(
                                "阶段 {} 应在 {} 之后，但该工单没有更早的 {} 阶段",
                                r.stage.code(),
                                anchor.code(),
                                anchor.code()
                            ),
                            format!(
                                "stage {} starts after {}, but this order has no earlier {} stage",
                                r.stage.code(),
                                anchor.code(),
                                anchor.code()
                            ),
                        ))
                    }
                },
            };
            out.push(StageDeadline {
                stage: r.stage,
                name: Text::new(r.stage.name_zh(), r.stage.name_en()),
                due: r.clock.due(start, &self.calendar)?,
                clock: r.clock,
                after: r.after,
                basis: r.basis,
                source: r.source.clone(),
                note: r.note.clone(),
            });
        }
        Ok(Schedule {
            rule_set: set.id.clone(),
            rule_set_name: set.name.clone(),
            effective_from: set.effective_from,
            kind: q.kind,
            subtype: q.subtype,
            area: q.area,
            channel: q.channel,
            accepted: q.accepted,
            stages: out,
        })
    }

    /// The stage rules that apply to an order under one set, more specific rules overriding.
    fn stage_rules<'s>(&self, set: &'s RuleSet, q: &DeadlineQuery) -> Result<Vec<&'s StageRule>, FieldError> {
        let of_kind: Vec<&Rule> = set.rules.iter().filter(|r| r.kind == q.kind).collect();
        if q.area.is_none()
            && of_kind.iter().any(|r| r.area.is_some() && Rule { area: None, ..(*r).clone() }.matches(q))
        {
            return Err(FieldError::new(
                "area",
                "required",
                format!("{}的时限按供电区域（城区/农村/特殊边远）而定，请给出区域", q.kind.name_zh()),
                format!(
                    "the time limits of {} depend on the service area: give urban, rural or remote",
                    q.kind.code()
                ),
            ));
        }
        let mut matching: Vec<&Rule> = of_kind.iter().copied().filter(|r| r.matches(q)).collect();
        matching.sort_by_key(|r| r.specificity());
        let mut stages: Vec<&StageRule> = Vec::new();
        for rule in matching {
            for s in &rule.stages {
                match stages.iter_mut().find(|x| x.stage == s.stage) {
                    Some(slot) => *slot = s,
                    None => stages.push(s),
                }
            }
        }
        if !stages.is_empty() {
            return Ok(stages);
        }
        let set_name = format!("{} ({})", set.id, set.file);
        if q.subtype.is_none() && of_kind.iter().any(|r| r.subtype.is_some()) {
            let codes: Vec<&str> = of_kind.iter().filter_map(|r| r.subtype).map(|s| s.code()).collect();
            return Err(FieldError::new(
                "subtype",
                "required",
                format!(
                    "规则集 {set_name} 中{}的时限按子类而定，请给出子类：{}",
                    q.kind.name_zh(),
                    codes.join(", ")
                ),
                format!(
                    "in rule set {set_name} the time limits of {} depend on the sub-type: give one of {}",
                    q.kind.code(),
                    codes.join(", ")
                ),
            ));
        }
        let (field, what) = match q.subtype {
            Some(st) => ("subtype", format!("{}/{}", q.kind.code(), st.code())),
            None => ("kind", q.kind.code().to_string()),
        };
        Err(FieldError::new(
            field,
            "no_rule",
            format!("规则集 {set_name} 中没有 {what} 的时限规则"),
            format!("rule set {set_name} has no time limit for {what}"),
        ))
    }
}

fn parse_rule_set(file: &str, text: &str) -> Result<RuleSet, FieldError> {
    let root_table = datafile::parse(file, text)?;
    let root = Table::root(file, &root_table);
    root.deny_unknown(&["id", "name_zh", "name_en", "effective_from", "source", "rule"])?;
    let id = root.str("id")?.to_string();
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(root.error(
            "id",
            "invalid",
            "id 只能含字母、数字、- 和 _",
            "an id is letters, digits, - and _",
        ));
    }
    let name = Text::new(root.str("name_zh")?, root.str("name_en")?);
    let effective_from = root.date("effective_from")?;
    let source = root.str("source")?.to_string();
    let mut rules: Vec<Rule> = Vec::new();
    for (i, rt) in root.tables("rule")?.iter().enumerate() {
        rt.deny_unknown(&["kind", "subtype", "area", "channel", "stage"])?;
        let kind = coded(rt, "kind", OrderKind::parse)?;
        let subtype = opt_coded(rt, "subtype", SubType::parse)?;
        if let Some(st) = subtype {
            st.check_kind(kind).map_err(|e| FieldError { field: rt.field("subtype"), ..e })?;
        }
        let area = opt_coded(rt, "area", ServiceArea::parse)?;
        let channel = opt_coded(rt, "channel", Channel::parse)?;
        if let Some(j) = rules
            .iter()
            .position(|r| r.kind == kind && r.subtype == subtype && r.area == area && r.channel == channel)
        {
            return Err(rt.error(
                "kind",
                "duplicate",
                format!("与 rule[{j}] 的条件相同"),
                format!("rule[{i}] has the same kind, subtype, area and channel as rule[{j}]"),
            ));
        }
        let mut stages: Vec<StageRule> = Vec::new();
        let stage_tables = rt.tables("stage")?;
        if stage_tables.is_empty() {
            return Err(FieldError::required(&rt.field("stage")));
        }
        for st in &stage_tables {
            st.deny_unknown(&[
                "stage", "clock", "minutes", "hours", "days", "after", "basis", "source", "note",
            ])?;
            let stage = coded(st, "stage", Stage::parse)?;
            if stages.iter().any(|s| s.stage == stage) {
                return Err(st.error(
                    "stage",
                    "duplicate",
                    "同一规则中阶段重复",
                    "the stage appears twice in this rule",
                ));
            }
            let clock = parse_clock(st)?;
            let after = opt_coded(st, "after", Stage::parse)?;
            if after == Some(stage) {
                return Err(st.error(
                    "after",
                    "invalid",
                    "阶段不能在自身之后",
                    "a stage cannot start after itself",
                ));
            }
            let basis = coded(st, "basis", Basis::parse)?;
            let source = st.str("source")?.to_string();
            let note = st.opt_str("note")?.map(str::to_string);
            stages.push(StageRule { stage, clock, after, basis, source, note });
        }
        rules.push(Rule { kind, subtype, area, channel, stages });
    }
    Ok(RuleSet { id, name, effective_from, source, file: file.to_string(), rules })
}

fn coded<T>(t: &Table, key: &str, parse: fn(&str) -> Result<T, FieldError>) -> Result<T, FieldError> {
    parse(t.str(key)?).map_err(|e| FieldError { field: t.field(key), ..e })
}

fn opt_coded<T>(
    t: &Table,
    key: &str,
    parse: fn(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match t.opt_str(key)? {
        None => Ok(None),
        Some(s) => parse(s).map(Some).map_err(|e| FieldError { field: t.field(key), ..e }),
    }
}

fn parse_clock(st: &Table) -> Result<Clock, FieldError> {
    let clock = st.str("clock")?;
    let amount = |key: &str, max: i64| -> Result<Option<u32>, FieldError> {
        match st.opt_int(key)? {
            None => Ok(None),
            Some(n) if (1..=max).contains(&n) => Ok(Some(n as u32)),
            Some(n) => Err(st.error(
                key,
                "out_of_range",
                format!("应在 1 至 {max} 之间：{n}"),
                format!("must be 1 to {max}: {n}"),
            )),
        }
    };
    let (minutes, hours, days) = (amount("minutes", 527_040)?, amount("hours", 8_784)?, amount("days", 366)?);
    match clock {
        "elapsed" => {
            if days.is_some() {
                return Err(st.error(
                    "days",
                    "invalid",
                    "elapsed 时钟用 minutes 或 hours",
                    "an elapsed clock takes minutes or hours",
                ));
            }
            match (minutes, hours) {
                (Some(m), None) => Ok(Clock::Elapsed { minutes: m }),
                (None, Some(h)) => Ok(Clock::Elapsed { minutes: h * 60 }),
                (Some(_), Some(_)) => Err(st.error(
                    "hours",
                    "invalid",
                    "minutes 与 hours 只能给一个",
                    "give minutes or hours, not both",
                )),
                (None, None) => Err(FieldError::required(&st.field("minutes"))),
            }
        }
        "working_days" => {
            if minutes.is_some() || hours.is_some() {
                let key = if minutes.is_some() { "minutes" } else { "hours" };
                return Err(st.error(
                    key,
                    "invalid",
                    "working_days 时钟用 days",
                    "a working_days clock takes days",
                ));
            }
            days.map(|d| Clock::WorkingDays { days: d })
                .ok_or_else(|| FieldError::required(&st.field("days")))
        }
        other => Err(st.error(
            "clock",
            "invalid",
            format!("未知的时钟“{other}”，应为 elapsed 或 working_days"),
            format!("unknown clock '{other}': expected elapsed or working_days"),
        )),
    }
}

#[cfg(test)]
mod tests;
