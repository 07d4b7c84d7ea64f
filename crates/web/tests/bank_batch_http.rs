//! Bank batch files (代扣/代收) over HTTP against the real server on port 0, on SQLite and
//! PostgreSQL: a file with good lines, a malformed line and an unknown account (the bad lines
//! rejected with field and reason, their accounts untouched, the good ones posted); the same file
//! again (all duplicates, nothing moves); four uploads of one file at once (each line posted once);
//! a bad header; roles; the record of batches; the upload page.

mod support;

use serde_json::Value;
use support::app::TestApp;

const A: &str = "2300000101";
const B: &str = "2300000102";
const C: &str = "2300000103";

async fn account(app: &TestApp, token: &str, id: &str) -> anyhow::Result<Value> {
    let r = app.get(&format!("/api/v1/accounts/{id}"), token).await?;
    anyhow::ensure!(r.status() == 200, "account {id}: {}", r.status());
    Ok(r.json().await?)
}

/// What must not move: balance, credit, arrears, version and the number of entries.
fn money(a: &Value) -> (Value, Value, Value, Value, usize) {
    (
        a["balance"].clone(),
        a["credit"].clone(),
        a["arrears"].clone(),
        a["version"].clone(),
        a["entries"].as_array().unwrap().len(),
    )
}

/// The payment entries of an account: (reason, amount).
fn payments(a: &Value) -> Vec<(String, String)> {
    a["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "payment")
        .map(|e| (e["reason"].as_str().unwrap().to_string(), e["amount"].as_str().unwrap().to_string()))
        .collect()
}

async fn post_file(
    app: &TestApp,
    token: &str,
    bank: &str,
    body: &str,
    json: bool,
) -> anyhow::Result<reqwest::Response> {
    let mut req = app
        .client
        .post(app.url(&format!("/api/v1/payments/bank-batch?bank={bank}&file_name=t.csv")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body.to_string());
    if json {
        req = req.header("accept", "application/json");
    }
    Ok(req.send().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_batch_files_over_http() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let backend = app.db.store.backend();
        let clerk = app.login("clerk").await?;
        let (a0, b0, c0) = (
            account(&app, &clerk, A).await?,
            account(&app, &clerk, B).await?,
            account(&app, &clerk, C).await?,
        );

        // Good lines, a negative amount, an unknown account, a line with a missing column.
        let file = format!(
            "\u{feff}account_no,amount,paid_at,bank_ref,mode\r\n\
             {A},50.00,2026-11-26 10:00:00,R0001,withhold\r\n\
             {B},-5.00,2026-11-26,R0002,collect\r\n\
             2399999999,10.00,2026-11-26,R0003,代扣\r\n\
             {C},12.34,2026-11-26,R0004,代收\r\n\
             {B},1.00,2026-11-26\r\n"
        );
        let r = post_file(&app, &clerk, "ICBC", &file, false).await?;
        assert_eq!(r.status(), 200, "{backend}");
        assert!(r.headers()["content-type"].to_str()?.starts_with("text/csv"));
        assert_eq!(r.headers()["x-bank-batch-posted"], "2");
        assert_eq!(r.headers()["x-bank-batch-rejected"], "3");
        let batch_id = r.headers()["x-bank-batch-id"].to_str()?.to_string();
        let csv = r.text().await?;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "line,account_no,amount,bank_ref,status,code,message", "{csv}");
        assert_eq!(lines.len(), 6, "one result per input line: {csv}");
        assert!(lines[1].starts_with(&format!("2,{A},50.00,R0001,posted,,")), "{csv}");
        assert!(lines[2].starts_with(&format!("3,{B},-5.00,R0002,rejected,negative,")), "{csv}");
        assert!(lines[2].contains("amount"), "the field is named: {csv}");
        assert!(lines[3].starts_with("4,2399999999,10.00,R0003,rejected,unknown,"), "{csv}");
        assert!(lines[3].contains("account_no"), "{csv}");
        assert!(lines[4].starts_with(&format!("5,{C},12.34,R0004,posted,,")), "{csv}");
        assert!(lines[5].starts_with("6,") && lines[5].contains(",rejected,columns,"), "{csv}");

        let (a1, b1, c1) = (
            account(&app, &clerk, A).await?,
            account(&app, &clerk, B).await?,
            account(&app, &clerk, C).await?,
        );
        assert_eq!(money(&b1), money(&b0), "{backend}: the rejected lines' account moved");
        assert_eq!(payments(&a1).len(), payments(&a0).len() + 1);
        assert_eq!(payments(&c1).len(), payments(&c0).len() + 1);
        assert!(payments(&a1).contains(&("银行代扣（ICBC）".to_string(), "50.00".to_string())), "{a1}");
        assert!(payments(&c1).contains(&("银行代收（ICBC）".to_string(), "12.34".to_string())), "{c1}");

        // The same file again: every good line is a duplicate and nothing moves.
        let r = post_file(&app, &clerk, "ICBC", &file, true).await?;
        assert_eq!(r.status(), 200);
        let again: Value = r.json().await?;
        assert_eq!(
            (again["posted"].as_u64(), again["duplicate"].as_u64(), again["rejected"].as_u64()),
            (Some(0), Some(2), Some(3)),
            "{again}"
        );
        assert_eq!(again["results"][0]["status"], "duplicate");
        assert_eq!(again["results"][1]["code"], "negative");
        assert_eq!(money(&account(&app, &clerk, A).await?), money(&a1), "{backend}: a duplicate moved money");
        assert_eq!(money(&account(&app, &clerk, C).await?), money(&c1));
        // Another bank's reference R0001 is another payment; the same reference with another
        // amount is refused as a conflict.
        let other = format!("account_no,amount,paid_at,bank_ref,mode\n{A},50.00,2026-11-26,R0001,withhold\n");
        let r: Value = post_file(&app, &clerk, "ABC", &other, true).await?.json().await?;
        assert_eq!(r["posted"], 1, "{r}");
        let changed =
            format!("account_no,amount,paid_at,bank_ref,mode\n{A},51.00,2026-11-26,R0001,withhold\n");
        let r: Value = post_file(&app, &clerk, "ICBC", &changed, true).await?.json().await?;
        assert_eq!(
            (r["rejected"].as_u64(), r["results"][0]["code"].as_str()),
            (Some(1), Some("conflict")),
            "{r}"
        );

        // Four uploads of one file at once: each line is posted exactly once.
        let a2 = account(&app, &clerk, A).await?;
        let mut body = String::from("account_no,amount,paid_at,bank_ref,mode\n");
        for i in 0..30 {
            let who = [A, B, C][i % 3];
            body.push_str(&format!("{who},1.{i:02},2026-11-27 08:00:{i:02},RACE{i:03},withhold\n"));
        }
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let req = app
                .client
                .post(app.url("/api/v1/payments/bank-batch?bank=CCB"))
                .bearer_auth(&clerk)
                .header("accept", "application/json")
                .body(body.clone());
            tasks.push(tokio::spawn(async move { req.send().await }));
        }
        let (mut posted, mut duplicate) = (0, 0);
        for t in tasks {
            let r = t.await??;
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await?;
            assert_eq!(v["rejected"], 0, "{backend}: {v}");
            posted += v["posted"].as_u64().unwrap();
            duplicate += v["duplicate"].as_u64().unwrap();
        }
        assert_eq!((posted, duplicate), (30, 90), "{backend}");
        let a3 = account(&app, &clerk, A).await?;
        assert_eq!(payments(&a3).len(), payments(&a2).len() + 10, "{backend}");

        // A bad header refuses the whole file; nothing moves.
        let r = post_file(&app, &clerk, "ICBC", "account_no,amount,paid_at,bank_ref\nx\n", true).await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        assert_eq!(e["error"]["field"], "header", "{e}");
        let r = post_file(&app, &clerk, "bad bank", &file, true).await?;
        assert_eq!(r.status(), 422);
        let r = app
            .client
            .post(app.url("/api/v1/payments/bank-batch?bank=ICBC"))
            .bearer_auth(&clerk)
            .body(vec![0xff_u8, 0xfe, 0x00])
            .send()
            .await?;
        assert_eq!(r.status(), 422, "not UTF-8");
        assert_eq!(money(&account(&app, &clerk, A).await?), money(&a3));

        // Roles: a 95598 agent may not post a bank file, nor anyone not logged in.
        let agent = app.login("agent").await?;
        assert_eq!(post_file(&app, &agent, "ICBC", &file, true).await?.status(), 403);
        assert_eq!(
            app.client
                .post(app.url("/api/v1/payments/bank-batch?bank=ICBC"))
                .body(file.clone())
                .send()
                .await?
                .status(),
            401
        );

        // The record of batches, newest first.
        let list: Value = app.get("/api/v1/payments/bank-batches", &clerk).await?.json().await?;
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 8, "{list:?}");
        assert!(list
            .iter()
            .any(|b| b["bank"] == "ICBC" && b["posted"] == 2 && b["posted_amount"] == "62.34"));
        assert!(list.iter().all(|b| b["posted_by"] == "clerk"));
        // The result file again, later, as it was answered; an unknown batch is 404.
        let r = app.get(&format!("/api/v1/payments/bank-batches/{batch_id}/result"), &clerk).await?;
        assert_eq!(r.status(), 200, "{backend}");
        assert!(r.headers()["content-type"].to_str()?.starts_with("text/csv"));
        assert_eq!(r.text().await?, csv, "the stored result file");
        let r = app.get("/api/v1/payments/bank-batches/bank-nope/result", &clerk).await?;
        assert_eq!(r.status(), 404);

        // The page: the form, an upload (multipart) with its summary and the result file link.
        let html = app.get("/counter/bank", &clerk).await?.text().await?;
        assert!(html.contains("id=\"bank-form\"") && html.contains("id=\"bank-history\""), "{html}");
        assert!(
            html.contains(&format!("/counter/bank/{batch_id}/result.csv")),
            "a link to the kept file: {html}"
        );
        let boundary = "----bureau-test-boundary";
        let page_file = format!("account_no,amount,paid_at,bank_ref,mode\n{B},2.00,2026-11-27,PAGE1,collect\n{B},x,2026-11-27,PAGE2,collect\n");
        let multipart = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"bank\"\r\n\r\nBOC\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"boc.csv\"\r\nContent-Type: text/csv\r\n\r\n{page_file}\r\n\
             --{boundary}--\r\n"
        );
        let r = app
            .client
            .post(app.url("/counter/bank"))
            .bearer_auth(&clerk)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(multipart)
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        let html = r.text().await?;
        assert!(html.contains("id=\"posted\">1<") && html.contains("id=\"rejected\">1<"), "{html}");
        assert!(html.contains("id=\"rejected-lines\"") && html.contains("PAGE2"), "{html}");
        assert!(html.contains("href=\"data:text/csv"), "{html}");
        assert!(html.contains("boc.csv"), "the batch is listed with its file name: {html}");
        app.stop().await?;
    }
    Ok(())
}
