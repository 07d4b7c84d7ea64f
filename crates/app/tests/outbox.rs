//! The notification outbox on both databases, delivering to a real HTTP listener on loopback.

mod support;

use bureau_app::outbox::{self, Notification, Outbox, OutboxConfig, WebhookRoute};
use bureau_store::{Claim, OutboxQuery, OutboxStatus};
use bureau_store_tests::TestDb;
use support::listener::Listener;

const T0: i64 = 1_790_000_000;

fn config(url: &str, channel: &str) -> OutboxConfig {
    OutboxConfig {
        webhooks: vec![WebhookRoute { channel: channel.into(), url: url.into() }],
        token: Some("s3cret".into()),
        backoff_secs: 30,
        backoff_max_secs: 3600,
        ..OutboxConfig::default()
    }
}

#[tokio::test]
async fn webhook_receives_the_message_once_and_enqueue_is_idempotent() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        let hook = Listener::start(&[]).await;
        let n = Notification::new("wo:W1:dispatch:crew07", "sms", "13800000007", "抢修派单", "城关镇 停电")
            .with_data(serde_json::json!({"order": "W1"}));
        let first = outbox::enqueue_at(&db.store, n.clone(), T0).await?;
        let again = outbox::enqueue_at(&db.store, n, T0 + 5).await?;
        assert!(first.created && !again.created);
        assert_eq!(first.id, again.id);

        let worker = Outbox::new(db.store.clone(), config(&hook.url, "sms"))?;
        let r = worker.run_once(T0).await?;
        assert_eq!((r.claimed, r.sent), (1, 1), "{r:?}");
        let got = hook.received();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].method.as_str(), got[0].path.as_str()), ("POST", "/hook"));
        assert_eq!(got[0].header("idempotency-key"), Some("wo:W1:dispatch:crew07"));
        assert_eq!(got[0].header("authorization"), Some("Bearer s3cret"));
        assert_eq!(got[0].body["recipient"], "13800000007");
        assert_eq!(got[0].body["subject"], "抢修派单");
        assert_eq!(got[0].body["data"]["order"], "W1");
        assert_eq!(got[0].body["attempt"], 1);

        // Nothing more to send, now or later.
        assert_eq!(worker.run_once(T0 + 10_000).await?.claimed, 0);
        assert_eq!(hook.received().len(), 1);
        let m = db.store.outbox_by_key("wo:W1:dispatch:crew07").await?;
        assert_eq!((m.status, m.attempts), (OutboxStatus::Sent, 1));
        assert!(m.sent_at.is_some());
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn failures_retry_with_exponential_backoff_then_succeed() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        // Two server errors, then success.
        let hook = Listener::start(&[503, 500]).await;
        outbox::enqueue_at(&db.store, Notification::new("k1", "sms", "138", "s", "b"), T0).await?;
        let worker = Outbox::new(db.store.clone(), config(&hook.url, "sms"))?;

        let r = worker.run_once(T0).await?;
        assert_eq!((r.claimed, r.retrying), (1, 1), "{r:?}");
        let m = db.store.outbox_by_key("k1").await?;
        assert_eq!((m.status, m.attempts, m.due_at), (OutboxStatus::Pending, 1, T0 + 30));
        assert!(m.last_error.as_deref().unwrap().contains("503"), "{:?}", m.last_error);

        // Not due yet: nothing happens.
        assert_eq!(worker.run_once(T0 + 29).await?.claimed, 0);
        assert_eq!(hook.received().len(), 1);

        // Second attempt fails too; the pause doubles.
        let r = worker.run_once(T0 + 30).await?;
        assert_eq!(r.retrying, 1);
        let m = db.store.outbox_by_key("k1").await?;
        assert_eq!((m.attempts, m.due_at), (2, T0 + 30 + 60));

        let r = worker.run_once(T0 + 90).await?;
        assert_eq!(r.sent, 1, "{r:?}");
        let got = hook.received();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].body["attempt"], 3);
        assert_eq!(db.store.outbox_by_key("k1").await?.status, OutboxStatus::Sent);
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn refused_or_exhausted_messages_die_and_unreachable_receivers_are_retried() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        // 400: the receiver refuses the message itself; no retry.
        let hook = Listener::start(&[400]).await;
        outbox::enqueue_at(&db.store, Notification::new("bad", "sms", "138", "s", "b"), T0).await?;
        let worker = Outbox::new(db.store.clone(), config(&hook.url, "sms"))?;
        let r = worker.run_once(T0).await?;
        assert_eq!(r.dead, 1, "{r:?}");
        assert_eq!(db.store.outbox_by_key("bad").await?.status, OutboxStatus::Dead);

        // A receiver that is down: a connection error is retried until the attempts run out.
        let closed = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            l.local_addr()?
        };
        let mut n = Notification::new("down", "phone", "138", "s", "b");
        n.max_attempts = Some(2);
        outbox::enqueue_at(&db.store, n, T0).await?;
        let worker = Outbox::new(db.store.clone(), config(&format!("http://{closed}/x"), "phone"))?;
        assert_eq!(worker.run_once(T0).await?.retrying, 1);
        assert_eq!(worker.run_once(T0 + 30).await?.dead, 1);
        let m = db.store.outbox_by_key("down").await?;
        assert_eq!((m.status, m.attempts), (OutboxStatus::Dead, 2));
        assert_eq!(worker.run_once(T0 + 100_000).await?.claimed, 0);
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn channels_without_an_adapter_wait_and_scheduled_messages_wait_for_their_time() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        let hook = Listener::start(&[]).await;
        outbox::enqueue_at(&db.store, Notification::new("a", "wechat", "u1", "s", "b"), T0).await?;
        outbox::enqueue_at(
            &db.store,
            Notification::new("b", "sms", "138", "s", "b").not_before(T0 + 600),
            T0,
        )
        .await?;
        let worker = Outbox::new(db.store.clone(), config(&hook.url, "sms"))?;
        assert_eq!(worker.run_once(T0 + 599).await?.claimed, 0);
        assert_eq!(worker.run_once(T0 + 600).await?.sent, 1);
        assert_eq!(db.store.outbox_by_key("a").await?.status, OutboxStatus::Pending);
        // Cancelling by prefix withdraws pending messages only.
        outbox::enqueue_at(
            &db.store,
            Notification::new("wo:W9:esc:1", "sms", "1", "s", "b").not_before(T0 + 900),
            T0,
        )
        .await?;
        outbox::enqueue_at(
            &db.store,
            Notification::new("wo:W9:esc:2", "sms", "2", "s", "b").not_before(T0 + 1800),
            T0,
        )
        .await?;
        outbox::enqueue_at(
            &db.store,
            Notification::new("wo:W90:esc:1", "sms", "3", "s", "b").not_before(T0 + 900),
            T0,
        )
        .await?;
        assert_eq!(outbox::cancel(&db.store, "wo:W9:esc:").await?, 2);
        assert_eq!(outbox::cancel(&db.store, "b").await?, 0, "already sent");
        let r = worker.run_once(T0 + 5000).await?;
        assert_eq!(r.sent, 1, "only wo:W90 is left");
        let cancelled = outbox::list(
            &db.store,
            &OutboxQuery { status: Some(OutboxStatus::Cancelled), limit: 10, ..OutboxQuery::default() },
        )
        .await?;
        assert_eq!(cancelled.len(), 2);
        // A wildcard webhook takes every channel.
        let all = Outbox::new(db.store.clone(), config(&hook.url, "*"))?;
        assert_eq!(all.run_once(T0 + 5000).await?.sent, 1, "the wechat message");
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn two_workers_never_claim_one_message_and_an_expired_lease_is_taken_over() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        for i in 0..60 {
            outbox::enqueue_at(&db.store, Notification::new(format!("m{i}"), "sms", "1", "s", "b"), T0)
                .await?;
        }
        let (s1, s2) = (db.store.clone(), db.store.clone());
        let claim = |s: bureau_store::DynStore, token: &'static str, lease_until: i64| async move {
            s.claim_outbox(&Claim { channels: None, now: T0, token, lease_until, limit: 40 }).await
        };
        let (a, b) = tokio::join!(claim(s1, "A", T0 + 120), claim(s2, "B", T0 + 1000));
        let (a, b) = (a?, b?);
        assert!(a.len() <= 40 && b.len() <= 40, "a claim takes at most its limit: {} + {}", a.len(), b.len());
        assert_eq!(a.len() + b.len(), 60, "{} + {}", a.len(), b.len());
        let mut ids: Vec<&str> = a.iter().chain(b.iter()).map(|m| m.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 60, "no message in both claims");
        // Worker A dies. Before its lease ends nobody else gets the messages; after, B does.
        assert!(db
            .store
            .claim_outbox(&Claim {
                channels: None,
                now: T0 + 119,
                token: "B2",
                lease_until: T0 + 300,
                limit: 100
            })
            .await?
            .is_empty());
        let taken = db
            .store
            .claim_outbox(&Claim {
                channels: None,
                now: T0 + 120,
                token: "B2",
                lease_until: T0 + 300,
                limit: 100,
            })
            .await?;
        assert_eq!(taken.len(), a.len());
        assert!(taken.iter().all(|m| m.attempts == 2));
        // A's late outcome is refused; B's counts.
        let m = &taken[0];
        assert!(!db.store.mark_outbox_sent(&m.id, "A", T0 + 130).await?);
        assert!(db.store.mark_outbox_sent(&m.id, "B2", T0 + 130).await?);
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_batch_is_marked_sent_in_one_call_only_under_its_claim() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        for i in 1..=3 {
            let n = Notification::new(format!("batch:{i}"), "grid_intake", "grid", "报修转故障", "停电");
            outbox::enqueue_at(&db.store, n, T0).await?;
        }
        // An internal channel is claimed only by name (its own worker).
        let channels = ["grid_intake".to_string()];
        let claim = |token: &'static str, now: i64| Claim {
            channels: Some(&channels),
            now,
            token,
            lease_until: now + 60,
            limit: 100,
        };
        let claimed = db.store.claim_outbox(&claim("A", T0)).await?;
        assert_eq!(claimed.len(), 3);
        let id = |key: &str| claimed.iter().find(|m| m.key == key).map(|m| m.id.clone()).unwrap();
        let two = vec![id("batch:1"), id("batch:2")];
        // Another token marks nothing, an unknown id is ignored.
        assert!(db.store.mark_outbox_sent_many(&two, "B", T0 + 5).await?.is_empty());
        let mut asked = two.clone();
        asked.push("no-such-id".into());
        let mut marked = db.store.mark_outbox_sent_many(&asked, "A", T0 + 5).await?;
        marked.sort();
        let mut want = two.clone();
        want.sort();
        assert_eq!(marked, want);
        // Marked once only.
        assert!(db.store.mark_outbox_sent_many(&two, "A", T0 + 6).await?.is_empty());
        for key in ["batch:1", "batch:2"] {
            let m = db.store.outbox_by_key(key).await?;
            assert_eq!((m.status, m.sent_at), (OutboxStatus::Sent, Some(T0 + 5)), "{key}");
        }
        assert_eq!(db.store.outbox_by_key("batch:3").await?.status, OutboxStatus::Sending);
        // After the lease ran out and C took the third, A's late mark is refused.
        let retaken = db.store.claim_outbox(&claim("C", T0 + 120)).await?;
        assert_eq!(retaken.len(), 1);
        assert!(db.store.mark_outbox_sent_many(&[id("batch:3")], "A", T0 + 121).await?.is_empty());
        assert_eq!(
            db.store.mark_outbox_sent_many(&[id("batch:3")], "C", T0 + 121).await?,
            vec![id("batch:3")]
        );
        db.destroy().await?;
    }
    Ok(())
}

#[tokio::test]
async fn bad_notifications_and_configuration_name_the_field() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    let e = outbox::enqueue(&db.store, Notification::new("", "SMS!", " ", "", "")).await.unwrap_err();
    let bureau_app::AppError::Invalid(errors) = e else { panic!("{e:?}") };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["key", "channel", "recipient", "body"]);
    assert!(errors[1].message.zh.contains("渠道"));

    let e = Outbox::new(db.store.clone(), config("https://sms.example.com/x", "sms")).err().unwrap();
    assert_eq!(e.field, "BUREAU_WEBHOOK_URL_SMS");
    assert!(e.message.en.contains("no TLS"), "{}", e.message.en);
    let e = Outbox::new(db.store.clone(), config("not a url", "*")).err().unwrap();
    assert_eq!(e.field, "BUREAU_WEBHOOK_URL");
    db.destroy().await
}
