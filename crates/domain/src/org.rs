//! The organisation: a hierarchy of units, and the roles of the staff who work in them.
//!
//! One database can hold a whole province: provincial company (省公司) → city bureau (市供电局/电业局)
//! → county bureau (县供电局) → departments (科室) and business offices (营业所). Every record belongs
//! to one bureau (a unit of level city or county); staff see their own bureau's data unless granted a
//! wider scope.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};

macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($(#[$vm:meta])* $v:ident = $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)+];

            /// The stable code used in files, URLs and the database.
            pub fn code(self) -> &'static str { match self { $($name::$v => $code,)+ } }
            pub fn name_zh(self) -> &'static str { match self { $($name::$v => $zh,)+ } }
            pub fn name_en(self) -> &'static str { match self { $($name::$v => $en,)+ } }
            pub fn name(self, lang: $crate::i18n::Lang) -> &'static str {
                match lang { $crate::i18n::Lang::Zh => self.name_zh(), $crate::i18n::Lang::En => self.name_en() }
            }

            /// Accepts the code, the Chinese name or the English name (case-insensitive).
            pub fn parse(text: &str) -> Result<$name, FieldError> {
                let t = text.trim();
                $name::ALL.iter().copied()
                    .find(|v| v.code() == t || v.name_zh() == t || v.name_en().eq_ignore_ascii_case(t))
                    .ok_or_else(|| {
                        let codes: Vec<&str> = $name::ALL.iter().map(|v| v.code()).collect();
                        FieldError::new($field, "invalid",
                            format!("无法识别的取值“{t}”，应为：{}", codes.join(", ")),
                            format!("unknown value '{t}', expected one of: {}", codes.join(", ")))
                    })
            }
        }
    };
}
pub(crate) use coded_enum;

coded_enum!(
    /// The level of an organisational unit.
    OrgLevel, "level" {
        Province = "province", "省公司", "Provincial company";
        City = "city", "市供电局", "City bureau";
        County = "county", "县供电局", "County bureau";
        Department = "department", "科室", "Department";
        Office = "office", "营业所", "Business office";
    }
);

impl OrgLevel {
    /// Bureaus own records (customers, books, grid); provinces group them, departments work in them.
    pub fn is_bureau(self) -> bool {
        matches!(self, OrgLevel::City | OrgLevel::County)
    }

    /// Whether a unit of this level may sit directly under a unit of level `parent`.
    pub fn may_sit_under(self, parent: OrgLevel) -> bool {
        use OrgLevel::*;
        matches!(
            (parent, self),
            (Province, City)
                | (City, County)
                | (City, Department)
                | (City, Office)
                | (County, Department)
                | (County, Office)
        )
    }
}

coded_enum!(
    /// What a member of staff may do. A person may hold several roles.
    Role, "roles" {
        /// 营业员: the counter (customers, payments, bill queries).
        CounterClerk = "counter_clerk", "营业员", "Counter clerk";
        /// 95598 坐席: takes calls and creates work orders.
        Agent = "agent", "95598坐席", "95598 agent";
        /// 调度员: the grid and its outages.
        Dispatcher = "dispatcher", "调度员", "Dispatcher";
        /// 抢修人员: the 24-hour repair crew.
        RepairCrew = "repair_crew", "抢修人员", "Repair crew";
        /// 生产领导: on-duty production leader, told of every repair call.
        ProductionLeader = "production_leader", "生产领导", "Production leader";
        /// 管理人员: reports and assessment.
        Manager = "manager", "管理人员", "Manager";
        /// 系统管理员: staff, organisation and settings.
        Admin = "admin", "系统管理员", "Administrator";
    }
);

/// Parses a role list such as `counter_clerk;manager` (also `,` or `|` separated).
pub fn parse_roles(text: &str) -> Result<Vec<Role>, FieldError> {
    let mut roles = Vec::new();
    for part in text.split([';', ',', '|']).map(str::trim).filter(|p| !p.is_empty()) {
        let r = Role::parse(part)?;
        if !roles.contains(&r) {
            roles.push(r);
        }
    }
    if roles.is_empty() {
        return Err(FieldError::new(
            "roles",
            "required",
            "至少需要一个角色",
            "at least one role is required",
        ));
    }
    roles.sort();
    Ok(roles)
}

/// Joins roles into the stored form, `a;b`.
pub fn roles_to_string(roles: &[Role]) -> String {
    roles.iter().map(|r| r.code()).collect::<Vec<_>>().join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_codes_and_chinese_names() {
        assert_eq!(parse_roles("营业员; manager").unwrap(), vec![Role::CounterClerk, Role::Manager]);
        assert_eq!(parse_roles("admin,admin").unwrap(), vec![Role::Admin]);
        let e = parse_roles("boss").unwrap_err();
        assert_eq!(e.field, "roles");
        assert!(e.message.en.contains("counter_clerk"));
        assert_eq!(parse_roles(" ; ").unwrap_err().code, "required");
    }

    #[test]
    fn hierarchy_rules() {
        assert!(OrgLevel::County.may_sit_under(OrgLevel::City));
        assert!(OrgLevel::Department.may_sit_under(OrgLevel::County));
        assert!(!OrgLevel::County.may_sit_under(OrgLevel::County));
        assert!(!OrgLevel::Province.may_sit_under(OrgLevel::City));
        assert!(OrgLevel::County.is_bureau() && !OrgLevel::Office.is_bureau());
    }
}
