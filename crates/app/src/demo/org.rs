//! The demo bureau's organisation and its 61 staff in 7 departments.

use bureau_domain::org::{OrgLevel, Role};
use bureau_store::{OrgUnit, Staff};

pub const PROVINCE: &str = "HLJ";
pub const CITY: &str = "HLJ-SH";
pub const BUREAU: &str = "AP";

/// The password of every demo login. A demo database is for looking around, never for real data.
pub const DEMO_PASSWORD: &str = "demo2026";

fn unit(id: &str, parent: Option<&str>, level: OrgLevel, zh: &str, en: &str) -> OrgUnit {
    OrgUnit {
        id: id.into(),
        parent_id: parent.map(Into::into),
        level,
        name_zh: zh.into(),
        name_en: en.into(),
    }
}

pub fn units() -> Vec<OrgUnit> {
    use OrgLevel::*;
    vec![
        unit(PROVINCE, None, Province, "黑龙江省电力公司（演示）", "Heilongjiang Electric Power (demo)"),
        unit(CITY, Some(PROVINCE), City, "松花市电业局", "Songhua City Electric Power Bureau"),
        unit(BUREAU, Some(CITY), County, "安平县供电局", "Anping County Power Supply Bureau"),
        unit("AP-BG", Some(BUREAU), Department, "办公室", "General Office"),
        unit("AP-YY", Some(BUREAU), Department, "营业科", "Business & Sales"),
        unit("AP-KF", Some(BUREAU), Department, "95598客户服务中心", "95598 Service Centre"),
        unit("AP-SC", Some(BUREAU), Department, "生产技术科", "Production & Technology"),
        unit("AP-DD", Some(BUREAU), Department, "调度所", "Dispatch"),
        unit("AP-HQ", Some(BUREAU), Department, "后勤科", "Logistics"),
        unit("AP-CW", Some(BUREAU), Department, "财务科", "Finance"),
    ]
}

/// One demo login per role, printed by `bureau demo`.
pub const DEMO_LOGINS: &[(&str, &str)] = &[
    ("admin", "系统管理员 Administrator"),
    ("clerk", "营业员 Counter clerk"),
    ("agent", "95598坐席 95598 agent"),
    ("dispatcher", "调度员 Dispatcher"),
    ("crew", "抢修人员 Repair crew"),
    ("leader", "生产副局长 Production leader"),
    ("manager", "营销副局长 Manager"),
];

/// (id, unit, roles) of the 61 staff: 5 + 16 + 9 + 16 + 6 + 5 + 4.
fn roster() -> Vec<(String, &'static str, Vec<Role>)> {
    use Role::*;
    let mut r: Vec<(String, &'static str, Vec<Role>)> = vec![
        ("director".into(), "AP-BG", vec![Manager]),
        ("leader".into(), "AP-BG", vec![ProductionLeader, Manager]),
        ("manager".into(), "AP-BG", vec![Manager]),
        ("admin".into(), "AP-BG", vec![Admin]),
        ("bg05".into(), "AP-BG", vec![Manager]),
        ("yyke".into(), "AP-YY", vec![CounterClerk, Manager]),
        ("clerk".into(), "AP-YY", vec![CounterClerk]),
    ];
    r.extend((2..=10).map(|i| (format!("clerk{i:02}"), "AP-YY", vec![CounterClerk])));
    r.extend((1..=5).map(|i| (format!("reader{i:02}"), "AP-YY", vec![CounterClerk])));
    r.push(("kfzr".into(), "AP-KF", vec![Agent, Manager]));
    r.push(("agent".into(), "AP-KF", vec![Agent]));
    r.extend((2..=8).map(|i| (format!("agent{i:02}"), "AP-KF", vec![Agent])));
    r.push(("scke".into(), "AP-SC", vec![ProductionLeader, Manager]));
    r.push(("engineer".into(), "AP-SC", vec![ProductionLeader]));
    r.push(("crew".into(), "AP-SC", vec![RepairCrew]));
    r.extend((2..=12).map(|i| (format!("crew{i:02}"), "AP-SC", vec![RepairCrew])));
    r.extend((1..=2).map(|i| (format!("line{i:02}"), "AP-SC", vec![RepairCrew])));
    r.push(("dispatcher".into(), "AP-DD", vec![Dispatcher]));
    r.extend((2..=6).map(|i| (format!("dispatcher{i:02}"), "AP-DD", vec![Dispatcher])));
    r.extend((1..=5).map(|i| (format!("hq{i:02}"), "AP-HQ", vec![Manager])));
    r.extend((1..=4).map(|i| (format!("cw{i:02}"), "AP-CW", vec![Manager])));
    r
}

/// Meter readers, by id, for the reading books.
pub fn readers() -> Vec<String> {
    (1..=5).map(|i| format!("reader{i:02}")).collect()
}

pub fn staff(rng: &mut super::rng::Rng) -> Vec<Staff> {
    roster()
        .into_iter()
        .map(|(id, unit, roles)| Staff {
            name: super::names::person(rng),
            phone: Some(super::names::mobile(rng)),
            org_unit_id: unit.into(),
            bureau_id: BUREAU.into(),
            scope_unit_id: BUREAU.into(),
            roles,
            // Hashed only for staff not yet stored (see `generate`): hashing is deliberately slow.
            password_hash: String::new(),
            active: true,
            id,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sixty_one_staff_in_seven_departments() {
        let r = super::roster();
        assert_eq!(r.len(), 61);
        let depts: std::collections::BTreeSet<&str> = r.iter().map(|x| x.1).collect();
        assert_eq!(depts.len(), 7);
        for (login, _) in super::DEMO_LOGINS {
            assert!(r.iter().any(|x| x.0 == *login), "{login}");
        }
    }
}
