//! The user-interface texts in Chinese and English. One table; a template asks `t.t("key")`.
//! A test checks that every key a template uses is in the table.

use bureau_domain::i18n::Lang;

/// The texts of one language, handed to templates.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    pub fn t(&self, key: &str) -> &'static str {
        match TABLES.iter().flat_map(|t| t.iter()).find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => "??",
        }
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// The other language, for the switch link.
    pub fn other(&self) -> &'static str {
        match self.lang {
            Lang::Zh => "en",
            Lang::En => "zh",
        }
    }

    pub fn other_label(&self) -> &'static str {
        match self.lang {
            Lang::Zh => "English",
            Lang::En => "中文",
        }
    }

    pub fn class(&self, c: &bureau_domain::register::CustomerClass) -> &'static str {
        c.name(self.lang)
    }

    pub fn area(&self, a: &bureau_domain::register::ServiceArea) -> &'static str {
        a.name(self.lang)
    }

    pub fn is_zh(&self) -> bool {
        self.lang == Lang::Zh
    }
}

/// Every table of texts: the shell's here, and one per capability (billing, service, grid…), kept
/// beside that capability's pages.
pub const TABLES: &[&[(&str, &str, &str)]] = &[
    crate::pages::arrears::TEXTS,
    TEXTS,
    crate::pages::billing::TEXTS,
    crate::pages::bills::TEXTS,
    crate::pages::funds::TEXTS,
    crate::pages::bill_exceptions::TEXTS,
    crate::pages::grid::TEXTS,
    crate::pages::service::TEXTS,
    crate::pages::roster::TEXTS,
    crate::pages::outbox::TEXTS,
    crate::pages::knowledge::TEXTS,
    crate::pages::payments::TEXTS,
    crate::pages::bank::TEXTS,
    crate::pages::portal::TEXTS,
];

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("app.name", "供电局营销与服务系统", "Bureau: power supply bureau system"),
    ("app.short", "供电局系统", "Bureau"),
    ("nav.home", "首页", "Home"),
    ("nav.customers", "客户查询", "Customers"),
    ("nav.books", "抄表段", "Reading books"),
    ("nav.staff", "人员", "Staff"),
    ("nav.org", "组织机构", "Organisation"),
    ("nav.grid", "电网", "Grid"),
    ("nav.import", "数据导入", "Import"),
    ("nav.logout", "退出", "Log out"),
    ("login.title", "员工登录", "Staff login"),
    ("login.username", "用户名", "User name"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    ("home.title", "工作台", "Workbench"),
    ("home.welcome", "欢迎", "Welcome"),
    ("home.customers", "客户数", "Customers"),
    ("home.books", "抄表段数", "Reading books"),
    ("home.staff", "员工数", "Staff"),
    ("home.bureau", "所属单位", "Bureau"),
    ("home.roles", "角色", "Roles"),
    ("home.transformers", "台区数", "Transformers"),
    ("search.title", "客户查询", "Customer search"),
    ("search.placeholder", "户号、姓名、电话或地址", "Account, name, phone or address"),
    ("search.submit", "查询", "Search"),
    ("search.none", "没有找到匹配的客户", "No customer matches"),
    (
        "search.hint",
        "输入户号、姓名、电话号码或地址的一部分",
        "Type an account number, or part of a name, phone number or address",
    ),
    ("customer.id", "户号", "Account"),
    ("customer.name", "户名", "Name"),
    ("customer.address", "用电地址", "Address"),
    ("customer.phone", "联系电话", "Phone"),
    ("customer.class", "用电类别", "Class"),
    ("customer.area", "供电区域", "Service area"),
    ("customer.supply_point", "供电点（台区）", "Supply point"),
    ("customer.book", "抄表段", "Reading book"),
    ("customer.bureau", "供电单位", "Bureau"),
    ("customer.meters", "电能表", "Meters"),
    ("customer.contracts", "供用电合同", "Contracts"),
    ("customer.readings", "抄表记录", "Meter readings"),
    ("meter.id", "资产编号", "Asset number"),
    ("meter.multiplier", "倍率", "Multiplier"),
    ("meter.digits", "位数", "Digits"),
    ("meter.tou", "分时", "Time-of-use"),
    ("meter.installed", "装表日期", "Installed"),
    ("meter.removed", "拆表日期", "Removed"),
    ("meter.active", "在用", "Active"),
    ("contract.id", "合同号", "Contract"),
    ("contract.tariff", "电价", "Tariff"),
    ("contract.capacity", "合同容量(kVA)", "Capacity (kVA)"),
    ("contract.pf", "力率标准", "PF standard"),
    ("contract.due", "缴费期限(天)", "Due (days)"),
    ("contract.from", "生效日期", "From"),
    ("contract.to", "终止日期", "To"),
    ("reading.date", "抄表日期", "Date"),
    ("reading.kind", "类型", "Kind"),
    ("reading.total", "总示数", "Total"),
    ("reading.peak", "峰", "Peak"),
    ("reading.flat", "平", "Flat"),
    ("reading.valley", "谷", "Valley"),
    ("reading.source", "来源", "Source"),
    ("book.id", "段号", "Book"),
    ("book.name", "名称", "Name"),
    ("book.day", "抄表例日", "Reading day"),
    ("book.reader", "抄表员", "Reader"),
    ("staff.id", "工号", "Login"),
    ("staff.name", "姓名", "Name"),
    ("staff.unit", "部门", "Department"),
    ("staff.roles", "角色", "Roles"),
    ("staff.phone", "电话", "Phone"),
    ("org.id", "编码", "Code"),
    ("org.name", "名称", "Name"),
    ("org.level", "层级", "Level"),
    ("org.parent", "上级", "Parent"),
    ("import.title", "数据导入", "Import"),
    ("import.kind", "数据类型", "Kind"),
    ("import.file", "CSV文件（UTF-8，含表头）", "CSV file (UTF-8, with a header row)"),
    ("import.submit", "导入", "Import"),
    ("import.rows", "读取行数", "Rows read"),
    ("import.written", "新增或变更", "New or changed"),
    ("import.unchanged", "未变化", "Unchanged"),
    ("import.rejected", "被拒绝的行", "Rejected rows"),
    ("import.line", "行号", "Line"),
    ("import.field", "字段", "Field"),
    ("import.reason", "原因", "Reason"),
    ("grid.nodes", "节点", "Nodes"),
    ("grid.branches", "支路", "Branches"),
    ("grid.feeders", "10kV线路", "10 kV feeders"),
    ("common.yes", "是", "Yes"),
    ("common.no", "否", "No"),
    ("common.back", "返回", "Back"),
    ("common.total", "合计", "Total"),
    ("error.title", "出错了", "Something went wrong"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_templates_use_only_known_keys() {
        let mut keys: Vec<&str> = TABLES.iter().flat_map(|t| t.iter()).map(|t| t.0).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is defined twice");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t.t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                assert!(keys.contains(&key), "{} uses unknown text key {key}", path.display());
            }
        }
    }

    #[test]
    fn both_languages() {
        assert_eq!(Tr::new(Lang::Zh).t("login.submit"), "登录");
        assert_eq!(Tr::new(Lang::En).t("login.submit"), "Log in");
        assert_eq!(Tr::new(Lang::En).t("no.such.key"), "??");
    }
}
