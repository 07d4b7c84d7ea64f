//! The register's use cases on both databases: the demo generator, imports and exports.

use bureau_app::access::Actor;
use bureau_app::demo::{self, DemoOptions};
use bureau_app::register::{export, import, ExportKind, ImportKind};
use bureau_store::Scope;
use bureau_store_tests::TestDb;

fn small(customers: u64) -> DemoOptions {
    let mut o = DemoOptions::new(jiff::civil::date(2026, 11, 27));
    o.customers = customers;
    o
}

#[tokio::test]
async fn demo_is_deterministic_resumable_and_shaped_like_the_bureau() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        let s = demo::generate(&db.store, &small(3000)).await?;
        assert_eq!(s.customers, 3000);
        assert_eq!(db.store.count_customers(&Scope::All).await?, 3000);
        assert_eq!(s.staff, 61);
        assert_eq!(s.readings, 3000 * 13);
        assert!(s.residential > 2500 && s.non_residential > 50 && s.agricultural > 10, "{s:?}");
        assert_eq!(s.large, 2, "18 large customers per 35,600, scaled");
        // Twelve months 2025-11..2026-10, readings on the book's reading day.
        let summary = db.store.consumption_summary(&Scope::All, "2025-01-01", "2026-12-31").await?;
        assert_eq!(summary.first().unwrap().month, "2025-11");
        assert_eq!(summary.last().unwrap().month, "2026-10");
        assert_eq!(summary.len(), 12);
        let kwh: rust_decimal::Decimal = summary.iter().map(|m| m.kwh).sum();
        assert_eq!(kwh, rust_decimal::Decimal::from(s.kwh), "the store's sum equals the generator's");

        // Run again: nothing new, every chunk recognised as written.
        let again = demo::generate(&db.store, &small(3000)).await?;
        assert_eq!(again.kwh, s.kwh, "same seed, same county");
        assert!(again.chunks_skipped >= 1);
        assert_eq!(db.store.count_customers(&Scope::All).await?, 3000);

        // Export and re-import: nothing changes.
        let mut csv = Vec::new();
        let rows = export(&db.store, &Actor::system(), ExportKind::Customers, &mut csv).await?;
        assert_eq!(rows, 3000);
        let report = import(&db.store, &Actor::system(), ImportKind::Customers, csv.as_slice()).await?;
        assert_eq!((report.rows, report.written, report.unchanged), (3000, 0, 3000));
        assert!(report.rejected.is_empty());
        db.destroy().await?;
    }
    Ok(())
}

const CUSTOMERS: &str = "\
id,bureau_id,name,address,phone,class,area,supply_point,book_id
2390000001,AP,张三,安平县城关镇建设街1号,13800000001,居民生活,urban,F01-T11,AP-B0001
2390000002,AP,李四,安平县城关镇建设街2号,not-a-phone,居民生活,urban,F01-T11,AP-B0001
2390000003,AP,王五,安平县城关镇建设街3号,,household,urban,F01-T11,AP-B0001
2390000001,AP,张三重复,安平县城关镇建设街1号,,居民生活,urban,F01-T11,AP-B0001
2390000004,NOWHERE,赵六,安平县城关镇建设街4号,,residential,urban,F01-T11,AP-B0001
2390000005,AP,钱七,安平县城关镇建设街5号,,residential,rural,NO-SUCH-T,AP-B0001
2390000006,AP,孙八
2390000007,AP,周九,安平县兴隆乡前进村1组,,agricultural,rural,F01-T12,
";

#[tokio::test]
async fn imports_report_every_bad_row_and_keep_the_good_ones() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        demo::generate(&db.store, &small(300)).await?;
        let report = import(&db.store, &Actor::system(), ImportKind::Customers, CUSTOMERS.as_bytes()).await?;
        assert_eq!(report.rows, 8);
        assert_eq!(report.written, 2, "{report:#?}");
        let bad: Vec<(u64, &str, &str)> =
            report.rejected.iter().map(|r| (r.line, r.field.as_str(), r.code.as_str())).collect();
        assert_eq!(
            bad,
            vec![
                (3, "phone", "invalid"),
                (4, "class", "invalid"),
                (5, "id", "duplicate"),
                (6, "bureau_id", "unknown"),
                (7, "supply_point", "unknown"),
                (8, "row", "invalid"),
            ]
        );
        assert!(report.rejected[2].message.zh.contains("第2行"));
        // The same file again: the good rows are unchanged, the bad ones rejected again.
        let again = import(&db.store, &Actor::system(), ImportKind::Customers, CUSTOMERS.as_bytes()).await?;
        assert_eq!((again.written, again.unchanged, again.rejected.len()), (0, 2, 6));

        // A contract with an unknown tariff names the field and lists the known ones.
        let contracts =
            "customer_id,contract_id,tariff_id,capacity_kva,pf_standard,due_days,effective_from\n\
                         2390000001,HT1,hlj-residential,8,,15,2026-01-01\n\
                         2390000001,HT2,no-such-tariff,8,,15,2026-01-01\n\
                         2399999999,HT1,hlj-residential,8,,15,2026-01-01\n";
        let r = import(&db.store, &Actor::system(), ImportKind::Contracts, contracts.as_bytes()).await?;
        assert_eq!(r.written, 1);
        assert_eq!(r.rejected.len(), 2);
        assert_eq!((r.rejected[0].line, r.rejected[0].field.as_str()), (3, "tariff_id"));
        assert!(r.rejected[0].message.en.contains("hlj-residential"));
        assert_eq!(
            (r.rejected[1].line, r.rejected[1].field.as_str(), r.rejected[1].code.as_str()),
            (4, "customer_id", "unknown")
        );

        // A second active meter is refused: one meter per household.
        let meters = "customer_id,meter_id,multiplier,digits,tou,installed_on,initial_reading\n\
                      2390000001,EX1,1,6,no,2026-01-01,0\n\
                      2390000001,EX2,1,6,no,2026-01-01,0\n";
        let r = import(&db.store, &Actor::system(), ImportKind::Meters, meters.as_bytes()).await?;
        assert_eq!(r.written, 1);
        assert_eq!(r.rejected[0].line, 3);

        // A file without a required column is refused as a whole, naming the column.
        let err = import(&db.store, &Actor::system(), ImportKind::Customers, "id,name\n1,x\n".as_bytes())
            .await
            .unwrap_err();
        match err {
            bureau_app::AppError::Invalid(e) => assert!(e.iter().any(|f| f.field == "bureau_id")),
            other => panic!("{other:?}"),
        }
        db.destroy().await?;
    }
    Ok(())
}
