//! The customer's consumption chart and tier gauge as server-drawn SVG (no script, prints well).
//!
//! The bars are the billed kWh of each month, coloured by the tier the month (or, for an annual
//! ladder, the tier year to date) reached; a monthly ladder's thresholds are dashed lines across the
//! bars. The gauge under it shows where the latest bill's counter stands on its ladder. Every
//! number comes from `bureau_app::portal::consumption`; nothing is computed here but geometry.

use bureau_app::portal::MonthUse;
use bureau_domain::i18n::Lang;
use bureau_domain::tariff::ladder::TierPosition;
use rust_decimal::prelude::ToPrimitive;

const TIER_COLOURS: [&str; 4] = ["#3a9a5b", "#e0a030", "#c94a3a", "#7a3a9a"];

fn colour(tier: Option<u8>) -> &'static str {
    match tier {
        Some(t) if t >= 1 => TIER_COLOURS[usize::from(t - 1).min(TIER_COLOURS.len() - 1)],
        _ => "#0b5ea8",
    }
}

fn f(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn tier_label(n: u8, lang: Lang) -> String {
    match lang {
        Lang::Zh => {
            const NUM: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
            format!("第{}档", NUM.get(usize::from(n.max(1) - 1)).copied().unwrap_or("?"))
        }
        Lang::En => format!("tier {n}"),
    }
}

/// Bars of monthly kWh (oldest first), with a monthly ladder's thresholds.
pub fn bars(months: &[MonthUse], lang: Lang) -> String {
    let (w, h, left, bottom, top) = (640.0_f64, 240.0_f64, 44.0_f64, 28.0_f64, 12.0_f64);
    let monthly_thresholds: Vec<f64> = months
        .last()
        .and_then(|m| m.tier.as_ref())
        .filter(|t| t.counter == "monthly")
        .map(|t| t.thresholds.iter().map(|x| f(*x)).collect())
        .unwrap_or_default();
    let max_kwh = months
        .iter()
        .map(|m| f(m.kwh))
        .chain(monthly_thresholds.iter().map(|t| t * 1.1))
        .fold(1.0_f64, f64::max);
    let plot_h = h - bottom - top;
    let y = |kwh: f64| top + plot_h - kwh / max_kwh * plot_h;
    let n = months.len().max(1) as f64;
    let slot = (w - left - 8.0) / n;
    let title = match lang {
        Lang::Zh => "每月用电量（千瓦时）",
        Lang::En => "Monthly consumption (kWh)",
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"{title}\" id=\"consumption-chart\" style=\"max-width:{w}px\">\
         <title>{title}</title>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#9aa5b1\"/>\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{w}\" y2=\"{base}\" stroke=\"#9aa5b1\"/>\
         <text x=\"{lx}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"end\" fill=\"#616e7c\">{max:.0}</text>\
         <text x=\"{lx}\" y=\"{base}\" font-size=\"11\" text-anchor=\"end\" fill=\"#616e7c\">0</text>",
        base = top + plot_h,
        lx = left - 4.0,
        ty = top + 4.0,
        max = max_kwh,
    );
    for (i, m) in months.iter().enumerate() {
        let kwh = f(m.kwh).max(0.0);
        let x = left + 4.0 + i as f64 * slot;
        let bw = (slot * 0.7).max(2.0);
        let yy = y(kwh);
        let tier = m.tier.as_ref().map(|t| t.tier);
        let tip = match tier {
            Some(t) => format!("{} {} kWh, {}", m.period, m.kwh.normalize(), tier_label(t, lang)),
            None => format!("{} {} kWh", m.period, m.kwh.normalize()),
        };
        s.push_str(&format!(
            "<rect class=\"bar\" data-period=\"{p}\" data-tier=\"{tn}\" x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{bw:.1}\" \
             height=\"{hh:.1}\" fill=\"{c}\"><title>{tip}</title></rect>",
            p = m.period,
            tn = tier.map_or(0, u8::from),
            hh = (top + plot_h - yy).max(0.0),
            c = colour(tier),
        ));
        let month = m.period.get(5..7).unwrap_or("");
        s.push_str(&format!(
            "<text x=\"{cx:.1}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#616e7c\">{month}</text>",
            cx = x + bw / 2.0,
            ly = h - bottom + 14.0,
        ));
        if month == "01" || i == 0 {
            s.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#616e7c\">{y}</text>",
                cx = x + bw / 2.0,
                ly = h - 2.0,
                y = m.period.get(0..4).unwrap_or(""),
            ));
        }
    }
    for (i, t) in monthly_thresholds.iter().enumerate() {
        let yy = y(*t);
        s.push_str(&format!(
            "<line class=\"threshold\" x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{w}\" y2=\"{yy:.1}\" stroke=\"{c}\" \
             stroke-dasharray=\"5 4\"/><text x=\"{tx}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"{c}\">{label} {t}</text>",
            c = colour(Some(i as u8 + 2)),
            tx = w - 2.0,
            ly = yy - 3.0,
            label = tier_label(i as u8 + 2, lang),
        ));
    }
    s.push_str("</svg>");
    s
}

/// The latest counter on its ladder: coloured bands and a marker.
pub fn gauge(pos: &TierPosition, lang: Lang) -> String {
    let (w, h, left, right) = (640.0_f64, 64.0_f64, 8.0_f64, 8.0_f64);
    let counter = f(pos.counter_kwh);
    let last = pos.thresholds.last().map_or(1.0, |t| f(*t));
    let scale_max = (last * 1.3).max(counter * 1.05).max(1.0);
    let x = |kwh: f64| left + kwh.min(scale_max) / scale_max * (w - left - right);
    let what = match (pos.counter, lang) {
        ("annual", Lang::Zh) => "年度累计用电",
        ("annual", Lang::En) => "kWh this tier year",
        (_, Lang::Zh) => "本月用电",
        (_, Lang::En) => "kWh this month",
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"{what}\" id=\"tier-gauge\" data-tier=\"{tier}\" style=\"max-width:{w}px\"><title>{what}</title>",
        tier = pos.tier,
    );
    let mut from = 0.0;
    let mut edges: Vec<f64> = pos.thresholds.iter().map(|t| f(*t)).collect();
    edges.push(scale_max);
    for (i, to) in edges.iter().enumerate() {
        s.push_str(&format!(
            "<rect x=\"{x0:.1}\" y=\"18\" width=\"{bw:.1}\" height=\"14\" fill=\"{c}\" opacity=\"0.35\"/>\
             <text x=\"{tx:.1}\" y=\"14\" font-size=\"10\" fill=\"#616e7c\">{label}</text>",
            x0 = x(from),
            bw = (x(*to) - x(from)).max(0.0),
            c = colour(Some(i as u8 + 1)),
            tx = x(from) + 2.0,
            label = tier_label(i as u8 + 1, lang),
        ));
        if i < pos.thresholds.len() {
            s.push_str(&format!(
                "<text x=\"{tx:.1}\" y=\"46\" font-size=\"10\" text-anchor=\"middle\" fill=\"#616e7c\">{to}</text>",
                tx = x(*to),
            ));
        }
        from = *to;
    }
    let mx = x(counter);
    s.push_str(&format!(
        "<path d=\"M{mx:.1} 34 l-6 10 h12 z\" fill=\"{c}\"/><text x=\"{tx:.1}\" y=\"60\" font-size=\"11\" \
         text-anchor=\"middle\" fill=\"#1f2933\">{what} {k} kWh · {label}</text></svg>",
        c = colour(Some(pos.tier)),
        tx = mx.clamp(120.0, w - 120.0),
        k = pos.counter_kwh.normalize(),
        label = tier_label(pos.tier, lang),
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use bureau_domain::money::Fen;
    use bureau_domain::tariff::ladder::position;
    use bureau_domain::tariff::{TierBand, TierCounter, Tiers};
    use rust_decimal_macros::dec;

    fn tiers() -> Tiers {
        Tiers {
            counter: TierCounter::Monthly,
            bands: vec![
                TierBand { number: 1, from_kwh: dec!(0), to_kwh: Some(dec!(170)), price: dec!(0.51) },
                TierBand { number: 2, from_kwh: dec!(170), to_kwh: Some(dec!(260)), price: dec!(0.56) },
                TierBand { number: 3, from_kwh: dec!(260), to_kwh: None, price: dec!(0.81) },
            ],
        }
    }

    fn month(p: &str, kwh: rust_decimal::Decimal) -> MonthUse {
        MonthUse {
            period: p.into(),
            kwh,
            total: Fen(0),
            tariff_id: "hlj-residential".into(),
            tier: Some(position(&tiers(), kwh)),
        }
    }

    #[test]
    fn bars_are_coloured_by_tier_with_threshold_lines() {
        let svg = bars(&[month("2025-12", dec!(120)), month("2026-01", dec!(300))], Lang::Zh);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(svg.contains("data-period=\"2026-01\" data-tier=\"3\""));
        assert_eq!(svg.matches("class=\"threshold\"").count(), 2);
        assert!(svg.contains("第二档 170"));
        assert!(bars(&[], Lang::En).ends_with("</svg>"));
    }

    #[test]
    fn the_gauge_marks_the_counter() {
        let svg = gauge(&position(&tiers(), dec!(200)), Lang::En);
        assert!(svg.contains("data-tier=\"2\""));
        assert!(svg.contains("kWh this month 200 kWh · tier 2"));
    }
}
