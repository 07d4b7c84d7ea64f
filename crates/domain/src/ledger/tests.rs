use super::bank_file::{format_results, parse_batch, LineStatus, ResultLine, RESULT_HEADER};
use super::*;
use crate::calendar::beijing;
use crate::i18n::Lang;
use crate::late_fee::{LateFeeClass, LateFeeRules};
use jiff::civil::{date, Date};
use proptest::prelude::*;

fn at(y: i16, m: i8, d: i8, h: i8) -> Timestamp {
    beijing::instant(date(y, m, d).at(h, 0, 0, 0)).unwrap()
}

fn yuan(s: &str) -> Fen {
    Fen::parse_yuan("x", s).unwrap()
}

fn period(y: i16, m: i8) -> BillPeriod {
    BillPeriod::new("p", y, m).unwrap()
}

fn entry(id: &str, ts: Timestamp, kind: EntryKind) -> Entry {
    let channel = match kind {
        EntryKind::Charge { .. } => Channel::Billing,
        EntryKind::LateFee { .. } => Channel::System,
        _ => Channel::Counter,
    };
    Entry { id: EntryId(id.into()), at: ts, by: "clerk1".into(), channel, reason: "test".into(), kind }
}

fn charge(id: &str, bill: &str, p: BillPeriod, due: Date, amount: Fen, ts: Timestamp) -> Entry {
    entry(id, ts, EntryKind::Charge { bill: BillId(bill.into()), period: p, due, amount })
}

fn pay(id: &str, amount: Fen, ts: Timestamp) -> Entry {
    entry(
        id,
        ts,
        EntryKind::Payment { amount, key: IdempotencyKey::parse("key", &format!("k-{id}")).unwrap() },
    )
}

fn reversal(id: &str, of: &str, ts: Timestamp) -> Entry {
    entry(id, ts, EntryKind::Reversal { of: EntryId(of.into()), approved_by: "chief".into() })
}

fn bill<'a>(s: &'a LedgerState, id: &str) -> &'a BillState {
    s.bill(&BillId(id.into())).unwrap()
}

/// Two bills, January 86.70 due 2026-02-15 and February 120.00 due 2026-03-15.
fn two_bills() -> Vec<Entry> {
    vec![
        charge("c1", "B1", period(2026, 1), date(2026, 2, 15), yuan("86.70"), at(2026, 2, 1, 2)),
        charge("c2", "B2", period(2026, 2), date(2026, 3, 15), yuan("120.00"), at(2026, 3, 1, 2)),
    ]
}

#[test]
fn a_payment_settles_the_oldest_bill_first() {
    let mut es = two_bills();
    // 100.00 paid: 86.70 to January, 13.30 to February, which keeps 106.70 open.
    es.push(pay("p1", yuan("100"), at(2026, 3, 5, 10)));
    let s = fold(&es);
    assert_eq!(bill(&s, "B1").open(), Fen::ZERO);
    assert_eq!(bill(&s, "B2").open(), yuan("106.70"));
    assert_eq!(bill(&s, "B2").allocations[0].amount, yuan("13.30"));
    assert_eq!(bill(&s, "B2").allocations[0].source, EntryId("p1".into()));
    assert_eq!((s.owed(), s.credit(), s.balance()), (yuan("106.70"), Fen::ZERO, yuan("106.70")));
    // Arrears: nothing overdue on 15 March (the due day itself), 106.70 on 16 March.
    assert_eq!(s.arrears_on(date(2026, 3, 15)), Fen::ZERO);
    assert_eq!(s.arrears_on(date(2026, 3, 16)), yuan("106.70"));
    assert_eq!(s.oldest_overdue(date(2026, 3, 16)), Some(date(2026, 3, 15)));
}

#[test]
fn the_bill_due_first_is_settled_first_whatever_the_posting_order() {
    // A back-billed December bill posted after January is due earlier, so it is settled first.
    let mut es = two_bills();
    es.insert(1, charge("c0", "B0", period(2025, 12), date(2026, 1, 15), yuan("50"), at(2026, 2, 2, 2)));
    es.push(pay("p1", yuan("60"), at(2026, 3, 5, 10)));
    let s = fold(&es);
    assert_eq!(s.bills.iter().map(|b| b.bill.0.as_str()).collect::<Vec<_>>(), ["B0", "B1", "B2"]);
    assert_eq!((bill(&s, "B0").open(), bill(&s, "B1").open()), (Fen::ZERO, yuan("76.70")));
}

#[test]
fn prepayment_is_credit_applied_to_the_next_bills() {
    // 300.00 prepaid before any bill: all credit. January 86.70 and February 120.00 are then paid
    // from it as they are posted, leaving 93.30.
    let mut es = vec![pay("p0", yuan("300"), at(2026, 1, 20, 9))];
    es.extend(two_bills());
    let s = fold(&es);
    assert_eq!(s.credit(), yuan("93.30"));
    assert_eq!(s.balance(), -yuan("93.30"));
    assert!(s.open_bills().next().is_none());
    // The money met the February bill when it was posted.
    let a = &bill(&s, "B2").allocations[0];
    assert_eq!((a.at, a.amount, a.source.0.as_str()), (at(2026, 3, 1, 2), yuan("120"), "p0"));
    // Partly covered: a third bill of 100.00 leaves 6.70 open.
    let mut es2 = es.clone();
    es2.push(charge("c3", "B3", period(2026, 3), date(2026, 4, 15), yuan("100"), at(2026, 4, 1, 2)));
    let s2 = fold(&es2);
    assert_eq!((s2.credit(), bill(&s2, "B3").open()), (Fen::ZERO, yuan("6.70")));
}

#[test]
fn late_fees_are_paid_after_their_bill_charge_and_before_newer_bills() {
    let mut es = two_bills();
    es.push(entry(
        "f1",
        at(2026, 3, 2, 1),
        EntryKind::LateFee { bill: BillId("B1".into()), amount: yuan("1") },
    ));
    es.push(pay("p1", yuan("90"), at(2026, 3, 5, 10)));
    let s = fold(&es);
    let b1 = bill(&s, "B1");
    assert_eq!((b1.paid_charge, b1.paid_late_fee, b1.open()), (yuan("86.70"), yuan("1"), Fen::ZERO));
    assert_eq!(bill(&s, "B2").paid_charge, yuan("2.30"));
    // Paying exactly the charge leaves the fee open: the charge comes first.
    let mut es = two_bills();
    es.push(entry(
        "f1",
        at(2026, 3, 2, 1),
        EntryKind::LateFee { bill: BillId("B1".into()), amount: yuan("1") },
    ));
    es.push(pay("p1", yuan("86.70"), at(2026, 3, 5, 10)));
    let b1 = fold(&es).bill(&BillId("B1".into())).unwrap().clone();
    assert_eq!((b1.charge_open(), b1.late_fee_open()), (Fen::ZERO, yuan("1")));
}

#[test]
fn adjustments_change_the_bill_and_overpayment_goes_back_to_credit() {
    let mut es = two_bills();
    es.push(pay("p1", yuan("86.70"), at(2026, 2, 10, 10)));
    // January was over-billed by 20.00 (退补): the 20.00 paid on it moves to February.
    es.push(entry(
        "a1",
        at(2026, 3, 10, 10),
        EntryKind::Adjustment { bill: Some(BillId("B1".into())), amount: -yuan("20") },
    ));
    let s = fold(&es);
    assert_eq!(bill(&s, "B1").charged, yuan("66.70"));
    assert_eq!(bill(&s, "B1").open(), Fen::ZERO);
    assert_eq!(bill(&s, "B1").charge_collected_by(at(2026, 12, 31, 0)), yuan("66.70"));
    assert_eq!(bill(&s, "B2").open(), yuan("100"));
    // A goodwill credit without a bill and an unbilled debit.
    es.push(entry("a2", at(2026, 3, 11, 10), EntryKind::Adjustment { bill: None, amount: -yuan("100") }));
    let s = fold(&es);
    assert_eq!((bill(&s, "B2").open(), s.credit()), (Fen::ZERO, Fen::ZERO));
    es.push(entry("a3", at(2026, 3, 12, 10), EntryKind::Adjustment { bill: None, amount: yuan("5") }));
    let s = fold(&es);
    assert_eq!((s.unbilled, s.balance()), (yuan("5"), yuan("5")));
}

#[test]
fn refunds_pay_back_credit() {
    let es = vec![
        pay("p0", yuan("50"), at(2026, 1, 1, 9)),
        entry("r1", at(2026, 1, 2, 9), EntryKind::Refund { amount: yuan("30") }),
    ];
    let s = fold(&es);
    assert_eq!(s.credit(), yuan("20"));
    let limits = AmountLimits::default();
    assert!(check_refund(&s, yuan("20"), &limits).is_ok());
    let e = check_refund(&s, yuan("20.01"), &limits).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("amount", "exceeds_credit"));
}

#[test]
fn a_reversal_restores_the_balances_before_the_payment() {
    let mut es = two_bills();
    let before = fold(&es);
    es.push(pay("p1", yuan("150"), at(2026, 3, 5, 10)));
    assert_eq!(fold(&es).balance(), yuan("56.70"));
    es.push(reversal("r1", "p1", at(2026, 3, 5, 11)));
    let after = fold(&es);
    assert_eq!(after.bills, before.bills);
    assert_eq!((after.balance(), after.credit()), (before.balance(), before.credit()));
    assert_eq!(after.reversed, vec![(EntryId("p1".into()), EntryId("r1".into()))]);
    // A second reversal of the same entry, or a reversal of the reversal, does nothing.
    es.push(reversal("r2", "p1", at(2026, 3, 5, 12)));
    es.push(reversal("r3", "r1", at(2026, 3, 5, 13)));
    let again = fold(&es);
    assert_eq!(again.bills, before.bills);
    assert_eq!(again.ignored, vec![EntryId("r2".into()), EntryId("r3".into())]);
    // As of before the reversal, the payment counted.
    assert_eq!(fold_until(&es, at(2026, 3, 5, 10)).balance(), yuan("56.70"));
}

#[test]
fn orphan_entries_are_listed_not_applied() {
    let mut es = two_bills();
    es.push(entry(
        "f9",
        at(2026, 3, 2, 1),
        EntryKind::LateFee { bill: BillId("NOPE".into()), amount: yuan("1") },
    ));
    es.push(charge("c1b", "B1", period(2026, 1), date(2026, 2, 15), yuan("1"), at(2026, 3, 3, 1)));
    let s = fold(&es);
    assert_eq!(s.ignored, vec![EntryId("f9".into()), EntryId("c1b".into())]);
    assert_eq!(s.owed(), yuan("206.70"));
}

#[test]
fn the_late_fee_of_a_bill_runs_on_its_unpaid_charge() {
    // Residential, 1000.00 due 10 Jan 2026; 600.00 paid 20 Jan; counted on 30 Jan:
    // 11–20 Jan on 1000.00 = 10.00, 21–30 Jan on 400.00 = 4.00 (late_fee's own hand-worked case).
    let es = vec![
        charge("c1", "B1", period(2025, 12), date(2026, 1, 10), yuan("1000"), at(2026, 1, 1, 2)),
        pay("p1", yuan("600"), at(2026, 1, 20, 15)),
    ];
    let s = fold(&es);
    let q =
        bill(&s, "B1").late_fee_quote(LateFeeRules::builtin(), LateFeeClass::Residential, date(2026, 1, 30));
    assert_eq!((q.days, q.fee), (20, yuan("14")));
    // A payment at 23:30 Beijing time counts on that Beijing date, not the UTC one.
    let p = bill(&s, "B1").late_fee_payments();
    assert_eq!(p[0].date, date(2026, 1, 20));
}

#[test]
fn amounts_are_validated_with_the_field_named() {
    let l = AmountLimits::default();
    assert_eq!(parse_amount("amount", "120.5", &l).unwrap(), yuan("120.50"));
    assert_eq!(parse_amount("amount", " 0.01 ", &l).unwrap(), Fen(1));
    let code = |t: &str| parse_amount("amount", t, &l).unwrap_err().code;
    assert_eq!(code("-5"), "negative");
    assert_eq!(code("-0"), "negative");
    assert_eq!(code("0"), "zero");
    assert_eq!(code("0.00"), "zero");
    assert_eq!(code("1.234"), "invalid");
    assert_eq!(code("abc"), "invalid");
    assert_eq!(code("1e5"), "invalid");
    assert_eq!(code("+5"), "invalid");
    assert_eq!(code("1,000"), "invalid");
    assert_eq!(code(""), "required");
    assert_eq!(code("100000000.01"), "too_large");
    assert_eq!(code("99999999999999999999999"), "invalid");
    assert!(parse_amount("amount", "100000000.00", &l).is_ok());
    let e = parse_amount("paid", "1.234", &l).unwrap_err();
    assert_eq!(e.field, "paid");
    assert!(e.message.zh.contains("两位小数"), "{}", e.message.zh);
    assert!(parse_amount("amount", "-5", &l).unwrap_err().message.en.contains("negative"));
}

#[test]
fn checking_entries_before_posting() {
    let l = AmountLimits::default();
    assert!(check_entry(&pay("p1", yuan("1"), at(2026, 1, 1, 1)), &l).is_ok());
    let mut bad = pay("p1", Fen(-1), at(2026, 1, 1, 1));
    bad.reason = " ".into();
    let errs = check_entry(&bad, &l).unwrap_err();
    assert_eq!(
        errs.iter().map(|e| (e.field.as_str(), e.code)).collect::<Vec<_>>(),
        [("reason", "required"), ("amount", "negative")]
    );
    let adj = entry("a", at(2026, 1, 1, 1), EntryKind::Adjustment { bill: None, amount: -yuan("5") });
    assert!(check_entry(&adj, &l).is_ok());
    let adj0 = entry("a", at(2026, 1, 1, 1), EntryKind::Adjustment { bill: None, amount: Fen::ZERO });
    assert_eq!(check_entry(&adj0, &l).unwrap_err()[0].code, "zero");
}

fn acct(s: &str) -> crate::register::AccountNo {
    crate::register::AccountNo::parse("account_no", s).unwrap()
}

#[test]
fn idempotency_new_duplicate_and_conflict() {
    let key = IdempotencyKey::parse("key", "8f14e45f-ceea-467f").unwrap();
    let prior = PriorPayment {
        key: key.clone(),
        entry: EntryId("p1".into()),
        account: acct("1001"),
        amount: yuan("50"),
    };
    let req = PaymentRequest { key: key.clone(), account: acct("1001"), amount: yuan("50") };
    assert_eq!(classify_submission([], &req).unwrap(), Submission::New);
    assert_eq!(
        classify_submission([&prior], &req).unwrap(),
        Submission::Duplicate { entry: EntryId("p1".into()) }
    );
    let other_key = PaymentRequest { key: IdempotencyKey::parse("key", "x").unwrap(), ..req.clone() };
    assert_eq!(classify_submission([&prior], &other_key).unwrap(), Submission::New);
    let e =
        classify_submission([&prior], &PaymentRequest { amount: yuan("50.01"), ..req.clone() }).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("amount", "conflict"));
    assert!(e.message.zh.contains("50.00") && e.message.zh.contains("50.01"));
    let e = classify_submission([&prior], &PaymentRequest { account: acct("1002"), ..req }).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("account_no", "conflict"));
    assert_eq!(IdempotencyKey::parse("key", "has space").unwrap_err().field, "key");
    assert_eq!(IdempotencyKey::parse("key", "").unwrap_err().code, "required");
    assert!(IdempotencyKey::parse("key", &"k".repeat(101)).is_err());
}

#[test]
fn a_reversal_needs_a_reason_and_a_second_person() {
    let es = vec![pay("p1", yuan("50"), at(2026, 1, 1, 9))];
    let ok = ReversalRequest {
        of: EntryId("p1".into()),
        reason: "收款金额录入错误".into(),
        requested_by: "clerk1".into(),
        approved_by: Some("chief".into()),
    };
    assert!(check_reversal(&es, &ok).is_ok());
    let fields = |r: &ReversalRequest, es: &[Entry]| {
        check_reversal(es, r).unwrap_err().into_iter().map(|e| (e.field, e.code)).collect::<Vec<_>>()
    };
    let f = |s: &str, c: &'static str| (s.to_string(), c);
    assert_eq!(
        fields(&ReversalRequest { reason: "  ".into(), approved_by: None, ..ok.clone() }, &es),
        [f("reason", "required"), f("approved_by", "required")]
    );
    assert_eq!(
        fields(&ReversalRequest { approved_by: Some(" clerk1 ".into()), ..ok.clone() }, &es),
        [f("approved_by", "same_person")]
    );
    assert_eq!(
        fields(&ReversalRequest { of: EntryId("zz".into()), ..ok.clone() }, &es),
        [f("of", "unknown")]
    );
    let mut es2 = es.clone();
    es2.push(ok.clone().into_entry(EntryId("r1".into()), at(2026, 1, 1, 10), Channel::Counter));
    assert_eq!(fields(&ok, &es2), [f("of", "duplicate")]);
    assert_eq!(
        fields(&ReversalRequest { of: EntryId("r1".into()), ..ok.clone() }, &es2),
        [f("of", "invalid")]
    );
    assert_eq!(fold(&es2).balance(), Fen::ZERO);
}

const BANK_FILE: &str = "\u{feff}account_no,amount,paid_at,bank_ref,mode,note\r
1001,86.70,2026-03-05 10:15:00,T0001,代扣,\r
1002,-5,2026-03-05,T0002,withhold,\"负数, 错误\"\r
\r
1003,12.345,2026-13-05,T 3,refund,\r
1004,20,2026-03-05,T0001,collect,\r
1001,86.70,2026-03-05 10:15:00,T0001,代扣,\r
1005,10\r
";

#[test]
fn bank_file_every_line_gives_a_payment_or_its_errors() {
    let lines = parse_batch("ICBC", BANK_FILE, &AmountLimits::default()).unwrap();
    assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), [2, 3, 4, 5, 6, 7, 8]);
    let p = lines[0].result.as_ref().unwrap();
    assert_eq!((p.account.as_str(), p.amount, p.channel), ("1001", yuan("86.70"), Channel::BankWithhold));
    assert_eq!(p.paid_at, at(2026, 3, 5, 10) + jiff::SignedDuration::from_mins(15));
    assert_eq!(p.key.as_str(), "bank:ICBC:T0001");
    let errs = |i: usize| {
        lines[i].result.as_ref().unwrap_err().iter().map(|e| (e.field.as_str(), e.code)).collect::<Vec<_>>()
    };
    assert_eq!(errs(1), [("amount", "negative")]);
    assert_eq!(errs(2), [("line", "empty")]);
    assert_eq!(
        errs(3),
        [("amount", "invalid"), ("paid_at", "invalid"), ("bank_ref", "invalid"), ("mode", "invalid")]
    );
    assert_eq!(errs(4), [("bank_ref", "conflict")]);
    assert_eq!(errs(5), [("bank_ref", "duplicate")]);
    assert!(lines[5].result.as_ref().unwrap_err()[0].message.en.contains("line 2"));
    assert_eq!(errs(6), [("line", "columns")]);
}

#[test]
fn bank_file_headers_in_chinese_any_order_and_bad_headers() {
    let text = "金额,户号,银行流水号,业务类型,交易时间\n5.00,2001,R1,代收,2026-03-01\n";
    let lines = parse_batch("ABC", text, &AmountLimits::default()).unwrap();
    let p = lines[0].result.as_ref().unwrap();
    assert_eq!((p.account.as_str(), p.amount, p.channel), ("2001", yuan("5"), Channel::BankCollect));
    let e = parse_batch("ABC", "account_no,amount,paid_at,bank_ref\n", &AmountLimits::default()).unwrap_err();
    assert_eq!((e.line, e.error.field.as_str(), e.error.code), (1, "header", "required"));
    let e = parse_batch("ABC", "account_no,amount,amount,paid_at,bank_ref,mode\n", &AmountLimits::default())
        .unwrap_err();
    assert_eq!(e.error.code, "duplicate");
    let e =
        parse_batch("ABC", "account_no,money,paid_at,bank_ref,mode\n", &AmountLimits::default()).unwrap_err();
    assert_eq!(e.error.code, "unknown");
    assert!(parse_batch("bad bank", "account_no,amount,paid_at,bank_ref,mode\n", &AmountLimits::default())
        .is_err());
    // A header alone is a file with no lines.
    assert!(parse_batch("ABC", "account_no,amount,paid_at,bank_ref,mode\n", &AmountLimits::default())
        .unwrap()
        .is_empty());
}

#[test]
fn bank_result_file() {
    let lines = parse_batch("ICBC", BANK_FILE, &AmountLimits::default()).unwrap();
    let results: Vec<ResultLine> = lines
        .iter()
        .map(|l| match &l.result {
            Ok(p) => ResultLine::accepted(l.line, p, LineStatus::Posted, EntryId("e1".into())),
            Err(errs) => ResultLine::rejected(l, errs),
        })
        .collect();
    let out = format_results(&results, Lang::En);
    let out_lines: Vec<&str> = out.lines().collect();
    assert_eq!(out_lines.len(), 8);
    assert_eq!(out_lines[0], RESULT_HEADER);
    assert_eq!(out_lines[1], "2,1001,86.70,T0001,posted,,posted");
    assert_eq!(
        out_lines[2],
        "3,1002,-5,T0002,rejected,negative,amount: the amount must not be negative: -5.00"
    );
    assert_eq!(out_lines[3], "4,,,,rejected,empty,line: an empty line");
    assert!(out_lines[4].starts_with("5,1003,12.345,T 3,rejected,invalid,amount:"), "{}", out_lines[4]);
    let zh = format_results(&results[..1], Lang::Zh);
    assert_eq!(zh.lines().nth(1), Some("2,1001,86.70,T0001,posted,,已入账"));
    // Quoting round-trips through the splitter.
    let f = bank_file::split_fields(&bank_file::quote_field("a \"b\", c")).unwrap();
    assert_eq!(f, ["a \"b\", c"]);
}

// ---- properties ----

#[derive(Clone, Debug)]
enum Op {
    Charge(i64, i8),
    Pay(i64),
    Fee(usize, i64),
    Adjust(Option<usize>, i64),
    Refund(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..100_000, 1i8..=12).prop_map(|(a, m)| Op::Charge(a, m)),
        (1i64..150_000).prop_map(Op::Pay),
        (0usize..6, 100i64..5_000).prop_map(|(b, a)| Op::Fee(b, a)),
        (proptest::option::of(0usize..6), -50_000i64..50_000).prop_map(|(b, a)| Op::Adjust(b, a)),
        (1i64..50_000).prop_map(Op::Refund),
    ]
}

fn build(ops: &[Op]) -> Vec<Entry> {
    let mut es = Vec::new();
    let mut bills = 0usize;
    for (i, o) in ops.iter().enumerate() {
        let ts = at(2026, 1, 1, 0) + jiff::SignedDuration::from_hours(i as i64);
        let id = format!("e{i}");
        match *o {
            Op::Charge(a, m) => {
                let due = date(2026, m, 15);
                es.push(charge(&id, &format!("B{bills}"), period(2026, m), due, Fen(a), ts));
                bills += 1;
            }
            Op::Pay(a) => es.push(pay(&id, Fen(a), ts)),
            Op::Fee(b, a) if b < bills => {
                es.push(entry(&id, ts, EntryKind::LateFee { bill: BillId(format!("B{b}")), amount: Fen(a) }))
            }
            Op::Fee(..) => {}
            Op::Adjust(b, a) if a != 0 && b.is_none_or(|b| b < bills) => es.push(entry(
                &id,
                ts,
                EntryKind::Adjustment { bill: b.map(|b| BillId(format!("B{b}"))), amount: Fen(a) },
            )),
            Op::Adjust(..) => {}
            Op::Refund(a) => es.push(entry(&id, ts, EntryKind::Refund { amount: Fen(a) })),
        }
    }
    es
}

fn signed_total(es: &[Entry], skip: &[&str]) -> Fen {
    es.iter().filter(|e| !skip.contains(&e.id.0.as_str())).map(|e| e.kind.signed_amount()).sum()
}

proptest! {
    /// The balance is the signed sum of the entries; no open amount and no credit lot is negative
    /// (a bill may only go below zero through a downward adjustment larger than its charge, and
    /// then its payment is released); allocations add up to what each bill shows paid.
    #[test]
    fn balances_add_up(ops in proptest::collection::vec(op(), 0..40)) {
        let es = build(&ops);
        let s = fold(&es);
        prop_assert!(s.ignored.is_empty());
        prop_assert_eq!(s.balance(), signed_total(&es, &[]));
        prop_assert!(s.credit_lots.iter().all(|l| l.amount > Fen::ZERO));
        prop_assert!(s.unbilled >= Fen::ZERO);
        for b in &s.bills {
            prop_assert!(b.late_fee_open() >= Fen::ZERO);
            prop_assert!(b.charge_open() >= Fen::ZERO || b.charged < Fen::ZERO);
            let alloc: Fen = b.allocations.iter().filter(|a| a.target == AllocationTarget::Charge).map(|a| a.amount).sum();
            prop_assert_eq!(alloc, b.paid_charge);
            let fee: Fen = b.allocations.iter().filter(|a| a.target == AllocationTarget::LateFee).map(|a| a.amount).sum();
            prop_assert_eq!(fee, b.paid_late_fee);
            // late_fee_payments is always acceptable to the late-fee module.
            let pays = b.late_fee_payments();
            let total: Fen = pays.iter().map(|p| p.amount).sum();
            prop_assert!(total <= b.charged.max(Fen::ZERO) && pays.iter().all(|p| p.amount > Fen::ZERO));
        }
        // Credit is kept only when nothing is open (it would have been applied).
        if s.credit() > Fen::ZERO {
            prop_assert_eq!(s.owed(), Fen::ZERO);
        }
        // Allocation order: an open charge never sits before a bill that received money later
        // than... simpler: with credit gone, any open bill has no newer bill fully paid from a
        // payment posted after it was open. Checked by hand in the unit tests.
    }

    /// Reversing any entry gives exactly the position as if it had never been posted; reversing
    /// the last one gives exactly the position before it.
    #[test]
    fn a_reversal_restores_the_previous_balances(
        ops in proptest::collection::vec(op(), 1..30),
        pick in 0usize..1000,
    ) {
        let es = build(&ops);
        prop_assume!(!es.is_empty());
        let target = es[pick % es.len()].clone();
        let mut with = es.clone();
        with.push(reversal("rev", &target.id.0, at(2027, 1, 1, 0)));
        let without: Vec<Entry> = es.iter().filter(|e| e.id != target.id).cloned().collect();
        let (a, b) = (fold(&with), fold(&without));
        prop_assert_eq!(&a.bills, &b.bills);
        prop_assert_eq!(&a.credit_lots, &b.credit_lots);
        prop_assert_eq!(a.unbilled, b.unbilled);
        prop_assert_eq!(&a.ignored, &b.ignored);
        let mut skip: Vec<&str> = a.ignored.iter().map(|i| i.0.as_str()).collect();
        skip.push(target.id.0.as_str());
        prop_assert_eq!(a.balance(), signed_total(&es, &skip));
        // The last entry: back to the state before it.
        let last = es.last().unwrap().clone();
        let mut undo = es.clone();
        undo.push(reversal("rev2", &last.id.0, at(2027, 1, 1, 0)));
        let before = fold(&es[..es.len() - 1]);
        let after = fold(&undo);
        prop_assert_eq!(&after.bills, &before.bills);
        prop_assert_eq!(after.balance(), before.balance());
        prop_assert_eq!(after.credit(), before.credit());
    }

    /// The same submission twice posts once: the second is a duplicate naming the first entry.
    #[test]
    fn the_same_payment_twice_is_a_duplicate(amount in 1i64..10_000_000, other in 1i64..10_000_000) {
        let key = IdempotencyKey::parse("key", "k").unwrap();
        let req = PaymentRequest { key: key.clone(), account: acct("1001"), amount: Fen(amount) };
        let prior = PriorPayment { key, entry: EntryId("e".into()), account: acct("1001"), amount: Fen(amount) };
        prop_assert_eq!(classify_submission([&prior], &req).unwrap(), Submission::Duplicate { entry: EntryId("e".into()) });
        let r = classify_submission([&prior], &PaymentRequest { amount: Fen(other), ..req });
        prop_assert_eq!(r.is_err(), other != amount);
    }

    /// Any amount the bureau prints is read back as the same amount.
    #[test]
    fn amounts_round_trip(f in 1i64..=10_000_000_000) {
        prop_assert_eq!(parse_amount("amount", &Fen(f).to_string(), &AmountLimits::default()).unwrap(), Fen(f));
    }

    /// Every line of a bank file gives exactly one result, in order, whatever it holds.
    #[test]
    fn no_bank_line_is_dropped(rows in proptest::collection::vec("[0-9a-zA-Z ,.\"-]{0,40}", 0..30)) {
        let mut text = String::from("account_no,amount,paid_at,bank_ref,mode\n");
        for r in &rows {
            text.push_str(r);
            text.push('\n');
        }
        let lines = parse_batch("ICBC", &text, &AmountLimits::default()).unwrap();
        prop_assert_eq!(lines.len(), rows.len());
        for (i, l) in lines.iter().enumerate() {
            prop_assert_eq!(l.line, i + 2);
        }
    }
}

#[test]
fn a_charge_is_reversed_only_after_its_late_fees() {
    let mut es = two_bills();
    es.push(entry(
        "f1",
        at(2026, 3, 2, 1),
        EntryKind::LateFee { bill: BillId("B1".into()), amount: yuan("1") },
    ));
    let req = |of: &str| ReversalRequest {
        of: EntryId(of.into()),
        reason: "账单错误".into(),
        requested_by: "clerk1".into(),
        approved_by: Some("chief".into()),
    };
    let e = check_reversal(&es, &req("c1")).unwrap_err();
    assert_eq!((e[0].field.as_str(), e[0].code), ("of", "dependent"));
    assert!(check_reversal(&es, &req("c2")).is_ok());
    es.push(req("f1").into_entry(EntryId("r1".into()), at(2026, 3, 3, 1), Channel::Counter));
    assert!(check_reversal(&es, &req("c1")).is_ok());
}

#[test]
fn a_receipt_shows_what_the_payment_settled() {
    let mut es = two_bills();
    es.push(entry(
        "f1",
        at(2026, 3, 2, 1),
        EntryKind::LateFee { bill: BillId("B1".into()), amount: yuan("1") },
    ));
    let p = pay("p1", yuan("250"), at(2026, 3, 5, 10));
    es.push(p.clone());
    let r = receipt(&fold(&es), &p).unwrap();
    assert_eq!(
        r.lines.iter().map(|l| (l.bill.0.as_str(), l.charge, l.late_fee, l.open_after)).collect::<Vec<_>>(),
        [("B1", yuan("86.70"), yuan("1"), Fen::ZERO), ("B2", yuan("120"), Fen::ZERO, Fen::ZERO)]
    );
    assert_eq!((r.to_credit, r.balance_after, r.amount), (yuan("42.30"), -yuan("42.30"), yuan("250")));
    assert!(receipt(&fold(&es), &es[0]).is_none());
    es.push(reversal("r1", "p1", at(2026, 3, 5, 11)));
    assert!(receipt(&fold(&es), &p).is_none());
}

#[test]
fn the_late_fee_to_post_is_charged_once() {
    // Other customer, 1000.00 due 31 Mar 2026, paid 10 Apr: 10 days × 2 ‰ = 20.00.
    let mut es =
        vec![charge("c1", "B1", period(2026, 3), date(2026, 3, 31), yuan("1000"), at(2026, 3, 20, 2))];
    es.push(pay("p1", yuan("1000"), at(2026, 4, 10, 10)));
    let s = fold(&es);
    let fee =
        bill(&s, "B1").late_fee_to_post(LateFeeRules::builtin(), LateFeeClass::Other, date(2026, 4, 10));
    assert_eq!(fee, yuan("20"));
    es.push(entry("f1", at(2026, 4, 10, 10), EntryKind::LateFee { bill: BillId("B1".into()), amount: fee }));
    let s = fold(&es);
    assert_eq!(
        bill(&s, "B1").late_fee_to_post(LateFeeRules::builtin(), LateFeeClass::Other, date(2026, 5, 1)),
        Fen::ZERO
    );
    assert_eq!(s.balance(), yuan("20"));
}

proptest! {
    /// With bills posted in due-date order and only payments, the open bills are exactly the
    /// newest ones: money always went to the oldest open bill first.
    #[test]
    fn oldest_bill_first(events in proptest::collection::vec((proptest::bool::ANY, 1i64..100_000), 0..40)) {
        let mut es = Vec::new();
        let mut n = 0i64;
        for (i, (is_charge, a)) in events.iter().enumerate() {
            let ts = at(2026, 1, 1, 0) + jiff::SignedDuration::from_hours(i as i64);
            if *is_charge {
                let due = date(2026, 1, 1).checked_add(jiff::Span::new().days(n)).unwrap();
                es.push(charge(&format!("e{i}"), &format!("B{n}"), period(2026, 1), due, Fen(*a), ts));
                n += 1;
            } else {
                es.push(pay(&format!("e{i}"), Fen(*a), ts));
            }
        }
        let s = fold(&es);
        let first_open = s.bills.iter().position(BillState::is_open).unwrap_or(s.bills.len());
        for (i, b) in s.bills.iter().enumerate() {
            if i < first_open {
                prop_assert_eq!(b.open(), Fen::ZERO);
            } else if i > first_open {
                prop_assert_eq!(b.paid_charge, Fen::ZERO);
            }
        }
        // Receipts of every payment, taken right after it, add up to its amount.
        for (i, e) in es.iter().enumerate() {
            if let EntryKind::Payment { amount, .. } = e.kind {
                let r = receipt(&fold(&es[..=i]), e).unwrap();
                let lines: Fen = r.lines.iter().map(|l| l.charge + l.late_fee).sum();
                prop_assert_eq!(lines + r.to_credit, amount);
            }
        }
    }
}

// ---- the settled prefix ----

/// Hand-worked: eleven months charged and paid in full, then an open charge. The 22 entries of the
/// settled months are the prefix; a reversal of the first payment, posted now, makes it nothing,
/// and so does a late fee on a settled bill.
#[test]
fn a_year_of_settled_months_is_the_prefix() {
    let mut es = Vec::new();
    for m in 1..=11i8 {
        let (c, p) = (at(2026, m, 2, 0), at(2026, m, 9, 0));
        es.push(charge(
            &format!("c{m}"),
            &format!("B{m}"),
            period(2026, m),
            date(2026, m, 20),
            yuan("80.00"),
            c,
        ));
        es.push(pay(&format!("p{m}"), yuan("80.00"), p));
    }
    es.push(charge("c12", "B12", period(2026, 12), date(2026, 12, 20), yuan("95.50"), at(2026, 12, 2, 0)));
    assert_eq!(settled_prefix(&es), 22);
    // A payment short by a fen in month 5 leaves months 1–4 only.
    let mut short = es.clone();
    short[9] = pay("p5", yuan("79.99"), at(2026, 5, 9, 0));
    assert_eq!(settled_prefix(&short), 8);
    // Overpaid in month 3: credit stays until the next charge takes it, so months 1–2 only...
    // ...unless the credit is used up exactly: 80.01 then 79.99 settles month 4 again.
    let mut over = es.clone();
    over[5] = pay("p3", yuan("80.01"), at(2026, 3, 9, 0));
    over[7] = pay("p4", yuan("79.99"), at(2026, 4, 9, 0));
    assert_eq!(settled_prefix(&over), 22);
    let mut reversed = es.clone();
    reversed.push(reversal("r1", "p1", at(2026, 12, 3, 0)));
    assert_eq!(settled_prefix(&reversed), 0);
    let mut late = es.clone();
    late.push(entry(
        "f7",
        at(2026, 12, 3, 0),
        EntryKind::LateFee { bill: BillId("B7".into()), amount: yuan("1.00") },
    ));
    assert_eq!(settled_prefix(&late), 12, "the prefix stops before bill B7's charge");
    assert_eq!(settled_prefix(&[]), 0);
}

/// Ledgers made of settled months (a charge and a payment of the same amount) mixed with any other
/// entries. Reversals are added at random of any earlier entry.
fn ledger_with_settled_months() -> impl Strategy<Value = Vec<Entry>> {
    let month = prop_oneof![
        (1i64..100_000, 1i8..=12).prop_map(|(a, m)| vec![Op::Charge(a, m), Op::Pay(a)]),
        op().prop_map(|o| vec![o]),
    ];
    (proptest::collection::vec(month, 0..24), proptest::collection::vec(0usize..1000, 0..3)).prop_map(
        |(months, revs)| {
            let ops: Vec<Op> = months.into_iter().flatten().collect();
            let mut es = build(&ops);
            let n = es.len();
            for (j, pick) in revs.into_iter().enumerate() {
                if n > 0 {
                    let of = es[pick % n].id.0.clone();
                    es.push(reversal(&format!("rev{j}"), &of, at(2027, 1, 1, j as i8)));
                }
            }
            es
        },
    )
}

proptest! {
    /// Folding the tail after the settled prefix gives the same open bills, credit, unbilled debit,
    /// balance and arrears as folding the whole ledger, and a payment of any amount on any day gets
    /// the same late fees: the decision of a payment never needs the prefix.
    #[test]
    fn a_settled_prefix_changes_no_decision(
        es in ledger_with_settled_months(),
        amount in 1i64..200_000,
        day in 0i64..500,
        other in proptest::bool::ANY,
    ) {
        let k = settled_prefix(&es);
        let (whole, tail) = (fold(&es), fold(&es[k..]));
        let open = |s: &LedgerState| s.bills.iter().filter(|b| b.open() != Fen::ZERO).cloned().collect::<Vec<_>>();
        prop_assert_eq!(open(&whole), open(&tail));
        prop_assert_eq!(&whole.credit_lots, &tail.credit_lots);
        prop_assert_eq!(whole.unbilled, tail.unbilled);
        prop_assert_eq!(whole.balance(), tail.balance());
        let on = date(2026, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap();
        prop_assert_eq!(whole.arrears_on(on), tail.arrears_on(on));
        let class = if other { LateFeeClass::Other } else { LateFeeClass::Residential };
        let rules = LateFeeRules::builtin();
        prop_assert_eq!(
            late_fees_with_payment(&whole, rules, class, on, Fen(amount)),
            late_fees_with_payment(&tail, rules, class, on, Fen(amount))
        );
    }
}
