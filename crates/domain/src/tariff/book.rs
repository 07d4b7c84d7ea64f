//! The tariff catalogue (电价目录): the files shipped with the program, or an operator's directory.

use super::file::{parse_tariff, TariffFileError};
use super::Tariff;
use crate::i18n::Text;
use std::collections::BTreeMap;
use std::path::Path;

/// The tariff files compiled into the program. A test checks that this list and `data/tariffs/`
/// hold the same files, so that a file added to the folder is not forgotten here.
pub(crate) const BUILTIN_FILES: &[(&str, &str)] = &[
    ("hlj-residential.toml", include_str!("../../../../data/tariffs/hlj-residential.toml")),
    ("hlj-residential-annual.toml", include_str!("../../../../data/tariffs/hlj-residential-annual.toml")),
    ("hlj-residential-tou.toml", include_str!("../../../../data/tariffs/hlj-residential-tou.toml")),
    ("hlj-commercial.toml", include_str!("../../../../data/tariffs/hlj-commercial.toml")),
    ("hlj-agricultural.toml", include_str!("../../../../data/tariffs/hlj-agricultural.toml")),
    ("example-two-part.toml", include_str!("../../../../data/tariffs/example-two-part.toml")),
];

/// The catalogue of tariffs by id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TariffBook {
    tariffs: BTreeMap<String, Tariff>,
}

impl TariffBook {
    /// The tariffs shipped with the program. The builtin files are tested to load, so this does
    /// not fail; if a broken file were ever shipped the book would be empty rather than panic, and
    /// the test `builtin_files_all_load` fails first.
    pub fn builtin() -> TariffBook {
        TariffBook::from_texts(BUILTIN_FILES.iter().copied()).unwrap_or_default()
    }

    /// Builds a book from (file name, TOML text) pairs. Ids must be unique across files.
    pub fn from_texts<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<TariffBook, TariffFileError> {
        let mut tariffs: BTreeMap<String, Tariff> = BTreeMap::new();
        let mut origin: BTreeMap<String, String> = BTreeMap::new();
        for (name, text) in files {
            let t = parse_tariff(name, text)?;
            if let Some(first) = origin.get(&t.id) {
                return Err(TariffFileError {
                    file: name.to_string(),
                    field: "id".into(),
                    code: "duplicate",
                    message: Text::new(
                        format!("电价编号 {} 已在文件 {first} 中定义", t.id),
                        format!("tariff id {} is already defined in {first}", t.id),
                    ),
                });
            }
            origin.insert(t.id.clone(), name.to_string());
            tariffs.insert(t.id.clone(), t);
        }
        Ok(TariffBook { tariffs })
    }

    /// Loads every `*.toml` file of an operator's directory, replacing the builtin catalogue. Files
    /// are read in name order so that errors are reproducible.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<TariffBook, TariffFileError> {
        let dir = dir.as_ref();
        let io_err = |file: &Path, e: std::io::Error| TariffFileError {
            file: file.display().to_string(),
            field: String::new(),
            code: "io",
            message: Text::new(format!("无法读取：{e}"), format!("cannot read: {e}")),
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        paths.sort();
        let mut texts = Vec::with_capacity(paths.len());
        for p in &paths {
            let text = std::fs::read_to_string(p).map_err(|e| io_err(p, e))?;
            texts.push((p.display().to_string(), text));
        }
        TariffBook::from_texts(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    pub fn get(&self, id: &str) -> Option<&Tariff> {
        self.tariffs.get(id)
    }

    /// Tariff ids in sorted order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.tariffs.keys().map(String::as_str)
    }

    pub fn tariffs(&self) -> impl Iterator<Item = &Tariff> {
        self.tariffs.values()
    }

    pub fn len(&self) -> usize {
        self.tariffs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tariffs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::register::CustomerClass;
    use crate::tariff::{TariffKind, TierCounter};
    use rust_decimal_macros::dec;

    #[test]
    fn builtin_files_all_load() {
        let book = TariffBook::from_texts(BUILTIN_FILES.iter().copied()).expect("builtin tariff files load");
        assert_eq!(book, TariffBook::builtin());
        let ids: Vec<&str> = book.ids().collect();
        assert_eq!(
            ids,
            [
                "example-two-part",
                "hlj-agricultural",
                "hlj-commercial",
                "hlj-residential",
                "hlj-residential-annual",
                "hlj-residential-tou"
            ]
        );
    }

    #[test]
    fn builtin_list_matches_the_data_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tariffs");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut compiled: Vec<String> = BUILTIN_FILES.iter().map(|(n, _)| n.to_string()).collect();
        compiled.sort();
        assert_eq!(on_disk, compiled);
        assert_eq!(TariffBook::load_dir(dir).unwrap().ids().count(), TariffBook::builtin().len());
    }

    #[test]
    fn residential_tiers_are_the_documented_unverified_values() {
        let book = TariffBook::builtin();
        let t = book.get("hlj-residential").unwrap();
        assert_eq!(t.class, CustomerClass::Residential);
        assert_eq!(t.kind, TariffKind::ResidentialTiered);
        assert!(t.unverified);
        let tiers = t.versions[0].tiers.as_ref().unwrap();
        assert_eq!(tiers.counter, TierCounter::Monthly);
        let b: Vec<_> = tiers.bands.iter().map(|b| (b.from_kwh, b.to_kwh, b.price)).collect();
        assert_eq!(
            b,
            [
                (dec!(0), Some(dec!(170)), dec!(0.51)),
                (dec!(170), Some(dec!(260)), dec!(0.56)),
                (dec!(260), None, dec!(0.81))
            ]
        );
        let annual = book.get("hlj-residential-annual").unwrap().versions[0].tiers.as_ref().unwrap();
        assert_eq!(annual.counter, TierCounter::Annual { reset_month: 1 });
        assert_eq!(annual.bands[1].from_kwh, dec!(2040));
        assert_eq!(annual.bands[2].from_kwh, dec!(3120));
    }

    #[test]
    fn example_two_part_has_the_documented_values() {
        let book = TariffBook::builtin();
        let t = book.get("example-two-part").unwrap();
        assert_eq!(t.kind, TariffKind::TwoPart);
        let v = &t.versions[0];
        assert_eq!(v.energy.single, Some(dec!(0.60)));
        assert_eq!(v.basic.as_ref().unwrap().capacity_price, Some(dec!(20)));
        assert_eq!(v.pf_standard, Some(dec!(0.90)));
        assert!(book.get("nope").is_none());
    }

    #[test]
    fn check_tariff_id_names_the_field() {
        let book = TariffBook::builtin();
        assert_eq!(
            crate::tariff::check_tariff_id(&book, "tariff_id", "hlj-commercial").unwrap().id,
            "hlj-commercial"
        );
        let e = crate::tariff::check_tariff_id(&book, "tariff_id", "hlj-xx").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("tariff_id", "unknown"));
        assert_eq!(crate::tariff::check_tariff_id(&book, "tariff_id", " ").unwrap_err().code, "required");
    }

    const GOOD: &str = r#"
id = "t"
name_zh = "测试"
name_en = "Test"
class = "residential"
kind = "residential_tiered"
[[versions]]
effective_from = 2024-01-01
[versions.tiers]
counter = "monthly"
[[versions.tiers.bands]]
from_kwh = "0"
to_kwh = "170"
price = "0.51"
[[versions.tiers.bands]]
from_kwh = "170"
price = "0.56"
"#;

    fn load_one(text: &str) -> Result<TariffBook, TariffFileError> {
        TariffBook::from_texts([("bad.toml", text)])
    }

    #[test]
    fn the_good_sample_loads() {
        assert!(load_one(GOOD).is_ok());
    }

    #[test]
    fn missing_field_names_file_and_key() {
        let e = load_one(&GOOD.replace("price = \"0.56\"", "")).unwrap_err();
        assert_eq!(e.file, "bad.toml");
        assert_eq!(e.field, "versions[0].tiers.bands[1].price");
        assert_eq!(e.code, "required");
        assert!(e.message(Lang::Zh).contains("bad.toml"));
        assert!(e.message(Lang::En).contains("versions[0].tiers.bands[1].price"));
        let e = load_one(&GOOD.replace("name_en = \"Test\"", "")).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("name_en", "required"));
    }

    #[test]
    fn overlapping_tiers_are_refused() {
        let e = load_one(&GOOD.replace("from_kwh = \"170\"", "from_kwh = \"150\"")).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("versions[0].tiers.bands[1].from_kwh", "overlap"));
        assert!(e.message.zh.contains("重叠"), "{}", e.message.zh);
        let e = load_one(&GOOD.replace("from_kwh = \"170\"", "from_kwh = \"180\"")).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("versions[0].tiers.bands[1].from_kwh", "invalid"));
        let e = load_one(&GOOD.replace("to_kwh = \"170\"", "to_kwh = \"0\"")).unwrap_err();
        assert_eq!(e.code, "overlap");
    }

    #[test]
    fn negative_price_is_refused() {
        let e = load_one(&GOOD.replace("price = \"0.51\"", "price = \"-0.51\"")).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("versions[0].tiers.bands[0].price", "negative"));
        let e = load_one(&GOOD.replace("price = \"0.51\"", "price = -0.51")).unwrap_err();
        assert_eq!(e.code, "negative");
    }

    #[test]
    fn unknown_kind_and_unknown_key_are_refused() {
        let e = load_one(&GOOD.replace("residential_tiered", "three_part")).unwrap_err();
        assert_eq!((e.file.as_str(), e.field.as_str(), e.code), ("bad.toml", "kind", "invalid"));
        assert!(e.message.en.contains("three_part"));
        let e = load_one(&GOOD.replace("counter = \"monthly\"", "counter = \"monthly\"\nreset_mnth = 3"))
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("versions[0].tiers.reset_mnth", "unknown"));
    }

    #[test]
    fn other_bad_files() {
        // Not TOML at all.
        let e = load_one("id = ").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("", "syntax"));
        // Versions out of order.
        let two = format!(
            "{GOOD}{}",
            GOOD[GOOD.find("[[versions]]").unwrap()..].replace("2024-01-01", "2023-01-01")
        );
        let e = load_one(&two).unwrap_err();
        assert_eq!(e.field, "versions[1].effective_from");
        // Last tier closed.
        let e = load_one(&GOOD.replace("from_kwh = \"170\"", "from_kwh = \"170\"\nto_kwh = \"300\""))
            .unwrap_err();
        assert_eq!(e.field, "versions[0].tiers.bands[1].to_kwh");
        // Wrong class for the kind.
        let e = load_one(&GOOD.replace("class = \"residential\"", "class = \"agricultural\"")).unwrap_err();
        assert_eq!(e.field, "class");
        // A date that is not a date.
        let e = load_one(&GOOD.replace("2024-01-01", "\"2024-13-01\"")).unwrap_err();
        assert_eq!(e.field, "versions[0].effective_from");
        // Duplicate ids across files.
        let e = TariffBook::from_texts([("a.toml", GOOD), ("b.toml", GOOD)]).unwrap_err();
        assert_eq!((e.file.as_str(), e.field.as_str(), e.code), ("b.toml", "id", "duplicate"));
        // Two-part without a basic charge.
        let tp = r#"
id = "x"
name_zh = "x"
name_en = "x"
class = "industrial_commercial"
kind = "two_part"
[[versions]]
effective_from = 2024-01-01
energy = { single = "0.6" }
"#;
        let e = load_one(tp).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("versions[0].basic", "required"));
        let e = load_one(&format!("{tp}pf_standard = \"0.95\"\nbasic = {{ capacity_price = \"20\" }}\n"))
            .unwrap_err();
        assert_eq!(e.field, "versions[0].pf_standard");
    }

    #[test]
    fn load_dir_names_the_bad_file() {
        let dir = std::env::temp_dir().join(format!("bureau-tariff-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.toml"), GOOD).unwrap();
        std::fs::write(
            dir.join("z.toml"),
            GOOD.replace("id = \"t\"", "id = \"u\"").replace("\"0.56\"", "\"-1\""),
        )
        .unwrap();
        let e = TariffBook::load_dir(&dir).unwrap_err();
        assert!(e.file.ends_with("z.toml"), "{}", e.file);
        assert_eq!(e.code, "negative");
        std::fs::remove_file(dir.join("z.toml")).unwrap();
        assert_eq!(TariffBook::load_dir(&dir).unwrap().ids().collect::<Vec<_>>(), ["t"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(TariffBook::load_dir(dir.join("missing")).unwrap_err().code, "io");
    }
}
