//! The schema after every migration keeps no `CHECK (x IN (...))` list of three values or more:
//! SQLite builds an ephemeral table for such a list on every row written (migration 0014 says why
//! and measures it). These tests fail when a new migration brings one back, and prove that the
//! rewritten rules still refuse what they refused.

use bureau_store::Store;
use rusqlite::Connection;

async fn migrated(name: &str) -> (std::path::PathBuf, Connection) {
    let path = std::env::temp_dir().join(format!("bureau-schema-{name}-{}.db", std::process::id()));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    let store = crate::SqlStore::open(&format!("sqlite://{}", path.display())).await.expect("open");
    store.migrate().await.expect("migrate");
    drop(store);
    let conn = Connection::open(&path).expect("reopen");
    (path, conn)
}

fn remove(path: &std::path::Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

#[tokio::test]
async fn no_check_builds_an_ephemeral_table() {
    let (path, conn) = migrated("lists").await;
    let tables: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%CHECK%'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 10, "the tables with CHECK constraints are found: {}", tables.len());
    let list = in_lists(&tables);
    assert!(list.is_empty(), "CHECK constraints with an IN list of three or more values: {list:?}");
    // The statements of the hot paths open no ephemeral table.
    for (table, insert) in [
        ("bills", "INSERT INTO bills (customer_id, period, revision, bureau_id, tariff_id, state, start_on, end_on, meter_id, multiplier, curr_read_on, curr_total_c, estimated, kwh_c, total_fen, funds_fen, paid_fen, created_at) VALUES ('1', '2026-10', 0, 'A', 't', 'issued', 'a', 'b', 'm', 1, 'c', 0, 0, 0, 0, 0, 0, 0)"),
        ("ledger_entries", "INSERT INTO ledger_entries (customer_id, entry_id, posted_at_us, posted_by, channel, reason, kind, amount_fen) VALUES ('1', 'e', 0, 's', 'c', 'r', 'charge', 1)"),
        ("outbox", "INSERT INTO outbox (id, msg_key, channel, recipient, subject, body, status, max_attempts, created_at, due_at) VALUES ('1', 'k', 'sms', 'r', 's', 'b', 'pending', 5, 0, 0)"),
    ] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN {insert}"))
            .unwrap_or_else(|e| panic!("{table}: {e}"))
            .query_map([], |r| r.get::<_, String>(1))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!plan.iter().any(|op| op == "OpenEphemeral"), "{table}: the insert opens an ephemeral table");
    }
    drop(conn);
    remove(&path);
}

/// `(table, constraint)` for every `CHECK (x IN (a, b, c, ...))` with three values or more.
fn in_lists(tables: &[(String, String)]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (table, sql) in tables {
        let mut rest = sql.as_str();
        while let Some(at) = rest.find("CHECK (") {
            let check = &rest[at..];
            let end = check.find("))").map_or(check.len(), |e| e + 2);
            let body = &check[..end];
            if let Some(list) = body.find(" IN (").map(|i| &body[i..]) {
                if list.matches(',').count() >= 2 {
                    found.push((table.clone(), body.to_string()));
                }
            }
            rest = &check[end.min(check.len())..];
            if end == 0 {
                break;
            }
        }
    }
    found
}

#[tokio::test]
async fn the_rewritten_rules_still_refuse_unknown_values() {
    let (path, conn) = migrated("refuse").await;
    let bad = conn.execute(
        "INSERT INTO ledger_entries (customer_id, entry_id, posted_at_us, posted_by, channel, reason, kind, amount_fen)
         VALUES ('1', 'e', 0, 's', 'c', 'r', 'gift', 1)",
        [],
    );
    let msg = bad.expect_err("an unknown kind is refused").to_string();
    assert!(msg.contains("CHECK constraint failed"), "{msg}");
    let outbox = |id: &str, status: &str| {
        conn.execute(
            "INSERT INTO outbox (id, msg_key, channel, recipient, subject, body, status, max_attempts, created_at, due_at)
             VALUES (?1, ?1, 'sms', 'r', 's', 'b', ?2, 5, 0, 0)",
            [id, status],
        )
    };
    for status in ["pending", "sending", "sent", "dead", "cancelled"] {
        outbox(status, status).unwrap_or_else(|e| panic!("{status}: {e}"));
    }
    assert!(outbox("x", "paid").is_err(), "a bill state is not an outbox status");
    assert!(outbox("y", "Pending").is_err(), "the rule is case-sensitive, as the IN list was");
    drop(conn);
    remove(&path);
}

/// The outbox claim finds the rows it marks by their ids. Walking index `outbox_due` for the
/// status instead visits every pending message of every channel (the SMS waiting for a gateway)
/// while holding the only writer: with 90,000 of them, each claim of the grid intake worker held
/// 95598 intake up for 100–150 ms.
#[tokio::test]
async fn the_outbox_claim_finds_its_rows_by_id() {
    let (path, conn) = migrated("claim").await;
    let channels = vec![bureau_store::GRID_INTAKE_CHANNEL.to_string()];
    for claim in [
        bureau_store::Claim { channels: Some(&channels), now: 1, token: "t", lease_until: 2, limit: 500 },
        bureau_store::Claim { channels: None, now: 1, token: "t", lease_until: 2, limit: 500 },
    ] {
        let sql = crate::claim_query(&claim).sql().to_string();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("the claim prepares");
        let params = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // The first step is the update's own search; the due messages are chosen after it.
        assert!(
            plan[0].contains("sqlite_autoindex_outbox_1 (id=?)"),
            "the claim finds the rows it marks by id: {plan:?}"
        );
        if claim.channels.is_some() {
            // A worker of one channel (the grid intake) goes through its channel's due messages only.
            assert!(!plan.iter().any(|step| step.contains("outbox_due")), "{plan:?}");
        }
    }
    drop(conn);
    remove(&path);
}
