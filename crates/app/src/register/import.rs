//! CSV imports (UTF-8, header row). Every row is validated; each rejected row is reported with its
//! line number, field and reason; the good rows are kept. Imports are idempotent: a row equal to the
//! stored record writes nothing, so re-importing a file changes nothing.

use crate::access::{bureau_of, Actor};
use crate::auth::{hash_password, verify_password};
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Text;
use bureau_domain::org::{parse_roles, OrgLevel, Role};
use bureau_domain::register::{
    parse_code, parse_phone, parse_text, Contract, ContractDraft, Customer, CustomerDraft, Meter, MeterDraft,
    ReadingBook, ReadingBookDraft,
};
use bureau_domain::tariff::TariffBook;
use bureau_store::{DynStore, OrgUnit, Staff, StoreError, StoreResult, UpsertCounts};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Org,
    Staff,
    Books,
    Customers,
    Meters,
    Contracts,
}

impl ImportKind {
    pub const ALL: [ImportKind; 6] = [
        ImportKind::Org,
        ImportKind::Staff,
        ImportKind::Books,
        ImportKind::Customers,
        ImportKind::Meters,
        ImportKind::Contracts,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Org => "org",
            ImportKind::Staff => "staff",
            ImportKind::Books => "books",
            ImportKind::Customers => "customers",
            ImportKind::Meters => "meters",
            ImportKind::Contracts => "contracts",
        }
    }

    pub fn parse(s: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// The header row a file of this kind must have (extra columns are ignored).
    pub fn required_columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Org => &["id", "parent_id", "level", "name_zh", "name_en"],
            ImportKind::Staff => &["id", "name", "org_unit_id", "roles"],
            ImportKind::Books => &["id", "bureau_id", "name", "reading_day"],
            ImportKind::Customers => &["id", "bureau_id", "name", "address", "class", "area"],
            ImportKind::Meters => &["customer_id", "meter_id", "multiplier", "digits", "installed_on"],
            ImportKind::Contracts => {
                &["customer_id", "contract_id", "tariff_id", "due_days", "effective_from"]
            }
        }
    }

    /// Roles allowed to import this kind.
    fn roles(self) -> &'static [Role] {
        match self {
            ImportKind::Org | ImportKind::Staff => &[Role::Admin],
            _ => &[Role::CounterClerk],
        }
    }
}

/// A row the import refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    /// Line in the file, counting the header as line 1.
    pub line: u64,
    pub field: String,
    pub code: String,
    pub message: Text,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    /// Rows new or changed, and written.
    pub written: u64,
    /// Rows equal to what was stored already.
    pub unchanged: u64,
    pub rejected: Vec<RejectedRow>,
}

impl ImportReport {
    fn reject(&mut self, line: u64, e: FieldError) {
        self.rejected.push(RejectedRow {
            line,
            field: e.field,
            code: e.code.to_string(),
            message: e.message,
        });
    }
}

/// Rows validated in memory before they are written together.
const BATCH: usize = 2000;

/// What rows refer to, loaded once per import so that each row is checked without a query.
pub(crate) struct References {
    units: HashMap<String, OrgUnit>,
    all_units: Vec<OrgUnit>,
    books: HashMap<String, String>,
    grid_nodes: HashSet<String>,
    tariffs: TariffBook,
}

impl References {
    pub(crate) async fn load(store: &DynStore) -> AppResult<References> {
        let all_units = store.list_org_units().await?;
        let books = store.list_books(&bureau_store::Scope::All).await?;
        let nodes = store.grid_nodes(&bureau_store::Scope::All).await?;
        Ok(References {
            units: all_units.iter().map(|u| (u.id.clone(), u.clone())).collect(),
            all_units,
            books: books.into_iter().map(|b| (b.id, b.bureau_id)).collect(),
            grid_nodes: nodes.into_iter().map(|n| n.id).collect(),
            tariffs: TariffBook::builtin(),
        })
    }

    fn unknown(field: &str, what_zh: &str, what_en: &str, id: &str) -> FieldError {
        FieldError::new(
            field,
            "unknown",
            format!("{what_zh}“{id}”不存在"),
            format!("unknown {what_en} '{id}'"),
        )
    }

    fn check_bureau(&self, field: &str, id: &str) -> Result<(), FieldError> {
        match self.units.get(id) {
            Some(u) if u.level.is_bureau() => Ok(()),
            Some(_) => Err(FieldError::invalid(
                field,
                format!("“{id}”不是供电局（市局或县局）"),
                format!("'{id}' is not a bureau (city or county)"),
            )),
            None => Err(Self::unknown(field, "单位", "bureau", id)),
        }
    }

    /// Checks a customer's references; returns every problem found.
    pub(crate) async fn check_customer(&self, _store: &DynStore, c: &Customer) -> AppResult<Vec<FieldError>> {
        let mut errors = Vec::new();
        let bureau_ok = match self.check_bureau("bureau_id", &c.bureau_id) {
            Ok(()) => true,
            Err(e) => {
                errors.push(e);
                false
            }
        };
        if let Some(book) = c.book_id.as_ref().filter(|_| bureau_ok) {
            match self.books.get(book) {
                None => errors.push(Self::unknown("book_id", "抄表段", "reading book", book)),
                Some(b) if *b != c.bureau_id => errors.push(FieldError::invalid(
                    "book_id",
                    format!("抄表段“{book}”属于其他单位（{b}）"),
                    format!("reading book '{book}' belongs to another bureau ({b})"),
                )),
                Some(_) => {}
            }
        }
        if let Some(sp) = &c.supply_point {
            if !self.grid_nodes.contains(sp) {
                errors.push(Self::unknown("supply_point", "供电点（台区）", "supply point", sp));
            }
        }
        Ok(errors)
    }
}

fn out_of_scope(field: &str, bureau: &str) -> FieldError {
    FieldError::new(
        field,
        "forbidden",
        format!("无权维护单位“{bureau}”的数据"),
        format!("you may not change the records of bureau '{bureau}'"),
    )
}

fn duplicate(field: &str, key: &str, first_line: u64) -> FieldError {
    FieldError::new(
        field,
        "duplicate",
        format!("“{key}”在第{first_line}行已出现"),
        format!("'{key}' already appears on line {first_line}"),
    )
}

/// Imports one CSV file of the given kind.
pub async fn import(
    store: &DynStore,
    actor: &Actor,
    kind: ImportKind,
    input: impl std::io::Read,
) -> AppResult<ImportReport> {
    actor.require_any(kind.roles())?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| {
            FieldError::invalid(
                "header",
                format!("无法读取表头：{e}"),
                format!("cannot read the header row: {e}"),
            )
        })?
        .clone();
    let missing: Vec<&str> =
        kind.required_columns().iter().copied().filter(|c| !headers.iter().any(|h| h == *c)).collect();
    if !missing.is_empty() {
        return Err(AppError::Invalid(
            missing
                .iter()
                .map(|c| {
                    FieldError::new(
                        c,
                        "missing_column",
                        format!("缺少列“{c}”"),
                        format!("the file has no column '{c}'"),
                    )
                })
                .collect(),
        ));
    }
    let refs = References::load(store).await?;
    let mut run = Run { store, actor, refs, report: ImportReport::default(), seen: HashMap::new() };
    let mut batch: Vec<(u64, csv::StringRecord)> = Vec::with_capacity(BATCH);
    for result in reader.records() {
        run.report.rows += 1;
        match result {
            Ok(record) => {
                let line = record.position().map_or(run.report.rows + 1, |p| p.line());
                batch.push((line, record));
            }
            Err(e) => {
                let line = e.position().map_or(run.report.rows + 1, |p| p.line());
                run.report.reject(
                    line,
                    FieldError::invalid("row", format!("无法读取此行：{e}"), format!("unreadable row: {e}")),
                );
            }
        }
        if batch.len() == BATCH {
            run.batch(kind, &headers, std::mem::take(&mut batch)).await?;
        }
    }
    run.batch(kind, &headers, batch).await?;
    // Unreadable rows are noted while reading, the others after validating their batch: report all
    // in file order.
    run.report.rejected.sort_by_key(|r| r.line);
    Ok(run.report)
}

struct Run<'a> {
    store: &'a DynStore,
    actor: &'a Actor,
    refs: References,
    report: ImportReport,
    /// Keys seen in this file, with their line, to reject duplicates.
    seen: HashMap<String, u64>,
}

/// Validated rows of one kind, ready to write.
enum Rows {
    Org(Vec<OrgUnit>),
    Staff(Vec<Staff>),
    Books(Vec<ReadingBook>),
    Customers(Vec<Customer>),
    Meters(Vec<Meter>),
    Contracts(Vec<Contract>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Org(v) => v.len(),
            Rows::Staff(v) => v.len(),
            Rows::Books(v) => v.len(),
            Rows::Customers(v) => v.len(),
            Rows::Meters(v) => v.len(),
            Rows::Contracts(v) => v.len(),
        }
    }

    fn one(&self, i: usize) -> Rows {
        match self {
            Rows::Org(v) => Rows::Org(vec![v[i].clone()]),
            Rows::Staff(v) => Rows::Staff(vec![v[i].clone()]),
            Rows::Books(v) => Rows::Books(vec![v[i].clone()]),
            Rows::Customers(v) => Rows::Customers(vec![v[i].clone()]),
            Rows::Meters(v) => Rows::Meters(vec![v[i].clone()]),
            Rows::Contracts(v) => Rows::Contracts(vec![v[i].clone()]),
        }
    }

    async fn write(&self, store: &DynStore) -> StoreResult<UpsertCounts> {
        match self {
            Rows::Org(v) => store.upsert_org_units(v).await,
            Rows::Staff(v) => store.upsert_staff(v).await,
            Rows::Books(v) => store.upsert_books(v).await,
            Rows::Customers(v) => store.upsert_customers(v).await,
            Rows::Meters(v) => store.upsert_meters(v).await,
            Rows::Contracts(v) => store.upsert_contracts(v).await,
        }
    }
}

fn parse_row<D: DeserializeOwned>(
    headers: &csv::StringRecord,
    record: &csv::StringRecord,
) -> Result<D, FieldError> {
    record.deserialize(Some(headers)).map_err(|e| {
        FieldError::invalid("row", format!("此行格式不正确：{e}"), format!("malformed row: {e}"))
    })
}

impl Run<'_> {
    /// Records a key; a key seen before on another line is a duplicate.
    fn first_time(&mut self, field: &str, key: &str, line: u64) -> bool {
        if let Some(first) = self.seen.get(key) {
            let e = duplicate(field, key, *first);
            self.report.reject(line, e);
            false
        } else {
            self.seen.insert(key.to_string(), line);
            true
        }
    }

    async fn batch(
        &mut self,
        kind: ImportKind,
        headers: &csv::StringRecord,
        batch: Vec<(u64, csv::StringRecord)>,
    ) -> AppResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::with_capacity(batch.len());
        let rows = match kind {
            ImportKind::Org => Rows::Org(self.org_rows(headers, &batch, &mut lines)),
            ImportKind::Staff => Rows::Staff(self.staff_rows(headers, &batch, &mut lines).await?),
            ImportKind::Books => Rows::Books(self.book_rows(headers, &batch, &mut lines).await?),
            ImportKind::Customers => Rows::Customers(self.customer_rows(headers, &batch, &mut lines).await?),
            ImportKind::Meters => Rows::Meters(self.meter_rows(headers, &batch, &mut lines).await?),
            ImportKind::Contracts => Rows::Contracts(self.contract_rows(headers, &batch, &mut lines).await?),
        };
        self.write(rows, &lines).await
    }

    /// Writes a batch; if the database refuses it, writes row by row so that only the bad rows are
    /// rejected and the good ones kept.
    async fn write(&mut self, rows: Rows, lines: &[u64]) -> AppResult<()> {
        if rows.len() == 0 {
            return Ok(());
        }
        match rows.write(self.store).await {
            Ok(c) => {
                self.report.written += c.written;
                self.report.unchanged += c.unchanged;
                Ok(())
            }
            Err(StoreError::Constraint { .. }) => {
                for (i, line) in lines.iter().enumerate() {
                    match rows.one(i).write(self.store).await {
                        Ok(c) => {
                            self.report.written += c.written;
                            self.report.unchanged += c.unchanged;
                        }
                        Err(StoreError::Constraint { constraint }) => self.report.reject(
                            *line,
                            FieldError::new(
                                "row",
                                "constraint",
                                format!("违反数据约束：{constraint}"),
                                format!("refused by a data rule: {constraint}"),
                            ),
                        ),
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn org_rows(
        &mut self,
        headers: &csv::StringRecord,
        batch: &[(u64, csv::StringRecord)],
        lines: &mut Vec<u64>,
    ) -> Vec<OrgUnit> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            parent_id: String,
            level: String,
            name_zh: String,
            name_en: String,
        }
        let mut out = Vec::new();
        for (line, record) in batch {
            let parsed = parse_row::<Row>(headers, record).and_then(|r| {
                let id = parse_code("id", &r.id)?;
                let level = OrgLevel::parse(&r.level)?;
                let parent_id = if r.parent_id.trim().is_empty() {
                    None
                } else {
                    Some(parse_code("parent_id", &r.parent_id)?)
                };
                match (&parent_id, level) {
                    (None, OrgLevel::Province) => {}
                    (None, _) => return Err(FieldError::required("parent_id")),
                    (Some(p), _) => {
                        let parent =
                            self.refs.units.get(p).ok_or_else(|| {
                                References::unknown("parent_id", "上级单位", "parent unit", p)
                            })?;
                        if !level.may_sit_under(parent.level) {
                            return Err(FieldError::invalid(
                                "level",
                                format!("{}不能隶属于{}", level.name_zh(), parent.level.name_zh()),
                                format!(
                                    "a {} cannot sit under a {}",
                                    level.name_en(),
                                    parent.level.name_en()
                                ),
                            ));
                        }
                    }
                }
                Ok(OrgUnit {
                    id,
                    parent_id,
                    level,
                    name_zh: parse_text("name_zh", &r.name_zh, 100)?,
                    name_en: parse_text("name_en", &r.name_en, 100)?,
                })
            });
            match parsed {
                Ok(u) => {
                    if self.first_time("id", &u.id.clone(), *line) {
                        // Later rows may hang under this unit.
                        self.refs.units.insert(u.id.clone(), u.clone());
                        out.push(u);
                        lines.push(*line);
                    }
                }
                Err(e) => self.report.reject(*line, e),
            }
        }
        out
    }

    async fn staff_rows(
        &mut self,
        headers: &csv::StringRecord,
        batch: &[(u64, csv::StringRecord)],
        lines: &mut Vec<u64>,
    ) -> AppResult<Vec<Staff>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            name: String,
            org_unit_id: String,
            #[serde(default)]
            scope_unit_id: String,
            roles: String,
            #[serde(default)]
            phone: String,
            #[serde(default)]
            password: String,
            #[serde(default)]
            active: String,
        }
        let mut out = Vec::new();
        for (line, record) in batch {
            let row = match parse_row::<Row>(headers, record) {
                Ok(r) => r,
                Err(e) => {
                    self.report.reject(*line, e);
                    continue;
                }
            };
            let checked: Result<Staff, FieldError> = async {
                let id = parse_code("id", &row.id)?;
                let org_unit_id = parse_code("org_unit_id", &row.org_unit_id)?;
                if !self.refs.units.contains_key(&org_unit_id) {
                    return Err(References::unknown("org_unit_id", "单位", "unit", &org_unit_id));
                }
                let bureau_id = bureau_of(&org_unit_id, &self.refs.all_units).ok_or_else(|| {
                    FieldError::invalid(
                        "org_unit_id",
                        "该单位不属于任何供电局",
                        "the unit belongs to no bureau",
                    )
                })?;
                if !self.actor.scope.allows(&bureau_id) {
                    return Err(out_of_scope("org_unit_id", &bureau_id));
                }
                let scope_unit_id = if row.scope_unit_id.trim().is_empty() {
                    bureau_id.clone()
                } else {
                    parse_code("scope_unit_id", &row.scope_unit_id)?
                };
                if !self.refs.units.contains_key(&scope_unit_id) {
                    return Err(References::unknown("scope_unit_id", "单位", "unit", &scope_unit_id));
                }
                let roles = parse_roles(&row.roles)?;
                let phone = parse_phone("phone", &row.phone)?;
                let active = row.active.trim().is_empty()
                    || bureau_domain::register::parse_bool("active", &row.active)?;
                // Keep the stored hash when the password is unchanged, so that a re-import writes nothing.
                let existing = match self.store.get_staff(&id).await {
                    Ok(s) => Some(s),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(FieldError::invalid("id", e.to_string(), e.to_string())),
                };
                let password_hash = match (&existing, row.password.as_str()) {
                    (Some(s), "") => s.password_hash.clone(),
                    (Some(s), p) if verify_password(p, &s.password_hash) => s.password_hash.clone(),
                    (None, "") => return Err(FieldError::required("password")),
                    (_, p) if p.chars().count() < 8 => {
                        return Err(FieldError::invalid(
                            "password",
                            "密码至少8个字符",
                            "a password has at least 8 characters",
                        ))
                    }
                    (_, p) => hash_password(p),
                };
                Ok(Staff {
                    id,
                    name: parse_text("name", &row.name, 50)?,
                    org_unit_id,
                    bureau_id,
                    scope_unit_id,
                    roles,
                    phone,
                    password_hash,
                    active,
                })
            }
            .await;
            match checked {
                Ok(s) => {
                    if self.first_time("id", &s.id.clone(), *line) {
                        out.push(s);
                        lines.push(*line);
                    }
                }
                Err(e) => self.report.reject(*line, e),
            }
        }
        Ok(out)
    }

    /// Reads and validates each row of a batch; a row that does not parse or validate is rejected
    /// here with every field at fault.
    fn validated<D: DeserializeOwned, T>(
        &mut self,
        headers: &csv::StringRecord,
        batch: &[(u64, csv::StringRecord)],
        validate: impl Fn(&D) -> Result<T, Vec<FieldError>>,
    ) -> Vec<(u64, T)> {
        let mut out = Vec::with_capacity(batch.len());
        for (line, record) in batch {
            match parse_row::<D>(headers, record).map_err(|e| vec![e]).and_then(|d| validate(&d)) {
                Ok(row) => out.push((*line, row)),
                Err(errors) => errors.into_iter().for_each(|e| self.report.reject(*line, e)),
            }
        }
        out
    }

    /// Keeps a checked row, unless it has errors or its key appeared earlier in the file.
    #[allow(clippy::too_many_arguments)]
    fn keep<T>(
        &mut self,
        line: u64,
        errors: Vec<FieldError>,
        key_field: &str,
        key: &str,
        row: T,
        out: &mut Vec<T>,
        lines: &mut Vec<u64>,
    ) -> bool {
        if !errors.is_empty() {
            errors.into_iter().for_each(|e| self.report.reject(line, e));
            return false;
        }
        if !self.first_time(key_field, key, line) {
            return false;
        }
        out.push(row);
        lines.push(line);
        true
    }

    async fn book_rows(
        &mut self,
        headers: &csv::StringRecord,
        batch: &[(u64, csv::StringRecord)],
        lines: &mut Vec<u64>,
    ) -> AppResult<Vec<ReadingBook>> {
        let mut out = Vec::new();
        for (line, b) in self.validated(headers, batch, ReadingBookDraft::validate) {
            let mut errors = Vec::new();
            if let Err(e) = self.refs.check_bureau("bureau_id", &b.bureau_id) {
                errors.push(e);
            } else if !self.actor.scope.allows(&b.bureau_id) {
                errors.push(out_of_scope("bureau_id", &b.bureau_id));
            }
            if let Some(reader) = &b.reader_id {
                match self.store.get_staff(reader).await {
                    Ok(_) => {}
                    Err(StoreError::NotFound) => {
                        errors.push(References::unknown("reader_id", "抄表员", "meter reader", reader))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let (id, bureau) = (b.id.clone(), b.bureau_id.clone());
            if self.keep(line, errors, "id", &id, b, &mut out, lines) {
                // Customers later in the same import may be read in this book.
                self.refs.books.insert(id, bureau);
            }
        }
        Ok(out)
    }

    async fn customer_rows(
        &mut self,
        headers: &csv::StringRecord,
        batch: &[(u64, csv::StringRecord)],
        lines: &mut Vec<u64>,
    ) -> AppResult<Vec<Customer>> {
        let mut out = Vec::new();
        for (line, c) in self.validated(headers, batch, CustomerDraft::validate) {
            let mut errors = self.refs.check_customer(self.store, &c).await?;
            if errors.is_empty() && !self.actor.scope.allows(&c.bureau_id) {
                errors.push(out_of_scope("bureau_id", &c.bureau_id));
            }
            let key = c.id.as_str().to_string();
            self.keep(line, errors, "id", &key, c, &mut out, lines);
        }
        Ok(out)
    }

    /// The customer must exist and be in the actor's scope.
    async fn check_owner(&self, customer_id: &str) -> AppResult<Vec<FieldError>> {
        match self.store.get_customer(&self.actor.scope, customer_id).await {
            Ok(_) => Ok(Vec::new()),
            Err(StoreError::NotFound) => {
                Ok(vec![References::unknown("customer_id", "户号", "account", customer_id)])
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn meter_rows(
        &mut self,
        headers: &csv::StringRecord,
        batch: &[(u64, csv::StringRecord)],
        lines: &mut Vec<u64>,
    ) -> AppResult<Vec<Meter>> {
        let mut out = Vec::new();
        for (line, m) in self.validated(headers, batch, MeterDraft::validate) {
            let mut errors = self.check_owner(m.customer_id.as_str()).await?;
            if errors.is_empty() {
                // One active meter per household: another active meter is exchanged, not added.
                let current = self.store.meters_of(m.customer_id.as_str()).await?;
                if let Some(active) =
                    current.iter().find(|x| x.removed_on.is_none() && x.meter_id != m.meter_id)
                {
                    errors.push(FieldError::new(
                        "meter_id",
                        "active_meter_exists",
                        format!("该户已有在用电能表{}，请办理换表", active.meter_id),
                        format!(
                            "the customer already has active meter {}; exchange it instead",
                            active.meter_id
                        ),
                    ));
                }
            }
            let key = m.customer_id.as_str().to_string();
            self.keep(line, errors, "customer_id", &key, m, &mut out, lines);
        }
        Ok(out)
    }

    async fn contract_rows(
        &mut self,
        headers: &csv::StringRecord,
        batch: &[(u64, csv::StringRecord)],
        lines: &mut Vec<u64>,
    ) -> AppResult<Vec<Contract>> {
        let mut out = Vec::new();
        for (line, c) in self.validated(headers, batch, ContractDraft::validate) {
            let mut errors = self.check_owner(c.customer_id.as_str()).await?;
            if self.refs.tariffs.get(&c.tariff_id).is_none() {
                let known: Vec<&str> = self.refs.tariffs.ids().collect();
                errors.push(FieldError::new(
                    "tariff_id",
                    "unknown",
                    format!("电价“{}”不存在，可用：{}", c.tariff_id, known.join(", ")),
                    format!("unknown tariff '{}'; known: {}", c.tariff_id, known.join(", ")),
                ));
            }
            let key = format!("{}/{}", c.customer_id.as_str(), c.contract_id);
            self.keep(line, errors, "contract_id", &key, c, &mut out, lines);
        }
        Ok(out)
    }
}
