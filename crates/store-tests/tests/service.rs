//! Work orders with their deadlines and notifications, written in one transaction, on both
//! databases.

use bureau_store_tests::{service_orders, TestDb};

#[tokio::test]
async fn order_deadlines_and_notifications_are_one_write() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        service_orders(&db.store).await?;
        db.destroy().await?;
    }
    Ok(())
}
