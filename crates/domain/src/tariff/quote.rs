//! A bill quote (电费试算): what `bureau bill quote ... --json` prints.
//!
//! The quote is the bill calculation for a whole calendar month with the quantities a clerk types,
//! reduced to what a customer reads: code, description in one language, quantity, unit price and
//! amount per line, and the total. Money and quantities are decimal strings so that no client sees
//! a float.

use super::calc::{calculate, BillCalc, BillInput, BillPeriod, TouKwh};
use super::{check_tariff_id, TariffBook};
use crate::error::FieldError;
use crate::i18n::Lang;
use crate::money::Fen;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The quantities of a quote, as the CLI flags and the JSON API name them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct QuoteRequest {
    /// `--tariff ID`
    pub tariff: String,
    /// `--period YYYY-MM`
    pub period: String,
    /// `--kwh N`
    pub kwh: Decimal,
    #[serde(default)]
    pub critical_kwh: Option<Decimal>,
    #[serde(default)]
    pub peak_kwh: Option<Decimal>,
    #[serde(default)]
    pub flat_kwh: Option<Decimal>,
    #[serde(default)]
    pub valley_kwh: Option<Decimal>,
    #[serde(default)]
    pub capacity_kva: Option<Decimal>,
    #[serde(default)]
    pub max_demand_kw: Option<Decimal>,
    #[serde(default)]
    pub kvarh: Option<Decimal>,
    #[serde(default)]
    pub pf_standard: Option<Decimal>,
    /// kWh already billed this tier year, for annual tiers.
    #[serde(default)]
    pub ytd_kwh: Option<Decimal>,
}

/// The printed quote: `{"tariff":…, "period":"2026-01", "lines":[…], "total":"169.50"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub tariff: String,
    pub period: BillPeriod,
    pub lines: Vec<QuoteLine>,
    pub total: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuoteLine {
    pub code: String,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub amount: Fen,
}

impl Quote {
    /// The customer's view of a computed bill, in one language.
    pub fn from_calc(calc: &BillCalc, lang: Lang) -> Quote {
        Quote {
            tariff: calc.tariff_id.clone(),
            period: calc.period,
            lines: calc
                .lines
                .iter()
                .map(|l| QuoteLine {
                    code: l.code.clone(),
                    description: l.description.get(lang).to_string(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    amount: l.amount,
                })
                .collect(),
            total: calc.total,
        }
    }
}

impl QuoteRequest {
    /// The bill input for the whole calendar month of `period`.
    pub fn to_input(&self) -> Result<BillInput, FieldError> {
        let period = BillPeriod::parse("period", &self.period)?;
        let mut input = BillInput::month(period, self.kwh);
        let split = [self.critical_kwh, self.peak_kwh, self.flat_kwh, self.valley_kwh];
        if split.iter().any(Option::is_some) {
            let z = |v: Option<Decimal>| v.unwrap_or(Decimal::ZERO);
            input.tou = Some(TouKwh {
                critical: z(self.critical_kwh),
                peak: z(self.peak_kwh),
                flat: z(self.flat_kwh),
                valley: z(self.valley_kwh),
            });
        }
        input.capacity_kva = self.capacity_kva.unwrap_or(Decimal::ZERO);
        input.max_demand_kw = self.max_demand_kw;
        input.kvarh = self.kvarh;
        input.pf_standard = self.pf_standard;
        input.ytd_kwh = self.ytd_kwh.unwrap_or(Decimal::ZERO);
        Ok(input)
    }
}

/// Quotes a month's bill on a tariff of the book, descriptions in `lang`.
pub fn quote(book: &TariffBook, req: &QuoteRequest, lang: Lang) -> Result<Quote, FieldError> {
    let tariff = check_tariff_id(book, "tariff", &req.tariff)?;
    let input = req.to_input()?;
    let calc = calculate(tariff, &input)?;
    Ok(Quote::from_calc(&calc, lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn req(tariff: &str, kwh: Decimal) -> QuoteRequest {
        QuoteRequest { tariff: tariff.into(), period: "2026-01".into(), kwh, ..Default::default() }
    }

    #[test]
    fn residential_quote_prints_the_documented_json() {
        let q = quote(&TariffBook::builtin(), &req("hlj-residential", dec!(300)), Lang::Zh).unwrap();
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "tariff": "hlj-residential",
                "period": "2026-01",
                "lines": [
                    {"code": "energy_tier_1", "description": "第一档电度电费", "quantity": "170", "unit_price": "0.51", "amount": "86.70"},
                    {"code": "energy_tier_2", "description": "第二档电度电费", "quantity": "90", "unit_price": "0.56", "amount": "50.40"},
                    {"code": "energy_tier_3", "description": "第三档电度电费", "quantity": "40", "unit_price": "0.81", "amount": "32.40"},
                ],
                "total": "169.50",
            })
        );
    }

    #[test]
    fn two_part_quote_in_english_with_period_split() {
        let mut r = req("example-two-part", dec!(1000));
        r.capacity_kva = Some(dec!(50));
        r.kvarh = Some(dec!(750));
        let q = quote(&TariffBook::builtin(), &r, Lang::En).unwrap();
        let codes: Vec<&str> = q.lines.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(codes, ["energy", "basic_capacity", "pf_adjustment"]);
        // 600.00 + 1000.00; cos φ = 1000/1250 = 0.80 → +5 % of (1600.00 − 25.70) = 78.715 → 78.72.
        assert_eq!(q.lines[2].amount, Fen(7872));
        assert_eq!(q.total.to_string(), "1678.72");
        assert!(
            q.lines[2].description.starts_with("Power-factor adjustment (actual 0.80"),
            "{}",
            q.lines[2].description
        );

        let mut r = req("hlj-commercial", dec!(1000));
        r.peak_kwh = Some(dec!(300));
        r.flat_kwh = Some(dec!(400));
        r.valley_kwh = Some(dec!(300));
        let q = quote(&TariffBook::builtin(), &r, Lang::En).unwrap();
        assert_eq!(q.lines.len(), 3);
        assert_eq!(q.total.to_string(), "700.00");
    }

    #[test]
    fn quote_errors_name_the_flag() {
        let book = TariffBook::builtin();
        assert_eq!(quote(&book, &req("nope", dec!(1)), Lang::Zh).unwrap_err().field, "tariff");
        let mut r = req("hlj-residential", dec!(1));
        r.period = "2026/01".into();
        assert_eq!(quote(&book, &r, Lang::Zh).unwrap_err().field, "period");
        let r: QuoteRequest = serde_json::from_str(
            r#"{"tariff":"hlj-residential-tou","period":"2026-01","kwh":"10","peak_kwh":"4"}"#,
        )
        .unwrap();
        assert_eq!(quote(&book, &r, Lang::Zh).unwrap_err().field, "kwh");
    }
}
