//! A small reader over a parsed TOML table that names the file and the field in every error.
//!
//! Data files (holiday calendars, service-level rule sets) are written by operators by hand, so an
//! error must say exactly where to look: `2027.toml: holiday[3].to` rather than "invalid data".
//! Unknown keys are refused, so that a misspelt key is not silently ignored.

use crate::error::FieldError;
use jiff::civil::Date;

/// One table of a data file, with the path that leads to it (e.g. `2026.toml: holiday[2]`).
pub(crate) struct Table<'a> {
    path: String,
    table: &'a toml::Table,
}

/// Parses a whole data file; a syntax error names the file.
pub(crate) fn parse(file: &str, text: &str) -> Result<toml::Table, FieldError> {
    text.parse::<toml::Table>().map_err(|e| {
        let msg = e.to_string().replace('\n', " ").trim().to_string();
        FieldError::new(file, "syntax", format!("TOML 语法错误：{msg}"), format!("TOML syntax error: {msg}"))
    })
}

impl<'a> Table<'a> {
    /// The top table of the file `file`.
    pub(crate) fn root(file: &str, table: &'a toml::Table) -> Table<'a> {
        Table { path: format!("{file}:"), table }
    }

    /// The full name of a field of this table, e.g. `2026.toml: holiday[1].from`.
    pub(crate) fn field(&self, key: &str) -> String {
        if self.path.ends_with(':') {
            format!("{} {key}", self.path)
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The name of this table itself, e.g. `2026.toml: holiday[1]`.
    pub(crate) fn name(&self) -> &str {
        &self.path
    }

    pub(crate) fn error(
        &self,
        key: &str,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> FieldError {
        FieldError::new(&self.field(key), code, zh, en)
    }

    fn wrong_type(&self, key: &str, zh: &str, en: &str) -> FieldError {
        self.error(key, "invalid", format!("应为{zh}"), format!("expected {en}"))
    }

    /// Refuses keys that are not in `known`.
    pub(crate) fn deny_unknown(&self, known: &[&str]) -> Result<(), FieldError> {
        for key in self.table.keys() {
            if !known.contains(&key.as_str()) {
                return Err(self.error(
                    key,
                    "unknown",
                    format!("未知的字段，允许的字段：{}", known.join(", ")),
                    format!("unknown field; the known fields are: {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(self.wrong_type(key, "字符串", "a string")),
        }
    }

    /// A required, non-blank string.
    pub(crate) fn str(&self, key: &str) -> Result<&'a str, FieldError> {
        match self.opt_str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s.trim()),
            _ => Err(FieldError::required(&self.field(key))),
        }
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong_type(key, "true 或 false", "true or false")),
        }
    }

    pub(crate) fn opt_int(&self, key: &str) -> Result<Option<i64>, FieldError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => Ok(Some(*i)),
            Some(_) => Err(self.wrong_type(key, "整数", "an integer")),
        }
    }

    pub(crate) fn int(&self, key: &str) -> Result<i64, FieldError> {
        self.opt_int(key)?.ok_or_else(|| FieldError::required(&self.field(key)))
    }

    fn value_to_date(&self, field: &str, v: &toml::Value) -> Result<Date, FieldError> {
        let bad = || {
            FieldError::new(
                field,
                "invalid",
                "应为日期，格式 YYYY-MM-DD",
                "expected a date written YYYY-MM-DD",
            )
        };
        match v {
            toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => {
                    Date::new(d.year as i16, d.month as i8, d.day as i8).map_err(|_| bad())
                }
                _ => Err(bad()),
            },
            toml::Value::String(s) => s.trim().parse::<Date>().map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// A date, written either as a TOML local date (`2026-10-01`) or as a string (`"2026-10-01"`).
    pub(crate) fn opt_date(&self, key: &str) -> Result<Option<Date>, FieldError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(v) => self.value_to_date(&self.field(key), v).map(Some),
        }
    }

    pub(crate) fn date(&self, key: &str) -> Result<Date, FieldError> {
        self.opt_date(key)?.ok_or_else(|| FieldError::required(&self.field(key)))
    }

    /// An optional list of dates; absent means empty.
    pub(crate) fn date_list(&self, key: &str) -> Result<Vec<Date>, FieldError> {
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| self.value_to_date(&format!("{}[{i}]", self.field(key)), v))
                .collect(),
            Some(_) => Err(self.wrong_type(key, "日期列表", "a list of dates")),
        }
    }

    /// An optional array of tables (`[[key]]`); absent means empty.
    pub(crate) fn tables(&self, key: &str) -> Result<Vec<Table<'a>>, FieldError> {
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    toml::Value::Table(t) => {
                        Ok(Table { path: format!("{}[{i}]", self.field(key)), table: t })
                    }
                    _ => Err(FieldError::new(
                        &format!("{}[{i}]", self.field(key)),
                        "invalid",
                        "应为表（[[...]]）",
                        "expected a table ([[...]])",
                    )),
                })
                .collect(),
            Some(_) => Err(self.wrong_type(key, "表数组（[[...]]）", "an array of tables ([[...]])")),
        }
    }
}
