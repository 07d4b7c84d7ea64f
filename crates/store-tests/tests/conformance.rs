//! The conformance suite on both databases.

use bureau_store_tests::{conformance, TestDb};

#[tokio::test]
async fn sqlite_store_conforms() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    conformance(&db.store).await?;
    db.destroy().await
}

#[tokio::test]
async fn postgres_store_conforms() -> anyhow::Result<()> {
    let Some(db) = TestDb::postgres().await? else {
        eprintln!("BUREAU_TEST_PG_URL is not set: skipping the PostgreSQL conformance run");
        return Ok(());
    };
    conformance(&db.store).await?;
    db.destroy().await
}
