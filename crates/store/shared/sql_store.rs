// The SQL that SQLite and PostgreSQL share, written once.
//
// This file is not a module of `bureau-store`: `bureau-store-sqlite` and `bureau-store-postgres` each
// `include!` it after defining `type Db` (their sqlx database), `SqlStore` (with `pool` for reads and
// `writer` for writes) and a `dialect` module for the few statements that differ. Both drivers take
// `$1…$N` placeholders, `ON CONFLICT`, `RETURNING`, `IS DISTINCT FROM` and window functions, so most
// statements are the same text. Keeping them here means a query is fixed in one place for both.

use bureau_domain::org::{parse_roles, roles_to_string, OrgLevel};
use bureau_domain::register::{
    AccountNo, Contract, Customer, CustomerClass, Meter, ReadingBook, ServiceArea,
};
use bureau_store::*;
use rust_decimal::Decimal;
use sqlx::{QueryBuilder, Row};

/// Rows per multi-row statement: under SQLite's 32,766 bound parameters for the widest table.
const CHUNK: usize = 500;

fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(d) if d.is_unique_violation() || d.is_foreign_key_violation() || d.is_check_violation() => {
            StoreError::Constraint { constraint: d.constraint().map(str::to_string).unwrap_or_else(|| d.message().to_string()) }
        }
        other => StoreError::Database(other.to_string()),
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

/// Register values are stored as integer hundredths, exact on both databases.
fn to_centi(d: Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (d * Decimal::ONE_HUNDRED).round().to_i64().unwrap_or(i64::MAX)
}

fn from_centi(c: i64) -> Decimal {
    Decimal::new(c, 2).normalize()
}

fn date_text(d: jiff::civil::Date) -> String {
    d.to_string()
}

fn parse_date(s: &str) -> StoreResult<jiff::civil::Date> {
    s.parse().map_err(|_| corrupt("date", s))
}

fn parse_decimal(s: &str) -> StoreResult<Decimal> {
    s.parse().map_err(|_| corrupt("decimal", s))
}

/// Appends `AND <column> IN (...)` for a scope limited to some bureaus. A county bureau holds all or
/// most of the rows it sees, so the scope is a filter, never an index to start from: the dialect's
/// `NO_INDEX` prefix tells a planner without statistics not to walk the bureau index.
fn push_scope<'a>(qb: &mut QueryBuilder<'a, Db>, column: &str, scope: &'a Scope) {
    if let Scope::Bureaus(ids) = scope {
        if ids.is_empty() {
            qb.push(" AND 1 = 0");
            return;
        }
        qb.push(format!(" AND {}{column} IN (", dialect::NO_INDEX));
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(id.as_str());
        }
        qb.push(")");
    }
}

const CUSTOMER_COLUMNS: &str = "customer_id, bureau_id, name, address, phone, class, area, supply_point, book_id";

fn customer_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Customer> {
    let id: String = r.try_get("customer_id").map_err(db_err)?;
    let class: String = r.try_get("class").map_err(db_err)?;
    let area: String = r.try_get("area").map_err(db_err)?;
    Ok(Customer {
        id: AccountNo::parse("customer_id", &id).map_err(|_| corrupt("customer_id", &id))?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        address: r.try_get("address").map_err(db_err)?,
        phone: r.try_get("phone").map_err(db_err)?,
        class: CustomerClass::parse(&class).map_err(|_| corrupt("class", &class))?,
        area: ServiceArea::parse(&area).map_err(|_| corrupt("area", &area))?,
        supply_point: r.try_get("supply_point").map_err(db_err)?,
        book_id: r.try_get("book_id").map_err(db_err)?,
    })
}

fn meter_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Meter> {
    let customer_id: String = r.try_get("customer_id").map_err(db_err)?;
    let installed_on: String = r.try_get("installed_on").map_err(db_err)?;
    let removed_on: Option<String> = r.try_get("removed_on").map_err(db_err)?;
    let final_c: Option<i64> = r.try_get("final_reading_c").map_err(db_err)?;
    Ok(Meter {
        customer_id: AccountNo::parse("customer_id", &customer_id).map_err(|_| corrupt("customer_id", &customer_id))?,
        meter_id: r.try_get("meter_id").map_err(db_err)?,
        multiplier: r.try_get("multiplier").map_err(db_err)?,
        digits: r.try_get("digits").map_err(db_err)?,
        tou: r.try_get("tou").map_err(db_err)?,
        installed_on: parse_date(&installed_on)?,
        initial_reading: from_centi(r.try_get("initial_reading_c").map_err(db_err)?),
        removed_on: removed_on.as_deref().map(parse_date).transpose()?,
        final_reading: final_c.map(from_centi),
    })
}

fn staff_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Staff> {
    let roles: String = r.try_get("roles").map_err(db_err)?;
    Ok(Staff {
        id: r.try_get("id").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        org_unit_id: r.try_get("org_unit_id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        scope_unit_id: r.try_get("scope_unit_id").map_err(db_err)?,
        roles: parse_roles(&roles).map_err(|_| corrupt("roles", &roles))?,
        phone: r.try_get("phone").map_err(db_err)?,
        password_hash: r.try_get("password_hash").map_err(db_err)?,
        active: r.try_get("active").map_err(db_err)?,
    })
}

#[async_trait::async_trait]
impl OrgStore for SqlStore {
    async fn upsert_org_units(&self, units: &[OrgUnit]) -> StoreResult<UpsertCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut counts = UpsertCounts::default();
        // One row at a time, parents first: a unit's parent must exist before it.
        for u in units {
            let n = sqlx::query(
                "INSERT INTO org_units (id, parent_id, level, name_zh, name_en) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, level = excluded.level,
                   name_zh = excluded.name_zh, name_en = excluded.name_en
                 WHERE org_units.parent_id IS DISTINCT FROM excluded.parent_id OR org_units.level <> excluded.level
                   OR org_units.name_zh <> excluded.name_zh OR org_units.name_en <> excluded.name_en",
            )
            .bind(&u.id)
            .bind(&u.parent_id)
            .bind(u.level.code())
            .bind(&u.name_zh)
            .bind(&u.name_en)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            counts += UpsertCounts { written: n, unchanged: 1 - n };
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn list_org_units(&self) -> StoreResult<Vec<OrgUnit>> {
        let rows = sqlx::query("SELECT id, parent_id, level, name_zh, name_en FROM org_units ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let level: String = r.try_get("level").map_err(db_err)?;
                Ok(OrgUnit {
                    id: r.try_get("id").map_err(db_err)?,
                    parent_id: r.try_get("parent_id").map_err(db_err)?,
                    level: OrgLevel::parse(&level).map_err(|_| corrupt("level", &level))?,
                    name_zh: r.try_get("name_zh").map_err(db_err)?,
                    name_en: r.try_get("name_en").map_err(db_err)?,
                })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl StaffStore for SqlStore {
    async fn upsert_staff(&self, staff: &[Staff]) -> StoreResult<UpsertCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut counts = UpsertCounts::default();
        for s in staff {
            let n = sqlx::query(
                "INSERT INTO staff (id, name, org_unit_id, bureau_id, scope_unit_id, roles, phone, password_hash, active)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, org_unit_id = excluded.org_unit_id,
                   bureau_id = excluded.bureau_id, scope_unit_id = excluded.scope_unit_id, roles = excluded.roles,
                   phone = excluded.phone, password_hash = excluded.password_hash, active = excluded.active
                 WHERE staff.name <> excluded.name OR staff.org_unit_id <> excluded.org_unit_id
                   OR staff.bureau_id <> excluded.bureau_id OR staff.scope_unit_id <> excluded.scope_unit_id
                   OR staff.roles <> excluded.roles OR staff.phone IS DISTINCT FROM excluded.phone
                   OR staff.password_hash <> excluded.password_hash OR staff.active <> excluded.active",
            )
            .bind(&s.id)
            .bind(&s.name)
            .bind(&s.org_unit_id)
            .bind(&s.bureau_id)
            .bind(&s.scope_unit_id)
            .bind(roles_to_string(&s.roles))
            .bind(&s.phone)
            .bind(&s.password_hash)
            .bind(s.active)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            counts += UpsertCounts { written: n, unchanged: 1 - n };
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn get_staff(&self, id: &str) -> StoreResult<Staff> {
        let row = sqlx::query("SELECT * FROM staff WHERE id = $1").bind(id).fetch_one(&self.pool).await.map_err(db_err)?;
        staff_from_row(&row)
    }

    async fn list_staff(&self, scope: &Scope) -> StoreResult<Vec<Staff>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM staff WHERE 1 = 1");
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY org_unit_id, id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(staff_from_row).collect()
    }
}

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, s: &Session) -> StoreResult<()> {
        let (kind, id) = match &s.subject {
            Subject::Staff(id) => ("staff", id),
            Subject::Customer(id) => ("customer", id),
        };
        sqlx::query(
            "INSERT INTO sessions (token_hash, subject_kind, subject_id, lang, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.token_hash)
        .bind(kind)
        .bind(id)
        .bind(&s.lang)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: i64) -> StoreResult<Session> {
        let r = sqlx::query("SELECT * FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let kind: String = r.try_get("subject_kind").map_err(db_err)?;
        let id: String = r.try_get("subject_id").map_err(db_err)?;
        let subject = match kind.as_str() {
            "staff" => Subject::Staff(id),
            "customer" => Subject::Customer(id),
            other => return Err(corrupt("subject_kind", other)),
        };
        Ok(Session {
            token_hash: r.try_get("token_hash").map_err(db_err)?,
            subject,
            lang: r.try_get("lang").map_err(db_err)?,
            created_at: r.try_get("created_at").map_err(db_err)?,
            expires_at: r.try_get("expires_at").map_err(db_err)?,
        })
    }

    async fn set_session_lang(&self, token_hash: &str, lang: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET lang = $1 WHERE token_hash = $2")
            .bind(lang)
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.writer).await.map_err(db_err)?;
        Ok(())
    }

    async fn delete_other_sessions(&self, subject: &Subject, keep_token_hash: &str) -> StoreResult<u64> {
        let (kind, id) = match subject {
            Subject::Staff(id) => ("staff", id),
            Subject::Customer(id) => ("customer", id),
        };
        let r = sqlx::query("DELETE FROM sessions WHERE subject_kind = $1 AND subject_id = $2 AND token_hash <> $3")
            .bind(kind)
            .bind(id)
            .bind(keep_token_hash)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected())
    }

    async fn purge_sessions(&self, now: i64) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&self.writer).await.map_err(db_err)?;
        Ok(r.rows_affected())
    }
}

fn push_customer_values<'a>(qb: &mut QueryBuilder<'a, Db>, rows: &'a [Customer]) {
    qb.push_values(rows, |mut b, c| {
        b.push_bind(c.id.as_str())
            .push_bind(c.bureau_id.as_str())
            .push_bind(c.name.as_str())
            .push_bind(c.address.as_str())
            .push_bind(c.phone.as_deref())
            .push_bind(c.class.code())
            .push_bind(c.area.code())
            .push_bind(c.supply_point.as_deref())
            .push_bind(c.book_id.as_deref());
    });
}

async fn insert_customers_tx(tx: &mut sqlx::Transaction<'_, Db>, customers: &[Customer]) -> StoreResult<u64> {
    let mut n = 0;
    for chunk in customers.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO customers ({CUSTOMER_COLUMNS}) "));
        push_customer_values(&mut qb, chunk);
        qb.push(" ON CONFLICT (customer_id) DO NOTHING");
        n += qb.build().execute(&mut **tx).await.map_err(db_err)?.rows_affected();
    }
    Ok(n)
}

fn push_meter_values<'a>(qb: &mut QueryBuilder<'a, Db>, rows: &'a [Meter]) {
    qb.push_values(rows, |mut b, m| {
        b.push_bind(m.customer_id.as_str())
            .push_bind(m.meter_id.as_str())
            .push_bind(m.multiplier)
            .push_bind(m.digits)
            .push_bind(m.tou)
            .push_bind(date_text(m.installed_on))
            .push_bind(to_centi(m.initial_reading))
            .push_bind(m.removed_on.map(date_text))
            .push_bind(m.final_reading.map(to_centi));
    });
}

const CONTRACT_COLUMNS: &str =
    "customer_id, contract_id, tariff_id, capacity_kva, pf_standard, due_days, effective_from, effective_to";

fn push_contract_values<'a>(qb: &mut QueryBuilder<'a, Db>, rows: &'a [Contract]) {
    qb.push_values(rows, |mut b, c| {
        b.push_bind(c.customer_id.as_str())
            .push_bind(c.contract_id.as_str())
            .push_bind(c.tariff_id.as_str())
            .push_bind(c.capacity_kva.to_string())
            .push_bind(c.pf_standard.map(|p| format!("{p:.2}")))
            .push_bind(c.due_days)
            .push_bind(date_text(c.effective_from))
            .push_bind(c.effective_to.map(date_text));
    });
}

async fn insert_readings_tx(tx: &mut sqlx::Transaction<'_, Db>, readings: &[Reading]) -> StoreResult<u64> {
    let mut n = 0;
    for chunk in readings.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO readings (customer_id, meter_id, read_on, kind, source, total_c, peak_c, flat_c,
               valley_c, max_demand_c, kvarh_c) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.customer_id.as_str())
                .push_bind(r.meter_id.as_str())
                .push_bind(r.read_on.as_str())
                .push_bind(r.kind.code())
                .push_bind(r.source.as_str())
                .push_bind(to_centi(r.total))
                .push_bind(r.peak.map(to_centi))
                .push_bind(r.flat.map(to_centi))
                .push_bind(r.valley.map(to_centi))
                .push_bind(r.max_demand.map(to_centi))
                .push_bind(r.kvarh.map(to_centi));
        });
        qb.push(" ON CONFLICT (customer_id, meter_id, read_on) DO NOTHING");
        n += qb.build().execute(&mut **tx).await.map_err(db_err)?.rows_affected();
    }
    Ok(n)
}

#[async_trait::async_trait]
impl CustomerStore for SqlStore {
    async fn upsert_customers(&self, customers: &[Customer]) -> StoreResult<UpsertCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut counts = UpsertCounts::default();
        for chunk in customers.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO customers ({CUSTOMER_COLUMNS}) "));
            push_customer_values(&mut qb, chunk);
            qb.push(
                " ON CONFLICT (customer_id) DO UPDATE SET bureau_id = excluded.bureau_id, name = excluded.name,
                   address = excluded.address, phone = excluded.phone, class = excluded.class, area = excluded.area,
                   supply_point = excluded.supply_point, book_id = excluded.book_id
                 WHERE customers.bureau_id <> excluded.bureau_id OR customers.name <> excluded.name
                   OR customers.address <> excluded.address OR customers.phone IS DISTINCT FROM excluded.phone
                   OR customers.class <> excluded.class OR customers.area <> excluded.area
                   OR customers.supply_point IS DISTINCT FROM excluded.supply_point
                   OR customers.book_id IS DISTINCT FROM excluded.book_id",
            );
            let n = qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
            counts += UpsertCounts { written: n, unchanged: chunk.len() as u64 - n };
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn insert_customers(&self, customers: &[Customer]) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let n = insert_customers_tx(&mut tx, customers).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn bulk_load(&self, batch: std::sync::Arc<RegisterBatch>) -> StoreResult<()> {
        // The backend's `register_bulk_load` may take a faster path to the same rows.
        self.register_bulk_load(batch).await
    }

    async fn get_customer(&self, scope: &Scope, id: &str) -> StoreResult<Customer> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customer_id = "));
        qb.push_bind(id);
        push_scope(&mut qb, "bureau_id", scope);
        let row = qb.build().fetch_one(&self.pool).await.map_err(db_err)?;
        customer_from_row(&row)
    }

    async fn customer_exists(&self, id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM customers WHERE customer_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.try_get::<i64, _>("n").map_err(db_err)? > 0)
    }

    async fn search_customers(&self, scope: &Scope, query: &str, limit: u32) -> StoreResult<Vec<Customer>> {
        let q = query.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: Vec<Customer> = Vec::new();
        // Exact account number first: the clerk typed it off a bill.
        if let Ok(c) = self.get_customer(scope, q).await {
            found.push(c);
        }
        // Then name and phone prefixes, each walked in its index's order so that a common surname
        // stops after `limit` rows instead of sorting every 张.
        let phone_like = q.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' '));
        for column in ["name", "phone"] {
            if found.len() >= limit as usize || (column == "phone" && !phone_like) {
                continue;
            }
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE "));
            dialect::push_prefix(&mut qb, column, q);
            push_scope(&mut qb, "bureau_id", scope);
            qb.push(format!(" ORDER BY {} LIMIT ", dialect::prefix_order(column)));
            qb.push_bind(i64::from(limit));
            for r in qb.build().fetch_all(&self.pool).await.map_err(db_err)? {
                let c = customer_from_row(&r)?;
                if !found.iter().any(|f| f.id == c.id) {
                    found.push(c);
                }
            }
        }
        // Then anywhere in the address (or name), through the backend's text index.
        if found.len() < limit as usize {
            for c in dialect::search_text(&self.pool, scope, q, limit).await? {
                if found.len() >= limit as usize {
                    break;
                }
                if !found.iter().any(|f| f.id == c.id) {
                    found.push(c);
                }
            }
        }
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn list_customers(&self, scope: &Scope, after: Option<&str>, limit: u32) -> StoreResult<Vec<Customer>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customer_id > "));
        qb.push_bind(after.unwrap_or(""));
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY customer_id LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(customer_from_row).collect()
    }

    async fn count_customers(&self, scope: &Scope) -> StoreResult<u64> {
        let mut qb = QueryBuilder::<Db>::new("SELECT COUNT(*) AS n FROM customers WHERE 1 = 1");
        push_scope(&mut qb, "bureau_id", scope);
        let row = qb.build().fetch_one(&self.pool).await.map_err(db_err)?;
        Ok(row.try_get::<i64, _>("n").map_err(db_err)? as u64)
    }
}


#[async_trait::async_trait]
impl MeterStore for SqlStore {
    async fn upsert_meters(&self, meters: &[Meter]) -> StoreResult<UpsertCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut counts = UpsertCounts::default();
        for chunk in meters.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO meters (customer_id, meter_id, multiplier, digits, tou, installed_on, initial_reading_c,
                   removed_on, final_reading_c) ",
            );
            push_meter_values(&mut qb, chunk);
            qb.push(
                " ON CONFLICT (customer_id, meter_id) DO UPDATE SET multiplier = excluded.multiplier,
                   digits = excluded.digits, tou = excluded.tou, installed_on = excluded.installed_on,
                   initial_reading_c = excluded.initial_reading_c
                 WHERE meters.multiplier <> excluded.multiplier OR meters.digits <> excluded.digits
                   OR meters.tou <> excluded.tou OR meters.installed_on <> excluded.installed_on
                   OR meters.initial_reading_c <> excluded.initial_reading_c",
            );
            let n = qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
            counts += UpsertCounts { written: n, unchanged: chunk.len() as u64 - n };
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn meters_of(&self, customer_id: &str) -> StoreResult<Vec<Meter>> {
        let rows = sqlx::query("SELECT * FROM meters WHERE customer_id = $1 ORDER BY installed_on DESC, meter_id")
            .bind(customer_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(meter_from_row).collect()
    }

    async fn exchange_meter(&self, x: &MeterExchange) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let ended = sqlx::query(
            "UPDATE meters SET removed_on = $1, final_reading_c = $2
             WHERE customer_id = $3 AND meter_id = $4 AND removed_on IS NULL",
        )
        .bind(date_text(x.new_meter.installed_on))
        .bind(to_centi(x.old_final_reading))
        .bind(&x.customer_id)
        .bind(&x.old_meter_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if ended != 1 {
            return Err(StoreError::NotFound);
        }
        let m = &x.new_meter;
        sqlx::query(
            "INSERT INTO meters (customer_id, meter_id, multiplier, digits, tou, installed_on, initial_reading_c)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(m.customer_id.as_str())
        .bind(&m.meter_id)
        .bind(m.multiplier)
        .bind(m.digits)
        .bind(m.tou)
        .bind(date_text(m.installed_on))
        .bind(to_centi(m.initial_reading))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait::async_trait]
impl ContractStore for SqlStore {
    async fn upsert_contracts(&self, contracts: &[Contract]) -> StoreResult<UpsertCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut counts = UpsertCounts::default();
        for chunk in contracts.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO contracts ({CONTRACT_COLUMNS}) "));
            push_contract_values(&mut qb, chunk);
            qb.push(
                " ON CONFLICT (customer_id, contract_id) DO UPDATE SET tariff_id = excluded.tariff_id,
                   capacity_kva = excluded.capacity_kva, pf_standard = excluded.pf_standard,
                   due_days = excluded.due_days, effective_from = excluded.effective_from,
                   effective_to = excluded.effective_to
                 WHERE contracts.tariff_id <> excluded.tariff_id OR contracts.capacity_kva <> excluded.capacity_kva
                   OR contracts.pf_standard IS DISTINCT FROM excluded.pf_standard
                   OR contracts.due_days <> excluded.due_days OR contracts.effective_from <> excluded.effective_from
                   OR contracts.effective_to IS DISTINCT FROM excluded.effective_to",
            );
            let n = qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
            counts += UpsertCounts { written: n, unchanged: chunk.len() as u64 - n };
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn contracts_of(&self, customer_id: &str) -> StoreResult<Vec<Contract>> {
        let rows = sqlx::query("SELECT * FROM contracts WHERE customer_id = $1 ORDER BY effective_from DESC")
            .bind(customer_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let customer_id: String = r.try_get("customer_id").map_err(db_err)?;
                let from: String = r.try_get("effective_from").map_err(db_err)?;
                let to: Option<String> = r.try_get("effective_to").map_err(db_err)?;
                let cap: String = r.try_get("capacity_kva").map_err(db_err)?;
                let pf: Option<String> = r.try_get("pf_standard").map_err(db_err)?;
                Ok(Contract {
                    customer_id: AccountNo::parse("customer_id", &customer_id)
                        .map_err(|_| corrupt("customer_id", &customer_id))?,
                    contract_id: r.try_get("contract_id").map_err(db_err)?,
                    tariff_id: r.try_get("tariff_id").map_err(db_err)?,
                    capacity_kva: parse_decimal(&cap)?,
                    pf_standard: pf.as_deref().map(parse_decimal).transpose()?,
                    due_days: r.try_get("due_days").map_err(db_err)?,
                    effective_from: parse_date(&from)?,
                    effective_to: to.as_deref().map(parse_date).transpose()?,
                })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl BookStore for SqlStore {
    async fn upsert_books(&self, books: &[ReadingBook]) -> StoreResult<UpsertCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut counts = UpsertCounts::default();
        for b in books {
            let n = sqlx::query(
                "INSERT INTO reading_books (id, bureau_id, name, reading_day, reader_id) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET bureau_id = excluded.bureau_id, name = excluded.name,
                   reading_day = excluded.reading_day, reader_id = excluded.reader_id
                 WHERE reading_books.bureau_id <> excluded.bureau_id OR reading_books.name <> excluded.name
                   OR reading_books.reading_day <> excluded.reading_day
                   OR reading_books.reader_id IS DISTINCT FROM excluded.reader_id",
            )
            .bind(&b.id)
            .bind(&b.bureau_id)
            .bind(&b.name)
            .bind(b.reading_day)
            .bind(&b.reader_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            counts += UpsertCounts { written: n, unchanged: 1 - n };
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn list_books(&self, scope: &Scope) -> StoreResult<Vec<ReadingBook>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM reading_books WHERE 1 = 1");
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ReadingBook {
                    id: r.try_get("id").map_err(db_err)?,
                    bureau_id: r.try_get("bureau_id").map_err(db_err)?,
                    name: r.try_get("name").map_err(db_err)?,
                    reading_day: r.try_get("reading_day").map_err(db_err)?,
                    reader_id: r.try_get("reader_id").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn book_exists(&self, id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM reading_books WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.try_get::<i64, _>("n").map_err(db_err)? > 0)
    }
}

#[async_trait::async_trait]
impl ReadingStore for SqlStore {
    async fn insert_readings(&self, readings: &[Reading]) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let n = insert_readings_tx(&mut tx, readings).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn readings_of(&self, customer_id: &str, limit: u32) -> StoreResult<Vec<Reading>> {
        let rows = sqlx::query("SELECT * FROM readings WHERE customer_id = $1 ORDER BY read_on DESC LIMIT $2")
            .bind(customer_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind").map_err(db_err)?;
                let opt = |col: &str| -> StoreResult<Option<Decimal>> {
                    Ok(r.try_get::<Option<i64>, _>(col).map_err(db_err)?.map(from_centi))
                };
                Ok(Reading {
                    customer_id: r.try_get("customer_id").map_err(db_err)?,
                    meter_id: r.try_get("meter_id").map_err(db_err)?,
                    read_on: r.try_get("read_on").map_err(db_err)?,
                    kind: ReadingKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
                    source: r.try_get("source").map_err(db_err)?,
                    total: from_centi(r.try_get("total_c").map_err(db_err)?),
                    peak: opt("peak_c")?,
                    flat: opt("flat_c")?,
                    valley: opt("valley_c")?,
                    max_demand: opt("max_demand_c")?,
                    kvarh: opt("kvarh_c")?,
                })
            })
            .collect()
    }

    async fn consumption_summary(&self, scope: &Scope, from: &str, to: &str) -> StoreResult<Vec<MonthlyConsumption>> {
        // Consumption of a month = (this reading − the previous one) × multiplier, dated by this reading.
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT substr(r.read_on, 1, 7) AS month, CAST(SUM((r.total_c - r.prev_c) * m.multiplier) AS BIGINT) AS kwh_c,
                    COUNT(*) AS n
             FROM (SELECT customer_id, meter_id, read_on, total_c,
                          LAG(total_c) OVER (PARTITION BY customer_id, meter_id ORDER BY read_on) AS prev_c
                   FROM readings) r
             JOIN meters m ON m.customer_id = r.customer_id AND m.meter_id = r.meter_id
             JOIN customers c ON c.customer_id = r.customer_id
             WHERE r.prev_c IS NOT NULL AND r.read_on >= ",
        );
        qb.push_bind(from);
        qb.push(" AND r.read_on <= ");
        qb.push_bind(to);
        push_scope(&mut qb, "c.bureau_id", scope);
        qb.push(" GROUP BY substr(r.read_on, 1, 7) ORDER BY month");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let kwh_c: i64 = r.try_get("kwh_c").map_err(db_err)?;
                Ok(MonthlyConsumption {
                    month: r.try_get("month").map_err(db_err)?,
                    kwh: from_centi(kwh_c),
                    customers: r.try_get::<i64, _>("n").map_err(db_err)? as u64,
                })
            })
            .collect()
    }
}

fn node_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<GridNode> {
    Ok(GridNode {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        customers: r.try_get("customers").map_err(db_err)?,
        avg_kw: r.try_get("avg_kw").map_err(db_err)?,
        peak_kw: r.try_get("peak_kw").map_err(db_err)?,
    })
}

fn branch_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<GridBranch> {
    Ok(GridBranch {
        id: r.try_get("id").map_err(db_err)?,
        bureau_id: r.try_get("bureau_id").map_err(db_err)?,
        from_node: r.try_get("from_node").map_err(db_err)?,
        to_node: r.try_get("to_node").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        normal_open: r.try_get("normal_open").map_err(db_err)?,
        is_open: r.try_get("is_open").map_err(db_err)?,
        length_km: r.try_get("length_km").map_err(db_err)?,
        failure_rate: r.try_get("failure_rate").map_err(db_err)?,
        repair_h: r.try_get("repair_h").map_err(db_err)?,
    })
}

#[async_trait::async_trait]
impl GridStore for SqlStore {
    async fn upsert_grid(&self, nodes: &[GridNode], branches: &[GridBranch]) -> StoreResult<UpsertCounts> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut counts = UpsertCounts::default();
        for chunk in nodes.chunks(CHUNK) {
            let mut qb =
                QueryBuilder::<Db>::new("INSERT INTO grid_nodes (id, bureau_id, kind, name, customers, avg_kw, peak_kw) ");
            qb.push_values(chunk, |mut b, n| {
                b.push_bind(n.id.as_str())
                    .push_bind(n.bureau_id.as_str())
                    .push_bind(n.kind.as_str())
                    .push_bind(n.name.as_str())
                    .push_bind(n.customers)
                    .push_bind(n.avg_kw)
                    .push_bind(n.peak_kw);
            });
            qb.push(
                " ON CONFLICT (id) DO UPDATE SET bureau_id = excluded.bureau_id, kind = excluded.kind,
                   name = excluded.name, customers = excluded.customers, avg_kw = excluded.avg_kw,
                   peak_kw = excluded.peak_kw
                 WHERE grid_nodes.bureau_id <> excluded.bureau_id OR grid_nodes.kind <> excluded.kind
                   OR grid_nodes.name <> excluded.name OR grid_nodes.customers <> excluded.customers
                   OR grid_nodes.avg_kw <> excluded.avg_kw OR grid_nodes.peak_kw <> excluded.peak_kw",
            );
            let n = qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
            counts += UpsertCounts { written: n, unchanged: chunk.len() as u64 - n };
        }
        for chunk in branches.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO grid_branches (id, bureau_id, from_node, to_node, kind, normal_open, is_open, length_km,
                   failure_rate, repair_h) ",
            );
            qb.push_values(chunk, |mut b, x| {
                b.push_bind(x.id.as_str())
                    .push_bind(x.bureau_id.as_str())
                    .push_bind(x.from_node.as_str())
                    .push_bind(x.to_node.as_str())
                    .push_bind(x.kind.as_str())
                    .push_bind(x.normal_open)
                    .push_bind(x.is_open)
                    .push_bind(x.length_km)
                    .push_bind(x.failure_rate)
                    .push_bind(x.repair_h);
            });
            // The current open state belongs to operations (switching), not to a model import: an
            // import keeps it, except for a new branch, which starts in its normal state.
            qb.push(
                " ON CONFLICT (id) DO UPDATE SET bureau_id = excluded.bureau_id, from_node = excluded.from_node,
                   to_node = excluded.to_node, kind = excluded.kind, normal_open = excluded.normal_open,
                   length_km = excluded.length_km, failure_rate = excluded.failure_rate, repair_h = excluded.repair_h
                 WHERE grid_branches.bureau_id <> excluded.bureau_id OR grid_branches.from_node <> excluded.from_node
                   OR grid_branches.to_node <> excluded.to_node OR grid_branches.kind <> excluded.kind
                   OR grid_branches.normal_open <> excluded.normal_open
                   OR grid_branches.length_km <> excluded.length_km
                   OR grid_branches.failure_rate <> excluded.failure_rate
                   OR grid_branches.repair_h <> excluded.repair_h",
            );
            let n = qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
            counts += UpsertCounts { written: n, unchanged: chunk.len() as u64 - n };
        }
        if counts.written > 0 {
            // A running server compares this version with the model it holds (see grid_data_sql.rs).
            let bureaus = nodes
                .iter()
                .map(|n| n.bureau_id.as_str())
                .chain(branches.iter().map(|b| b.bureau_id.as_str()))
                .collect();
            bump_grid_versions(&mut tx, &bureaus).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(counts)
    }

    async fn grid_nodes(&self, scope: &Scope) -> StoreResult<Vec<GridNode>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM grid_nodes WHERE 1 = 1");
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(node_from_row).collect()
    }

    async fn grid_branches(&self, scope: &Scope) -> StoreResult<Vec<GridBranch>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM grid_branches WHERE 1 = 1");
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY id");
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(branch_from_row).collect()
    }

    async fn grid_node_exists(&self, id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM grid_nodes WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.try_get::<i64, _>("n").map_err(db_err)? > 0)
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        dialect::BACKEND
    }

    async fn migrate(&self) -> StoreResult<()> {
        dialect::MIGRATOR.run(&self.writer).await.map_err(|e| StoreError::Database(e.to_string()))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}

impl SqlStore {
    /// Inserts a register batch in one transaction through sqlx, keeping rows already present.
    async fn bulk_load_sql(&self, batch: &RegisterBatch) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        insert_customers_tx(&mut tx, &batch.customers).await?;
        for chunk in batch.meters.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO meters (customer_id, meter_id, multiplier, digits, tou, installed_on, initial_reading_c,
                   removed_on, final_reading_c) ",
            );
            push_meter_values(&mut qb, chunk);
            qb.push(" ON CONFLICT (customer_id, meter_id) DO NOTHING");
            qb.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        for chunk in batch.contracts.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(format!("INSERT INTO contracts ({CONTRACT_COLUMNS}) "));
            push_contract_values(&mut qb, chunk);
            qb.push(" ON CONFLICT (customer_id, contract_id) DO NOTHING");
            qb.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        insert_readings_tx(&mut tx, &batch.readings).await?;
        tx.commit().await.map_err(db_err)
    }
}
