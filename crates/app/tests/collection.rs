//! Fee-collection reports on both databases, over five hand-made customers and three months whose
//! figures are worked out by hand below.
//!
//! Bureau B1 with two offices: O1 (reader r1, book K1) and O2 (reader r2, book K2). Bills of a
//! month are posted on its last day and due 15 days later (Jan → 02-15, Feb → 03-15, Mar → 04-15).
//!
//! | customer | book | Jan | Feb | Mar | payments |
//! |---|---|---|---|---|---|
//! | C1 residential | K1 | 100 | 100 | 100 | 100 on 02-10, 03-10, 04-10 |
//! | C2 residential | K1 | 200 | 200 | 200 | 200 on 02-10 |
//! | C3 commercial  | K2 | 1000 | 1000 | 1000 | 1500 on 03-20 (Jan, half of Feb) |
//! | C4 residential | K2 | 150 | 150 | 150 | 500 prepaid on 01-05 (covers all; 50 credit left) |
//! | C5 residential | —  | 50 | — | — | none |

use bureau_app::access::Actor;
use bureau_app::collection::{self, GroupBy};
use bureau_domain::calendar::beijing;
use bureau_domain::ledger::{BillId, Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_domain::org::{OrgLevel, Role};
use bureau_domain::register::{CustomerDraft, ReadingBook};
use bureau_domain::tariff::BillPeriod;
use bureau_store::{DynStore, OrgUnit, Posted, Staff};
use bureau_store_tests::TestDb;
use jiff::civil::{date, Date};

fn unit(id: &str, parent: Option<&str>, level: OrgLevel, name: &str) -> OrgUnit {
    OrgUnit {
        id: id.into(),
        parent_id: parent.map(String::from),
        level,
        name_zh: name.into(),
        name_en: name.into(),
    }
}

fn reader(id: &str, unit: &str) -> Staff {
    Staff {
        id: id.into(),
        name: id.into(),
        org_unit_id: unit.into(),
        bureau_id: "B1".into(),
        scope_unit_id: "B1".into(),
        roles: vec![Role::CounterClerk],
        phone: None,
        password_hash: String::new(),
        active: true,
    }
}

fn entry(id: &str, day: Date, kind: EntryKind) -> Entry {
    Entry {
        id: EntryId(id.into()),
        at: beijing::instant(day.at(12, 0, 0, 0)).unwrap(),
        by: "t".into(),
        channel: Channel::Counter,
        reason: "t".into(),
        kind,
    }
}

fn charge(month: i8, yuan: i64) -> Entry {
    let period = BillPeriod::new("p", 2026, month).unwrap();
    let last = period.last_day();
    let due = last.checked_add(jiff::Span::new().days(15)).unwrap();
    let kind = EntryKind::Charge { bill: BillId(period.to_string()), period, due, amount: Fen(yuan * 100) };
    Entry { at: beijing::start_of(last).unwrap(), ..entry(&format!("charge-{period}"), last, kind) }
}

fn pay(key: &str, day: Date, yuan: i64) -> Entry {
    entry(
        key,
        day,
        EntryKind::Payment { amount: Fen(yuan * 100), key: IdempotencyKey::parse("k", key).unwrap() },
    )
}

async fn county(store: &DynStore) -> anyhow::Result<()> {
    store
        .upsert_org_units(&[
            unit("B1", None, OrgLevel::County, "安平县供电局"),
            unit("O1", Some("B1"), OrgLevel::Office, "城关营业所"),
            unit("O2", Some("B1"), OrgLevel::Office, "乡镇供电所"),
        ])
        .await?;
    store.upsert_staff(&[reader("r1", "O1"), reader("r2", "O2")]).await?;
    let book = |id: &str, r: &str| ReadingBook {
        id: id.into(),
        bureau_id: "B1".into(),
        name: format!("抄表段{id}"),
        reading_day: 5,
        reader_id: Some(r.into()),
    };
    store.upsert_books(&[book("K1", "r1"), book("K2", "r2")]).await?;
    let customer = |id: &str, class: &str, book: &str| {
        CustomerDraft {
            id: id.into(),
            bureau_id: "B1".into(),
            name: format!("客户{id}"),
            address: "城关镇".into(),
            phone: "13800000000".into(),
            class: class.into(),
            area: "urban".into(),
            supply_point: String::new(),
            book_id: book.into(),
        }
        .validate()
        .unwrap()
    };
    store
        .upsert_customers(&[
            customer("C0001", "residential", "K1"),
            customer("C0002", "residential", "K1"),
            customer("C0003", "industrial_commercial", "K2"),
            customer("C0004", "residential", "K2"),
            customer("C0005", "residential", ""),
        ])
        .await?;
    let ledgers = [
        (
            "C0001",
            vec![
                charge(1, 100),
                pay("c1-1", date(2026, 2, 10), 100),
                charge(2, 100),
                pay("c1-2", date(2026, 3, 10), 100),
                charge(3, 100),
                pay("c1-3", date(2026, 4, 10), 100),
            ],
        ),
        ("C0002", vec![charge(1, 200), pay("c2-1", date(2026, 2, 10), 200), charge(2, 200), charge(3, 200)]),
        (
            "C0003",
            vec![charge(1, 1000), charge(2, 1000), pay("c3-1", date(2026, 3, 20), 1500), charge(3, 1000)],
        ),
        ("C0004", vec![pay("c4-0", date(2026, 1, 5), 500), charge(1, 150), charge(2, 150), charge(3, 150)]),
        ("C0005", vec![charge(1, 50)]),
    ];
    for (id, entries) in ledgers {
        let posted = store.post_entries(id, 0, &entries).await?;
        assert!(matches!(posted, Posted::Done { .. }), "{posted:?}");
    }
    Ok(())
}

fn p(m: i8) -> BillPeriod {
    BillPeriod::new("p", 2026, m).unwrap()
}

fn yuan(s: &str) -> Fen {
    let (y, f) = s.split_once('.').unwrap();
    Fen(y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_rates_aging_and_arrears_by_hand() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        county(&db.store).await?;
        let actor = Actor::system();
        let cut = collection::default_cut_off(p(3));

        // By month, as the books stood at the end of March.
        let r = collection::collection_rates(&db.store, &actor, p(1), p(3), GroupBy::Month, cut).await?;
        let got: Vec<_> = r
            .rows
            .iter()
            .map(|r| {
                let c = r.cumulative.as_ref().unwrap();
                (r.key.as_str(), r.billed, r.collected, r.percent.clone(), c.percent.clone())
            })
            .collect();
        let pc = |s: &str| Some(s.to_string());
        assert_eq!(
            got,
            vec![
                // Jan: 100+200+1000+150+50 billed; all but C5's 50 collected: 1450/1500.
                ("2026-01", yuan("1500.00"), yuan("1450.00"), pc("96.67"), pc("96.67")),
                // Feb: 1450 billed; C1 100, C3 500, C4 150: 750/1450; cumulative 2200/2950.
                ("2026-02", yuan("1450.00"), yuan("750.00"), pc("51.72"), pc("74.58")),
                // Mar: only C4's prepayment reached March by the 31st: 150/1450; cum. 2350/4400.
                ("2026-03", yuan("1450.00"), yuan("150.00"), pc("10.34"), pc("53.41")),
            ]
        );
        assert_eq!((r.total.billed, r.total.collected), (yuan("4400.00"), yuan("2350.00")));

        // By department (the book reader's office) and by book: O1/K1 = C1 + C2, O2/K2 = C3 + C4,
        // C5 without a book unassigned.
        let d = collection::collection_rates(&db.store, &actor, p(1), p(3), GroupBy::Department, cut).await?;
        let got: Vec<_> =
            d.rows.iter().map(|r| (r.key.as_str(), r.billed, r.collected, r.percent.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("", yuan("50.00"), yuan("0.00"), pc("0.00")),
                ("O1", yuan("900.00"), yuan("400.00"), pc("44.44")),
                ("O2", yuan("3450.00"), yuan("1950.00"), pc("56.52")),
            ]
        );
        assert_eq!(d.rows[1].name, "城关营业所");
        let b = collection::collection_rates(&db.store, &actor, p(1), p(3), GroupBy::Book, cut).await?;
        let got: Vec<_> = b.rows.iter().map(|r| (r.key.as_str(), r.collected)).collect();
        assert_eq!(got, vec![("", yuan("0.00")), ("K1", yuan("400.00")), ("K2", yuan("1950.00"))]);

        // A month later the March figure has moved (C1 paid on 04-10), February's closed one has not
        // when asked at its own cut-off.
        let april = collection::end_of_day(date(2026, 4, 30));
        let later =
            collection::collection_rates(&db.store, &actor, p(3), p(3), GroupBy::Month, april).await?;
        assert_eq!(later.rows[0].collected, yuan("250.00"));
        let feb = collection::collection_rates(
            &db.store,
            &actor,
            p(2),
            p(2),
            GroupBy::Month,
            collection::default_cut_off(p(2)),
        )
        .await?;
        // At the end of February nothing of February's bills was paid but C4's prepayment.
        assert_eq!((feb.rows[0].billed, feb.rows[0].collected), (yuan("1450.00"), yuan("150.00")));

        // Aged receivables at the end of 30 April: C2 Feb 200 (46 days), C3 Feb 500 (46 days) and
        // C5 Jan 50 (74 days) are 31–90 days; C2 Mar 200 and C3 Mar 1000 (15 days) are 1–30 days.
        let a = collection::aged_receivables(&db.store, &actor, date(2026, 4, 30)).await?;
        let got: Vec<_> = a.buckets.iter().map(|b| (b.label_en.as_str(), b.bills, b.amount)).collect();
        assert_eq!(
            got,
            vec![
                ("not yet due", 0, Fen::ZERO),
                ("1–30 days", 2, yuan("1200.00")),
                ("31–90 days", 3, yuan("750.00")),
                ("91–180 days", 0, Fen::ZERO),
                ("181–365 days", 0, Fen::ZERO),
                ("over 365 days", 0, Fen::ZERO),
            ]
        );
        assert_eq!((a.total, a.credit, a.late_fees), (yuan("1950.00"), yuan("50.00"), Fen::ZERO));

        // Customers in arrears on 30 April, largest first.
        let list = collection::customers_in_arrears(&db.store, &actor, date(2026, 4, 30)).await?;
        let got: Vec<_> = list
            .iter()
            .map(|r| {
                (r.customer_id.as_str(), r.arrears, r.oldest_due.to_string(), r.days_overdue, r.overdue_bills)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("C0003", yuan("1500.00"), "2026-03-15".into(), 46, 2),
                ("C0002", yuan("400.00"), "2026-03-15".into(), 46, 2),
                ("C0005", yuan("50.00"), "2026-02-15".into(), 74, 1),
            ]
        );
        assert_eq!(list[0].department, "O2");

        // CSV exports carry the same figures.
        let mut out = Vec::new();
        collection::rates_csv(&r, &mut out)?;
        let text = String::from_utf8(out)?;
        assert!(text.contains("\n2026-02,,4,1450.00,750.00,700.00,51.72,2950.00,2200.00,74.58\n"), "{text}");
        assert!(text.ends_with("total,,13,4400.00,2350.00,2050.00,53.41,,,\n"), "{text}");
        let mut out = Vec::new();
        collection::arrears_csv(&list, &mut out)?;
        assert!(String::from_utf8(out)?.contains(
            "C0003,客户C0003,城关镇,13800000000,industrial_commercial,K2,O2,1500.00,2026-03-15,46,2"
        ));

        // A clerk of the bureau sees the report; a repair crew member does not.
        let mut crew = actor.clone();
        crew.roles = vec![Role::RepairCrew];
        let denied = collection::aged_receivables(&db.store, &crew, date(2026, 4, 30)).await;
        assert!(matches!(denied, Err(bureau_app::AppError::Forbidden)));
        db.destroy().await?;
    }
    Ok(())
}
