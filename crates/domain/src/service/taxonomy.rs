//! What a 95598 work order (工单) is about, and how it reached the bureau.
//!
//! Sources (see reference/service-rules.md §2.1):
//! - six business categories: 国家电网公司95598业务管理暂行办法 国网(营销/4)272-2014 and its annex
//!   "95598客户服务六项业务分类"; category descriptions as published by Inner Mongolia Power
//!   (95598.impc.com.cn, fault repair, consultation/query and report);
//! - complaint classes and grades: the complaint-handling norm (供电服务投诉处理规范) annexed to
//!   the same rules, as reposted at dybbs8.com doc/3379074, and an exam bank (woaishuati 503599);
//! - service-request sub-types: an exam bank (sosoti.cn, **question bank, answer unseen**);
//! - 意见 as a category separate from 投诉 (c. 2019–2020): **unverified**.

use crate::error::FieldError;
use crate::org::coded_enum;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// The business category of a work order (95598 业务分类).
    OrderKind, "kind" {
        /// 故障报修: route to the right area and fault type, track, call back, close the loop.
        FaultRepair = "fault_repair", "故障报修", "Fault repair";
        /// 投诉: a complaint (5 classes, 4 grades).
        Complaint = "complaint", "投诉", "Complaint";
        /// 举报: misconduct, power theft, damage to or theft of facilities.
        Report = "report", "举报", "Report";
        /// 意见、建议、表扬: opinion, suggestion, praise.
        Opinion = "opinion", "意见建议", "Opinion / suggestion / praise";
        /// 咨询、查询: answered from the knowledge base.
        Consultation = "consultation", "咨询查询", "Consultation / query";
        /// 服务申请: reconnection, appliance damage, meter and reading checks, charging booking...
        ServiceRequest = "service_request", "服务申请", "Service request";
    }
);

coded_enum!(
    /// The sub-type of a work order. Each sub-type belongs to one [`OrderKind`]; see
    /// [`SubType::kind`]. Fault repair has no sub-types here: its fault classification (五级分类)
    /// was not found in a citable source.
    SubType, "subtype" {
        // 投诉 — the five classes.
        /// 服务投诉: staff conduct, service attitude and norms.
        Service = "service", "服务投诉", "Service complaint";
        /// 营业投诉: new connections (业扩), metering, billing.
        Business = "business", "营业投诉", "Business complaint (connection, metering, billing)";
        /// 停送电投诉: outages and restoration.
        Outage = "outage", "停送电投诉", "Outage / restoration complaint";
        /// 供电质量投诉: voltage and reliability.
        SupplyQuality = "supply_quality", "供电质量投诉", "Supply quality complaint";
        /// 电网建设投诉: construction of the grid.
        GridConstruction = "grid_construction", "电网建设投诉", "Grid construction complaint";
        // 举报.
        /// 行风问题: 吃拿卡要, favouritism and other misconduct of staff.
        Misconduct = "misconduct", "行风问题举报", "Staff misconduct";
        /// 窃电: power theft.
        PowerTheft = "power_theft", "窃电举报", "Power theft";
        /// 破坏、偷盗电力设施: damage to or theft of facilities.
        FacilityDamage = "facility_damage", "破坏偷盗电力设施举报", "Damage to or theft of facilities";
        // 意见 / 建议 / 表扬.
        Opinion = "opinion", "意见", "Opinion";
        Suggestion = "suggestion", "建议", "Suggestion";
        Praise = "praise", "表扬", "Praise";
        // 咨询 / 查询 — the topics the knowledge base answers.
        Policy = "policy", "政策法规", "Policy";
        Procedure = "procedure", "业务办理", "Procedures";
        Tariff = "tariff", "电价收费", "Tariffs and charges";
        OutageInfo = "outage_info", "停电信息", "Outage information";
        Bill = "bill", "电费账单查询", "Bill query";
        // 服务申请.
        /// 欠费复电: reconnection after payment.
        Reconnection = "reconnection", "欠费复电", "Reconnection after payment";
        /// 家用电器损坏: appliance damage claimed against the supply.
        ApplianceDamage = "appliance_damage", "家用电器损坏", "Appliance damage";
        /// 电能表异常: meter abnormal.
        MeterAbnormal = "meter_abnormal", "电能表异常", "Meter abnormal";
        /// 抄表数据异常: reading abnormal.
        ReadingAbnormal = "reading_abnormal", "抄表数据异常", "Reading abnormal";
        /// 电能表校验: a customer's request to test the meter. Not in the §2.1 sub-type list; added
        /// because the ten commitments (2011 and current) set its time limit.
        MeterTest = "meter_test", "电能表校验", "Meter test request";
        /// 充电预约: EV charging booking.
        EvChargingBooking = "ev_charging_booking", "充电预约", "EV charging booking";
        /// 其他服务申请.
        Other = "other", "其他服务申请", "Other service request";
    }
);

impl SubType {
    /// The kind this sub-type belongs to.
    pub fn kind(self) -> OrderKind {
        use SubType::*;
        match self {
            Service | Business | Outage | SupplyQuality | GridConstruction => OrderKind::Complaint,
            Misconduct | PowerTheft | FacilityDamage => OrderKind::Report,
            Opinion | Suggestion | Praise => OrderKind::Opinion,
            Policy | Procedure | Tariff | OutageInfo | Bill => OrderKind::Consultation,
            Reconnection | ApplianceDamage | MeterAbnormal | ReadingAbnormal | MeterTest
            | EvChargingBooking | Other => OrderKind::ServiceRequest,
        }
    }

    /// Parses a sub-type and checks that it belongs to `kind`; the error names the field
    /// `subtype` and lists the sub-types of that kind.
    pub fn parse_for(kind: OrderKind, text: &str) -> Result<SubType, FieldError> {
        let st = SubType::parse(text)?;
        st.check_kind(kind)?;
        Ok(st)
    }

    /// Fails unless this sub-type belongs to `kind`.
    pub fn check_kind(self, kind: OrderKind) -> Result<(), FieldError> {
        if self.kind() == kind {
            return Ok(());
        }
        let codes: Vec<&str> = kind.subtypes().iter().map(|s| s.code()).collect();
        let list = if codes.is_empty() { "—".to_string() } else { codes.join(", ") };
        Err(FieldError::new(
            "subtype",
            "invalid",
            format!(
                "子类“{}”属于{}，不属于{}；{}的子类：{list}",
                self.code(),
                self.kind().name_zh(),
                kind.name_zh(),
                kind.name_zh()
            ),
            format!(
                "sub-type '{}' belongs to {}, not {}; the sub-types of {} are: {list}",
                self.code(),
                self.kind().code(),
                kind.code(),
                kind.code()
            ),
        ))
    }
}

impl OrderKind {
    /// The sub-types of this kind, in order.
    pub fn subtypes(self) -> Vec<SubType> {
        SubType::ALL.iter().copied().filter(|s| s.kind() == self).collect()
    }
}

coded_enum!(
    /// The grade of a complaint (投诉分级). Major and large complaints get a 15-minute review by the
    /// duty supervisor before dispatch (exam bank, **question bank, answer unseen**).
    ComplaintGrade, "grade" {
        Special = "special", "特殊", "Special";
        Major = "major", "重大", "Major";
        Important = "important", "重要", "Important";
        Ordinary = "ordinary", "一般", "Ordinary";
    }
);

coded_enum!(
    /// How the matter reached the bureau (受理渠道).
    Channel, "channel" {
        /// The 95598 hotline.
        Phone = "phone", "95598电话", "95598 phone";
        /// The business counter (营业厅).
        Counter = "counter", "营业厅柜台", "Counter";
        /// The 95598 website / this system's customer portal.
        Portal = "portal", "95598网站/客户门户", "Customer portal";
        /// 网上国网 app and WeChat.
        App = "app", "网上国网App", "App";
        /// The energy regulator's hotline (12398能源监管热线).
        Hotline12398 = "hotline12398", "12398能源监管热线", "12398 regulator hotline";
        /// The local government's hotline (12345政务服务便民热线).
        Hotline12345 = "hotline12345", "12345政务服务热线", "12345 government hotline";
    }
);

impl Channel {
    /// Whether an order from this channel went above the bureau's own channels (越级). No text
    /// defines 越级投诉; following the design note (service-rules.md §2.3 and §5.5, **inferred**),
    /// every order from 12398 or 12345 counts as escalated in the department assessment.
    pub fn is_escalated(self) -> bool {
        matches!(self, Channel::Hotline12398 | Channel::Hotline12345)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_codes_are_exactly_the_six() {
        let codes: Vec<&str> = OrderKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(
            codes,
            ["fault_repair", "complaint", "report", "opinion", "consultation", "service_request"]
        );
        assert_eq!(OrderKind::parse("投诉").unwrap(), OrderKind::Complaint);
        assert_eq!(OrderKind::parse("fault repair").unwrap(), OrderKind::FaultRepair);
        let e = OrderKind::parse("billing").unwrap_err();
        assert_eq!(e.field, "kind");
        assert!(e.message.en.contains("service_request"));
    }

    #[test]
    fn serde_names_equal_codes() {
        for k in OrderKind::ALL {
            assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{}\"", k.code()));
        }
        for s in SubType::ALL {
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{}\"", s.code()));
        }
        for c in Channel::ALL {
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{}\"", c.code()));
        }
    }

    #[test]
    fn complaint_has_five_classes_and_four_grades() {
        assert_eq!(OrderKind::Complaint.subtypes().len(), 5);
        assert_eq!(ComplaintGrade::ALL.len(), 4);
        assert_eq!(OrderKind::Report.subtypes().len(), 3);
        assert_eq!(OrderKind::Opinion.subtypes(), [SubType::Opinion, SubType::Suggestion, SubType::Praise]);
        assert!(OrderKind::FaultRepair.subtypes().is_empty());
        assert!(OrderKind::ServiceRequest.subtypes().contains(&SubType::Reconnection));
        // Every sub-type belongs to exactly one kind, and every kind but fault repair has some.
        let total: usize = OrderKind::ALL.iter().map(|k| k.subtypes().len()).sum();
        assert_eq!(total, SubType::ALL.len());
    }

    #[test]
    fn subtype_must_belong_to_the_kind() {
        assert_eq!(
            SubType::parse_for(OrderKind::ServiceRequest, "reconnection").unwrap(),
            SubType::Reconnection
        );
        let e = SubType::parse_for(OrderKind::Complaint, "reconnection").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("subtype", "invalid"));
        assert!(e.message.en.contains("supply_quality"), "{}", e.message.en);
        let e = SubType::parse_for(OrderKind::FaultRepair, "praise").unwrap_err();
        assert!(e.message.en.contains("are: —"), "{}", e.message.en);
        assert_eq!(SubType::parse_for(OrderKind::Complaint, "nonsense").unwrap_err().field, "subtype");
    }

    #[test]
    fn only_12398_and_12345_are_escalated() {
        let escalated: Vec<Channel> = Channel::ALL.iter().copied().filter(|c| c.is_escalated()).collect();
        assert_eq!(escalated, [Channel::Hotline12398, Channel::Hotline12345]);
    }
}
