//! The customer portal's store on every database: portal passwords, one-time login codes (used
//! once, killed after too many wrong guesses, replaced by a new request), the SMS/IVR gateways, the
//! bill reads and the outages of a supply point.
//!
//! Runs after `bill_run` in the suite: customer 2301000001 (bureau A) has the live bill 2026-06 and
//! a ledger; 2301000002 has neither bill nor password; the outage part left outage `O1` on load `T1`
//! (out at 1000, back at 4000) and the closed `O0` on `T2`.

use bureau_domain::money::Fen;
use bureau_store::*;

pub(crate) async fn portal(store: &DynStore) -> anyhow::Result<()> {
    passwords(store).await?;
    login_codes(store).await?;
    gateways(store).await?;
    bills(store).await?;
    outages_at_point(store).await?;
    Ok(())
}

async fn passwords(store: &DynStore) -> anyhow::Result<()> {
    let a = "2301000001";
    assert!(matches!(store.customer_password(a).await, Err(StoreError::NotFound)), "none set yet");
    store.set_customer_password(a, "$argon2id$first", 100, "clerk1").await?;
    assert_eq!(store.customer_password(a).await?, "$argon2id$first");
    // Setting it again replaces it (the customer's own change, or a clerk's reset).
    store.set_customer_password(a, "$argon2id$second", 200, "customer").await?;
    assert_eq!(store.customer_password(a).await?, "$argon2id$second");
    // One customer's password is not another's.
    assert!(matches!(store.customer_password("2301000002").await, Err(StoreError::NotFound)));
    // A password for an account that is not in the register is refused, and nothing is kept.
    assert!(matches!(
        store.set_customer_password("9999999999", "$argon2id$x", 300, "clerk1").await,
        Err(StoreError::Constraint { .. })
    ));
    assert!(matches!(store.customer_password("9999999999").await, Err(StoreError::NotFound)));
    Ok(())
}

async fn login_codes(store: &DynStore) -> anyhow::Result<()> {
    let a = "2301000001";
    let code = |hash: &str, created_at: i64| LoginCode {
        customer_id: a.into(),
        code_hash: hash.into(),
        created_at,
        expires_at: created_at + 300,
    };
    assert_eq!(store.check_login_code(a, "h1", 100, 3).await?, CodeCheck::NoCode, "none sent");

    // A wrong guess is counted; the right code is accepted once and then gone.
    store.put_login_code(&code("h1", 1000)).await?;
    assert_eq!(store.check_login_code(a, "other", 1010, 3).await?, CodeCheck::Wrong);
    assert_eq!(store.check_login_code(a, "h1", 1020, 3).await?, CodeCheck::Accepted);
    assert_eq!(store.check_login_code(a, "h1", 1030, 3).await?, CodeCheck::NoCode, "used up");

    // The code of one customer does not open another's account.
    store.put_login_code(&code("h2", 2000)).await?;
    assert_eq!(store.check_login_code("2301000002", "h2", 2010, 3).await?, CodeCheck::NoCode);

    // At the limit of wrong guesses the code dies, even the right one.
    for _ in 0..3 {
        assert_eq!(store.check_login_code(a, "guess", 2020, 3).await?, CodeCheck::Wrong);
    }
    assert_eq!(store.check_login_code(a, "h2", 2030, 3).await?, CodeCheck::NoCode);

    // A new request replaces the old code and its count of wrong guesses.
    store.put_login_code(&code("h3", 3000)).await?;
    for _ in 0..2 {
        assert_eq!(store.check_login_code(a, "guess", 3010, 3).await?, CodeCheck::Wrong);
    }
    store.put_login_code(&code("h4", 3100)).await?;
    for _ in 0..2 {
        assert_eq!(store.check_login_code(a, "guess", 3110, 3).await?, CodeCheck::Wrong);
    }
    assert_eq!(store.check_login_code(a, "h3", 3120, 3).await?, CodeCheck::Wrong, "the replaced code");
    store.put_login_code(&code("h4", 3100)).await?;
    assert_eq!(store.check_login_code(a, "h4", 3130, 3).await?, CodeCheck::Accepted);

    // A code is good until its expiry instant, not at it.
    store.put_login_code(&code("h5", 4000)).await?;
    assert_eq!(store.check_login_code(a, "h5", 4300, 3).await?, CodeCheck::NoCode, "expired");
    store.put_login_code(&code("h6", 5000)).await?;
    assert_eq!(store.check_login_code(a, "h6", 5299, 3).await?, CodeCheck::Accepted, "one second left");

    // Two processes offering the right code at once: exactly one gets in.
    store.put_login_code(&code("h7", 6000)).await?;
    let (x, y) =
        tokio::join!(store.check_login_code(a, "h7", 6010, 3), store.check_login_code(a, "h7", 6010, 3));
    let mut both = [x?, y?];
    both.sort_by_key(|c| *c != CodeCheck::Accepted);
    assert_eq!(both[0], CodeCheck::Accepted);
    assert_ne!(both[1], CodeCheck::Accepted, "a code is used once");

    // A code for an account that is not in the register is refused.
    let mut ghost = code("h8", 7000);
    ghost.customer_id = "9999999999".into();
    assert!(matches!(store.put_login_code(&ghost).await, Err(StoreError::Constraint { .. })));
    Ok(())
}

async fn gateways(store: &DynStore) -> anyhow::Result<()> {
    let mut g = QueryGateway {
        id: "GW1".into(),
        bureau_id: "A".into(),
        name: "短信平台".into(),
        token_hash: "tok-hash-1".into(),
        created_at: 100,
        created_by: "admin1".into(),
        active: true,
    };
    store.save_gateway(&g).await?;
    assert_eq!(store.gateway_by_token("tok-hash-1").await?, g);
    assert!(matches!(store.gateway_by_token("nope").await, Err(StoreError::NotFound)));

    // Saving again renames it and rotates the token; the old token no longer answers.
    g.name = "IVR".into();
    g.token_hash = "tok-hash-2".into();
    store.save_gateway(&g).await?;
    assert_eq!(store.gateway_by_token("tok-hash-2").await?, g);
    assert!(matches!(store.gateway_by_token("tok-hash-1").await, Err(StoreError::NotFound)));

    // A deactivated gateway is not found by its token.
    g.active = false;
    store.save_gateway(&g).await?;
    assert!(matches!(store.gateway_by_token("tok-hash-2").await, Err(StoreError::NotFound)));

    // Two gateways cannot share a token; one of a bureau that does not exist is refused.
    let other = QueryGateway { id: "GW2".into(), token_hash: "tok-hash-2".into(), ..g.clone() };
    assert!(matches!(store.save_gateway(&other).await, Err(StoreError::Constraint { .. })));
    let nowhere = QueryGateway {
        id: "GW3".into(),
        bureau_id: "nowhere".into(),
        token_hash: "tok-hash-3".into(),
        ..g.clone()
    };
    assert!(matches!(store.save_gateway(&nowhere).await, Err(StoreError::Constraint { .. })));
    Ok(())
}

async fn bills(store: &DynStore) -> anyhow::Result<()> {
    let a = "2301000001";
    let june = store.get_bill(a, "2026-06", None).await?;
    let bare = |b: &StoredBill| StoredBill { lines: Vec::new(), ..b.clone() };

    // A customer without bills: no latest bill, an empty list, and the query answers with a zero
    // balance rather than nothing.
    assert_eq!(store.latest_bill("2301000002").await?, None);
    assert!(store.live_bills("2301000002", 10).await?.is_empty());
    let none = store.bill_query("2301000002").await?;
    assert_eq!(none, BillQuery { latest: None, balance: Fen::ZERO });

    // Two more bills, May and July: the newest live one comes first, without lines.
    let mut may = june.clone();
    may.period = "2026-05".into();
    may.total = Fen(9_900);
    may.created_at = june.created_at - 86_400 * 30;
    let mut july = june.clone();
    july.period = "2026-07".into();
    july.total = Fen(22_200);
    july.created_at = june.created_at + 86_400 * 30;
    let write = std::sync::Arc::new(BillWrite {
        bills: vec![may.clone(), july.clone()],
        exceptions: Vec::new(),
        estimates: Vec::new(),
        charges: Vec::new(),
    });
    assert_eq!(store.write_bills(write).await?.bills, 2);
    assert_eq!(store.latest_bill(a).await?, Some(bare(&july)));
    let periods = |v: Vec<StoredBill>| v.into_iter().map(|b| b.period).collect::<Vec<_>>();
    assert_eq!(periods(store.live_bills(a, 10).await?), ["2026-07", "2026-06", "2026-05"]);
    assert_eq!(periods(store.live_bills(a, 2).await?), ["2026-07", "2026-06"], "the limit holds");
    assert!(store.live_bills(a, 10).await?.iter().all(|b| b.lines.is_empty()), "lists carry no lines");

    // The bill query is the latest bill beside the ledger's own balance.
    let balance = store.ledger_balances_of(&[a.to_string()]).await?.remove(0).balance;
    assert_eq!(store.bill_query(a).await?, BillQuery { latest: Some(bare(&july)), balance });

    // A cancelled bill is no longer the latest, nor listed.
    store.cancel_bill(a, "2026-07", 0, "读数错误", july.created_at + 60, None, None).await?;
    assert_eq!(store.latest_bill(a).await?, Some(bare(&june)));
    assert_eq!(periods(store.live_bills(a, 10).await?), ["2026-06", "2026-05"]);
    assert_eq!(store.bill_query(a).await?.latest, Some(bare(&june)));
    // Another customer's bills never show.
    assert_eq!(store.latest_bill("2302000001").await?, None);
    Ok(())
}

async fn outages_at_point(store: &DynStore) -> anyhow::Result<()> {
    let ids = |v: Vec<Outage>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    // O1 cut T1 off from 1000 to 4000: seen from any instant up to its restoration.
    assert_eq!(ids(store.outages_at_point("T1", 0, 10).await?), ["O1"]);
    assert_eq!(ids(store.outages_at_point("T1", 4000, 10).await?), ["O1"]);
    assert!(store.outages_at_point("T1", 4001, 10).await?.is_empty(), "over before `since`");
    assert_eq!(ids(store.outages_at_point("T2", 0, 10).await?), ["O0"]);
    assert!(store.outages_at_point("NOPE", 0, 10).await?.is_empty());

    // An outage still out is shown whatever `since`; newest first; a merged one never.
    let o1 = store.get_outage(&Scope::All, "O1").await?;
    let log = |id: &str, state: &str, at: i64| OutageLogEntry {
        outage_id: id.into(),
        seq: 0,
        at,
        by_staff: "system".into(),
        state: state.into(),
        note: String::new(),
    };
    let point = |id: &str, out_at: i64| OutagePoint {
        outage_id: id.into(),
        load_id: "T1".into(),
        customers: 120,
        out_at,
        restored_at: None,
    };
    let o5 = Outage {
        id: "O5".into(),
        state: "confirmed".into(),
        started_at: 8000,
        restored_at: None,
        ..o1.clone()
    };
    store.save_outage(&o5, &[point("O5", 8000)], &log("O5", "confirmed", 8000)).await?;
    let o6 =
        Outage { id: "O6".into(), state: "merged".into(), started_at: 8100, restored_at: None, ..o1.clone() };
    store.save_outage(&o6, &[point("O6", 8100)], &log("O6", "merged", 8100)).await?;
    assert_eq!(ids(store.outages_at_point("T1", 0, 10).await?), ["O5", "O1"]);
    assert_eq!(ids(store.outages_at_point("T1", 99_999, 10).await?), ["O5"]);
    assert_eq!(ids(store.outages_at_point("T1", 0, 1).await?), ["O5"], "the limit holds");
    assert_eq!(store.outages_at_point("T1", 0, 10).await?[0], o5);
    Ok(())
}
