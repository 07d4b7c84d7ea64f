//! Outage causes (停电原因) as codes with their names in Chinese and English, so that a customer
//! reads the cause of an outage in their language on the portal and staff pages show the same words.
//!
//! Source: the cause groups of DL/T 836《供电系统用户供电可靠性评价规程》 (natural causes, external
//! force, equipment, customer's side, planned work) [R: the code list below is this project's
//! selection of the causes a county bureau records most, not the standard's full code table].
//!
//! The outage record keeps the code; a record written by hand with free text (older data, a
//! dispatcher's note) is shown as written in both languages.

use crate::i18n::Text;

/// (code, 中文, English)
pub const CAUSES: &[(&str, &str, &str)] = &[
    ("wind", "大风断线", "Line brought down by strong wind"),
    ("lightning", "雷击", "Lightning"),
    ("ice", "覆冰", "Ice on the line"),
    ("tree", "树障", "Trees on the line"),
    ("animal", "小动物", "Animal contact"),
    ("external_damage", "外力破坏", "External damage (vehicles, digging)"),
    ("equipment_ageing", "设备老化", "Ageing equipment"),
    ("fuse_blown", "熔丝熔断", "Fuse blown"),
    ("transformer_fault", "配变故障", "Distribution transformer fault"),
    ("customer_equipment", "用户设备影响", "Fault in a customer's equipment"),
    ("upstream", "上级电网故障", "Fault on the upstream grid"),
    ("auto_reclosed", "重合闸成功", "Brief interruption (restored by automatic reclosing)"),
    ("planned_maintenance", "计划检修", "Planned maintenance"),
    ("construction", "施工停电", "Construction work"),
];

/// The name of a stored cause: a known code (or a known Chinese name) in both languages; an empty
/// cause is still under investigation; anything else is free text, shown as written.
pub fn label(stored: &str) -> Text {
    let s = stored.trim();
    if s.is_empty() {
        return Text::new("原因待查", "Cause under investigation");
    }
    match CAUSES.iter().find(|(code, zh, _)| s.eq_ignore_ascii_case(code) || s == *zh) {
        Some((_, zh, en)) => Text::new(*zh, *en),
        None => Text::new(s, s),
    }
}

/// Whether `code` is one of [`CAUSES`].
pub fn is_code(code: &str) -> bool {
    CAUSES.iter().any(|(c, _, _)| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn codes_and_names_translate() {
        let wind = label("wind");
        assert_eq!(
            (wind.get(Lang::Zh), wind.get(Lang::En)),
            ("大风断线", "Line brought down by strong wind")
        );
        // A record that kept the Chinese name reads in English too.
        assert_eq!(label("树障").get(Lang::En), "Trees on the line");
        assert_eq!(label(" Planned_Maintenance ").get(Lang::Zh), "计划检修");
        assert_eq!(label("").get(Lang::En), "Cause under investigation");
        // Free text is kept as written.
        let note = label("10kV城关线12号杆倒杆");
        assert_eq!(
            (note.get(Lang::Zh), note.get(Lang::En)),
            ("10kV城关线12号杆倒杆", "10kV城关线12号杆倒杆")
        );
    }

    #[test]
    fn the_list_is_well_formed() {
        let mut codes: Vec<&str> = CAUSES.iter().map(|(c, _, _)| *c).collect();
        assert!(codes
            .iter()
            .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        let n = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), n, "codes are unique");
        let mut zh: Vec<&str> = CAUSES.iter().map(|(_, z, _)| *z).collect();
        zh.sort();
        zh.dedup();
        assert_eq!(zh.len(), n, "Chinese names are unique");
        assert!(is_code("tree") && !is_code("树障"));
    }
}
