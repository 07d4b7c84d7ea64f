//! The demo county's 95598 service centre: a repair duty roster around the clock, a small knowledge
//! base, and a year of work orders accepted and worked through the real use cases (so every order
//! has its deadlines, its audit trail and its outcome, some of them late).
//!
//! Volume: about 8 orders a day for the reference bureau's 35,600 customers, scaled with the
//! county (our assumption; no figure was found) up to [`MAX_ORDERS_PER_DAY`]. Runs once: a
//! database that already holds work orders is left as it is.

use super::rng::Rng;
use super::DemoOptions;
use crate::access::Actor;
use crate::error::AppResult;
use crate::service::{self, ActRequest, Intake};
use bureau_domain::calendar::beijing;
use bureau_domain::service::{OrderKind, Status};
use bureau_store::{DutyShift, DynStore, KnowledgeArticle, OrderQuery, Scope};

/// The most orders a day the demo generates, whatever the county's size (the volume of about
/// 53,000 customers). Every order is worked through the real use cases, about ten transactions
/// each (≈ 3.6 ms of CPU an order, measured): scaled with a province of ten million customers the
/// year's 820,000 orders took far longer than the register itself, and showed nothing that 4,400
/// orders do not. Counties up to 53,000 customers (the reference bureau has 35,600) are unchanged.
pub const MAX_ORDERS_PER_DAY: f64 = 12.0;

const LEADERS: &[&str] = &["leader", "engineer", "scke"];
const CREWS: &[&str] = &[
    "crew", "crew02", "crew03", "crew04", "crew05", "crew06", "crew07", "crew08", "crew09", "crew10",
    "crew11", "crew12",
];

fn day_start(d: jiff::civil::Date) -> i64 {
    beijing::start_of(d).map_or(0, |t| t.as_second())
}

/// The roster, the knowledge base and a year of orders ending at the demo's last month.
pub async fn history(store: &DynStore, opts: &DemoOptions, customers: u64) -> AppResult<u64> {
    let mut rng = Rng::new(opts.seed ^ 0x9559_8000);
    let end = jiff::civil::Date::new(opts.through_year, opts.through_month, 1)
        .ok()
        .and_then(|d| d.last_of_month().tomorrow().ok())
        .unwrap_or(jiff::civil::date(2026, 11, 1));
    let mut start = end.checked_sub(jiff::Span::new().days(365)).unwrap_or(end);
    // Working-day deadlines need the holiday calendar of the year: start no earlier than the
    // first year the calendar has.
    if let Some(first) = service::rules()?.calendar().years().min() {
        start = start.max(jiff::civil::Date::new(first, 1, 1).unwrap_or(start));
    }
    roster(store, start, end.checked_add(jiff::Span::new().days(60)).unwrap_or(end)).await?;
    knowledge(store).await?;
    if !store.list_work_orders(&OrderQuery { limit: 1, ..OrderQuery::new(Scope::All) }).await?.is_empty() {
        return Ok(0);
    }
    let units = store.list_org_units().await?;
    let agent = Actor::for_staff(&store.get_staff("agent").await?, &units);
    let crew = Actor::for_staff(&store.get_staff("crew").await?, &units);
    let sample = store.list_customers(&Scope::All, None, customers.min(5000) as u32).await?;
    if sample.is_empty() {
        return Ok(0);
    }
    let per_day = (8.0 * customers as f64 / 35_600.0).min(MAX_ORDERS_PER_DAY);
    let mut made = 0;
    let mut day = start;
    while day < end {
        let mut n = per_day.floor() as u64 + u64::from(rng.chance(per_day.fract()));
        while n > 0 {
            n -= 1;
            let at = day_start(day) + rng.below(86_400) as i64;
            let c = rng.pick(&sample).clone();
            let r = rng.unit();
            let (kind, subtype, text) = if r < 0.45 {
                (
                    "fault_repair",
                    None,
                    *rng.pick(&["家中停电", "整条街停电", "电线被风刮断", "表箱冒烟", "电压忽高忽低"]),
                )
            } else if r < 0.57 {
                (
                    "complaint",
                    Some(*rng.pick(&["service", "business", "outage", "supply_quality"])),
                    *rng.pick(&["停电时间太长", "电费比上月高很多", "营业员态度不好", "电压低，空调开不了"]),
                )
            } else if r < 0.82 {
                (
                    "consultation",
                    Some(*rng.pick(&["tariff", "procedure", "outage_info", "bill"])),
                    *rng.pick(&["阶梯电价怎么算", "怎么办理过户", "明天是否停电", "本月电费多少"]),
                )
            } else if r < 0.95 {
                (
                    "service_request",
                    Some(*rng.pick(&[
                        "reconnection",
                        "meter_abnormal",
                        "reading_abnormal",
                        "appliance_damage",
                    ])),
                    *rng.pick(&["已交费请复电", "电表走得快", "抄表数不对", "停电后电视坏了"]),
                )
            } else if r < 0.98 {
                ("report", Some(*rng.pick(&["power_theft", "facility_damage"])), "有人私拉电线")
            } else {
                ("opinion", Some(*rng.pick(&["suggestion", "praise"])), "抢修人员很及时，表扬")
            };
            let channel = if rng.chance(0.01) {
                "hotline12345"
            } else if rng.chance(0.005) {
                "hotline12398"
            } else {
                "phone"
            };
            let intake = Intake {
                kind: kind.into(),
                subtype: subtype.map(str::to_string),
                channel: Some(channel.into()),
                customer_id: Some(c.id.as_str().to_string()),
                escalation_intent: rng.chance(0.02),
                description: text.into(),
                ..Intake::default()
            };
            let a = service::accept_with(store, &agent, &intake, at, false).await?;
            work(store, &mut rng, &agent, &crew, &a.order.id, a.order.kind, at, end).await?;
            made += 1;
        }
        day = day.tomorrow().unwrap_or(end);
    }
    Ok(made)
}

/// Works an order through its life with plausible delays; orders accepted in the last days stay open.
#[allow(clippy::too_many_arguments)]
async fn work(
    store: &DynStore,
    rng: &mut Rng,
    agent: &Actor,
    crew: &Actor,
    id: &str,
    kind: OrderKind,
    accepted: i64,
    end: jiff::civil::Date,
) -> AppResult<()> {
    let stop = day_start(end);
    let mut t = accepted;
    let steps: Vec<(&str, i64)> = match kind {
        OrderKind::FaultRepair => vec![
            ("dispatch", rng.range(60.0, 420.0) as i64),
            ("take", rng.range(60.0, 900.0) as i64),
            ("arrive", rng.lognormal(0.5).mul_add(1500.0, 300.0) as i64),
            ("restore", rng.range(1200.0, 4.0 * 3600.0) as i64),
            ("reply", rng.range(120.0, 1800.0) as i64),
            ("call_back", rng.range(3600.0, 30.0 * 3600.0) as i64),
            ("archive", rng.range(600.0, 7200.0) as i64),
        ],
        OrderKind::Consultation | OrderKind::Opinion => vec![
            ("handle", rng.range(60.0, 900.0) as i64),
            ("reply", rng.range(30.0, 600.0) as i64),
            ("call_back", rng.range(3600.0, 24.0 * 3600.0) as i64),
            ("archive", rng.range(600.0, 7200.0) as i64),
        ],
        _ => vec![
            ("dispatch", rng.range(300.0, 3600.0) as i64),
            ("take", rng.range(1800.0, 20.0 * 3600.0) as i64),
            ("handle", rng.range(3.0 * 3600.0, 5.0 * 86_400.0) as i64),
            ("reply", rng.range(600.0, 86_400.0) as i64),
            ("call_back", rng.range(3600.0, 2.0 * 86_400.0) as i64),
            ("archive", rng.range(600.0, 7200.0) as i64),
        ],
    };
    for (event, delay) in steps {
        t += delay.max(1);
        if t >= stop {
            return Ok(());
        }
        let who =
            if matches!(event, "take" | "arrive" | "restore" | "reply") && kind == OrderKind::FaultRepair {
                crew
            } else {
                agent
            };
        let mut req = ActRequest { event: event.into(), ..ActRequest::default() };
        if event == "reply" && kind == OrderKind::FaultRepair {
            req.fault_cause = Some(
                (*rng.pick(&["低压熔断器熔断", "树木碰线", "用户内部线路故障", "配变跌落式熔断器熔断"]))
                    .into(),
            );
            req.asset_ownership = Some((*rng.pick(&["供电公司", "用户"])).into());
            req.repair_record = Some("更换熔断器，检查线路后恢复供电".into());
        }
        if event == "call_back" {
            let r = rng.unit();
            req.satisfaction = Some(
                if r < 0.9 {
                    "satisfied"
                } else if r < 0.97 {
                    "fairly_satisfied"
                } else {
                    "dissatisfied"
                }
                .into(),
            );
        }
        let v = service::act(store, who, id, &req, t).await?;
        if v.order.status == Status::CalledBack
            && v.order.kind == OrderKind::Complaint
            && v.allowed.contains(&"reopen")
        {
            // A dissatisfied complaint is sent back once, handled again and archived.
            for e in ["reopen", "take", "handle", "reply"] {
                t += rng.range(600.0, 86_400.0) as i64;
                if t >= stop {
                    return Ok(());
                }
                service::act(store, agent, id, &ActRequest { event: e.into(), ..ActRequest::default() }, t)
                    .await?;
            }
            t += 3600;
            if t >= stop {
                return Ok(());
            }
            let cb = ActRequest {
                event: "call_back".into(),
                satisfaction: Some("fairly_satisfied".into()),
                ..ActRequest::default()
            };
            service::act(store, agent, id, &cb, t).await?;
        }
    }
    Ok(())
}

/// 24-hour shifts from 08:00: one production leader and two crews at once, another leader after
/// the take timeout, the duty supervisor (manager) after twice that.
async fn roster(store: &DynStore, from: jiff::civil::Date, to: jiff::civil::Date) -> AppResult<()> {
    let mut rows = Vec::new();
    let mut day = from;
    let mut i = 0usize;
    while day < to {
        let s = day_start(day) + 8 * 3600;
        let e = s + 86_400;
        let shift =
            |n: usize, staff: &str, duty: &str, level: i64, crew: Option<String>, vehicle: Option<String>| {
                DutyShift {
                    id: format!("AP-DUTY-{day}-{n}"),
                    bureau_id: super::org::BUREAU.into(),
                    staff_id: staff.into(),
                    duty: duty.into(),
                    level,
                    crew_name: crew,
                    vehicle,
                    starts_at: s,
                    ends_at: e,
                    created_at: None,
                    created_by: Some("system".into()),
                    ended_at: None,
                    ended_by: None,
                    phone: None,
                }
            };
        rows.push(shift(1, LEADERS[i % 3], "leader", 0, None, None));
        rows.push(shift(
            2,
            CREWS[(2 * i) % CREWS.len()],
            "crew",
            0,
            Some(format!("抢修{}班", i % 4 + 1)),
            Some(format!("冀T-D{:04}", 100 + i % 4)),
        ));
        rows.push(shift(
            3,
            CREWS[(2 * i + 1) % CREWS.len()],
            "crew",
            0,
            Some(format!("抢修{}班", i % 4 + 1)),
            Some(format!("冀T-D{:04}", 100 + i % 4)),
        ));
        rows.push(shift(4, LEADERS[(i + 1) % 3], "leader", 1, None, None));
        rows.push(shift(5, "manager", "supervisor", 2, None, None));
        day = day.tomorrow().unwrap_or(to);
        i += 1;
    }
    store.upsert_duty(&rows).await?;
    Ok(())
}

async fn knowledge(store: &DynStore) -> AppResult<()> {
    let a = |id: &str, kind: &str, sub: &str, title: &str, body: &str, tags: &str| KnowledgeArticle {
        id: id.into(),
        kind: OrderKind::parse(kind).ok(),
        subtype: bureau_domain::service::SubType::parse(sub).ok(),
        title: title.into(),
        body: body.into(),
        tags: tags.into(),
        updated_at: 1_780_000_000,
        updated_by: "system".into(),
        revision: 1,
        retired_at: None,
    };
    let articles = vec![
        a("KB-0001", "consultation", "tariff", "居民阶梯电价怎么计算", "居民生活用电按年度阶梯计价：第一档电量执行基础电价，第二档、第三档分别加价。具体档位和电价以本省价格主管部门文件为准，可在营业厅或网上国网查询。", "阶梯 电价 居民 tariff tiers"),
        a("KB-0002", "consultation", "procedure", "过户需要哪些资料", "办理过户需提供新户主身份证、房屋产权证明（或购房合同）、原户主结清电费的凭证。可到营业厅办理，也可通过网上国网在线申请。", "过户 更名 资料 transfer"),
        a("KB-0003", "consultation", "outage_info", "如何查询计划停电", "计划检修停电提前7天公告，可拨打95598、登录网上国网或关注当地供电公司公众号查询停电范围和时间。", "停电 计划 检修 公告 outage"),
        a("KB-0004", "consultation", "bill", "电费账单查询", "请客户提供户号，可查询近12个月的电量、电费和缴费记录；也可通过网上国网查询电子账单。", "账单 电费 查询 bill"),
        a("KB-0005", "service_request", "reconnection", "欠费停电后如何复电", "客户结清欠费及违约金后，供电企业在24小时内恢复供电。复电后1个工作日内回复客户。", "复电 欠费 违约金 reconnection"),
        a("KB-0006", "service_request", "meter_abnormal", "怀疑电表不准怎么办", "客户可申请电能表校验，校验结果在5个工作日内告知。误差超出允许范围的，按规定退补电费。", "电表 校验 不准 meter test"),
        a("KB-0007", "fault_repair", "", "故障报修受理要点", "记录客户户号、地址、联系电话、故障现象（停电范围、是否有明火/断线），询问是否有越级投诉倾向；城区45分钟、农村90分钟、边远地区2小时内到达现场。", "报修 受理 停电 到达 fault"),
        a("KB-0008", "complaint", "", "投诉处理时限", "投诉工单24小时内联系客户，5个工作日内答复处理意见；来自12398的工单10个工作日内办结，12345工单7日内办结。", "投诉 时限 12398 12345 complaint"),
        a("KB-0009", "service_request", "appliance_damage", "家用电器损坏处理", "因供电企业责任造成的家用电器损坏，接报后24小时内到达现场核查，按《居民用户家用电器损坏处理办法》处理。", "家电 损坏 赔偿 appliance"),
        a("KB-0010", "consultation", "procedure", "新装用电办理流程", "居民新装：提交身份证和房屋证明，全过程不超过5个工作日；低压非居民6个工作日，高压单电源22个工作日。", "新装 报装 业扩 connection"),
    ];
    store.upsert_articles(&articles).await?;
    Ok(())
}
