//! The real server on port 0 over a fresh database, with a small demo county in it.

#![allow(dead_code)]

use bureau_store_tests::TestDb;

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

/// A small demo county: 300 customers, the 61 demo staff (password `demo2026`).
pub async fn demo_county(db: &TestDb) -> anyhow::Result<bureau_app::demo::DemoSummary> {
    let mut opts = bureau_app::demo::DemoOptions::new(jiff::civil::date(2026, 11, 27));
    opts.customers = 300;
    Ok(bureau_app::demo::generate(&db.store, &opts).await?)
}

impl TestApp {
    /// Serves `db` (already filled as the test wishes) on a free port.
    pub async fn start(db: TestDb) -> anyhow::Result<TestApp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let store = db.store.clone();
        let server = tokio::spawn(async move {
            let _ = bureau_web::serve(store, listener).await;
        });
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(TestApp { base, client, db, server })
    }

    /// One app per backend, each with the small demo county.
    pub async fn each_with_demo() -> anyhow::Result<Vec<TestApp>> {
        let mut apps = Vec::new();
        for db in TestDb::each().await? {
            demo_county(&db).await?;
            apps.push(TestApp::start(db).await?);
        }
        Ok(apps)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs a member of staff in through the API and returns the bearer token.
    pub async fn login(&self, user: &str) -> anyhow::Result<String> {
        let resp = self
            .client
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({"username": user, "password": "demo2026"}))
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "login of {user} answered {}", resp.status());
        let body: serde_json::Value = resp.json().await?;
        Ok(body["token"].as_str().unwrap_or_default().to_string())
    }

    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.client.get(self.url(path)).bearer_auth(token).send().await?)
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(self.client.post(self.url(path)).bearer_auth(token).json(body).send().await?)
    }

    /// Starts a bill run (`POST /api/v1/bill-runs`, answered 202 at once) and polls its job until
    /// it has ended; returns the ended job (its `summary` is the run's).
    pub async fn bill_run(&self, token: &str, body: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let r = self.post_json("/api/v1/bill-runs", token, body).await?;
        anyhow::ensure!(r.status() == 202, "the bill run answered {}: {}", r.status(), r.text().await?);
        let job: serde_json::Value = r.json().await?;
        let id = job["id"].as_str().unwrap_or_default().to_string();
        loop {
            let job: serde_json::Value =
                self.get(&format!("/api/v1/bill-runs/jobs/{id}"), token).await?.json().await?;
            if job["state"] != "running" {
                return Ok(job);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Stops the server and removes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.abort();
        let _ = self.server.await;
        self.db.destroy().await
    }
}
