//! A small headless-Chromium driver for the web UI tests.
//!
//! It speaks the W3C WebDriver protocol over HTTP to a `chromedriver` process that it starts
//! itself, one per [`Browser`]. Dropping the `Browser` ends the session, kills chromedriver and
//! removes the browser's temporary profile, also when a test panics.
//!
//! ```ignore
//! let browser = Browser::start().await?;
//! browser.goto(&format!("{base}/login")).await?;
//! browser.find("#user").await?.send_keys("alice").await?;
//! browser.find("button[type=submit]").await?.click().await?;
//! let banner = browser.wait_for(".welcome", Duration::from_secs(5)).await?;
//! assert_eq!(banner.text().await?, "Welcome, alice");
//! browser.screenshot("login-done").await?;
//! ```
//!
//! Environment: `$CHROMIUM` overrides the browser binary (default `/usr/bin/chromium`) and
//! `$CHROMEDRIVER` the driver (default `chromedriver` on the `PATH`).

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};

const INSTALL_HINT: &str = "run `apt-get install -y chromium chromium-driver`";
/// The key under which WebDriver wraps an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The `Accept-Language` of [`Browser::start`]: the UI's first language.
pub const DEFAULT_LANG: &str = "zh-CN";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// An error reported by chromedriver, e.g. `no such element` or `invalid selector`.
#[derive(Debug)]
pub struct WebDriverError {
    /// The W3C error code, e.g. `no such element`.
    pub error: String,
    pub message: String,
    /// The command that failed, e.g. `POST /element`.
    pub command: String,
}

impl fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebDriver {} failed: {}: {}", self.command, self.error, self.message)
    }
}

impl std::error::Error for WebDriverError {}

/// One headless Chromium, driven through its own chromedriver.
pub struct Browser {
    http: reqwest::Client,
    port: u16,
    /// `http://127.0.0.1:<port>/session/<id>`, empty until the session exists.
    session_url: String,
    session_id: Option<String>,
    driver: Child,
    temp_dir: PathBuf,
}

/// An element of the current page.
pub struct Element {
    http: reqwest::Client,
    session_url: String,
    id: String,
}

impl Browser {
    /// Starts Chromium with `Accept-Language: zh-CN`.
    pub async fn start() -> Result<Browser> {
        Browser::start_with_lang(DEFAULT_LANG).await
    }

    /// Starts Chromium sending `lang` (e.g. `en-US`) as its `Accept-Language`.
    pub async fn start_with_lang(lang: &str) -> Result<Browser> {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        if !Path::new(&chromium).exists() {
            bail!("Chromium not found at {chromium}: {INSTALL_HINT} (or point $CHROMIUM at it)");
        }
        let mut browser = Browser::spawn_driver().await?;
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                    "--window-size=1280,900",
                    format!("--lang={lang}"),
                    format!("--user-data-dir={}", browser.temp_dir.join("profile").display()),
                ],
                "prefs": { "intl": { "accept_languages": lang } },
            },
        });
        let base = format!("http://127.0.0.1:{}", browser.port);
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let created = send(&browser.http, Method::POST, &base, "/session", Some(body))
            .await
            .context("could not start Chromium through chromedriver")?;
        let id = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("chromedriver answered a new session without sessionId: {created}"))?;
        browser.session_url = format!("{base}/session/{id}");
        browser.session_id = Some(id.to_owned());
        Ok(browser)
    }

    /// Starts chromedriver on a free port and waits until it is ready. Retries a few times in
    /// case another process took the port between our probe and chromedriver's bind.
    async fn spawn_driver() -> Result<Browser> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(90))
            .build()
            .context("building the HTTP client for chromedriver")?;
        let mut attempt = 1;
        loop {
            let temp_dir = fresh_temp_dir()?;
            let port = free_port()?;
            let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
            let log = File::create(temp_dir.join("chromedriver.log")).context("creating chromedriver.log")?;
            let spawned = Command::new(&driver_bin)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn();
            let driver = match spawned {
                Ok(child) => child,
                Err(err) => {
                    let _ = std::fs::remove_dir_all(&temp_dir);
                    if err.kind() == std::io::ErrorKind::NotFound {
                        bail!("`{driver_bin}` not found: {INSTALL_HINT} (or point $CHROMEDRIVER at it)");
                    }
                    return Err(err).with_context(|| format!("could not run `{driver_bin}`"));
                }
            };
            // From here on, Drop cleans up whatever happens.
            let mut browser = Browser {
                http: http.clone(),
                port,
                session_url: String::new(),
                session_id: None,
                driver,
                temp_dir,
            };
            match browser.wait_ready().await {
                Ok(()) => return Ok(browser),
                Err(err) if attempt < 3 && browser.driver.try_wait().ok().flatten().is_some() => {
                    eprintln!("chromedriver exited early (attempt {attempt}), retrying: {err:#}");
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let base = format!("http://127.0.0.1:{}", self.port);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.driver.try_wait()? {
                bail!(
                    "chromedriver exited ({status}) before it was ready; its output:\n{}",
                    self.driver_log()
                );
            }
            let last = match send(&self.http, Method::GET, &base, "/status", None).await {
                Ok(status) if status["ready"] == Value::Bool(true) => return Ok(()),
                Ok(status) => format!("not ready: {status}"),
                Err(err) => format!("{err:#}"),
            };
            if Instant::now() >= deadline {
                bail!(
                    "chromedriver on port {} was not ready after {READY_TIMEOUT:?} ({last}); its output:\n{}",
                    self.port,
                    self.driver_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn driver_log(&self) -> String {
        std::fs::read_to_string(self.temp_dir.join("chromedriver.log")).unwrap_or_default()
    }

    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        send(&self.http, method, &self.session_url, path, body).await
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.cmd(Method::POST, "/url", Some(json!({ "url": url }))).await?;
        Ok(())
    }

    pub async fn current_url(&self) -> Result<String> {
        string(self.cmd(Method::GET, "/url", None).await?)
    }

    pub async fn title(&self) -> Result<String> {
        string(self.cmd(Method::GET, "/title", None).await?)
    }

    /// The current DOM serialised as HTML.
    pub async fn page_source(&self) -> Result<String> {
        string(self.cmd(Method::GET, "/source", None).await?)
    }

    /// The first element matching the CSS selector; fails at once if there is none.
    pub async fn find(&self, css: &str) -> Result<Element> {
        let found = self.cmd(Method::POST, "/element", Some(locator(css))).await?;
        self.element(&found)
    }

    /// All elements matching the CSS selector, in document order; possibly none.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let found = self.cmd(Method::POST, "/elements", Some(locator(css))).await?;
        let list = found.as_array().ok_or_else(|| anyhow!("find_all(`{css}`): not a list: {found}"))?;
        list.iter().map(|one| self.element(one)).collect()
    }

    /// Polls until an element matches the CSS selector, for at most `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            let err = match self.find(css).await {
                Ok(element) => return Ok(element),
                Err(err) => err,
            };
            let hopeless = err
                .downcast_ref::<WebDriverError>()
                .is_some_and(|wd| wd.error == "invalid selector" || wd.error == "invalid session id");
            if hopeless || Instant::now() >= deadline {
                let url = self.current_url().await.unwrap_or_else(|e| format!("<unknown: {e:#}>"));
                let source = self.page_source().await.unwrap_or_else(|e| format!("<unavailable: {e:#}>"));
                bail!(
                    "waited {timeout:?} for `{css}` on {url} but it did not appear\nlast error: {err:#}\n\
                     page source from <body>:\n{}",
                    body_snippet(&source, 2000)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `js` as the body of a function in the page; `arguments[i]` are `args`
    /// (pass elements with [`Element::as_arg`]). Returns what the script returns.
    pub async fn execute(&self, js: &str, args: &[Value]) -> Result<Value> {
        self.cmd(Method::POST, "/execute/sync", Some(json!({ "script": js, "args": args }))).await
    }

    /// Saves a PNG of the viewport to `<workspace>/artifacts/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let encoded = string(self.cmd(Method::GET, "/screenshot", None).await?)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .context("chromedriver sent a screenshot that is not base64")?;
        let path = screenshot_dir().join(format!("{name}.png"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Prints the page as the browser would on paper (WebDriver "Print Page": print styles apply,
    /// A4) and saves the PDF to `<workspace>/artifacts/screenshots/<name>.pdf`.
    pub async fn print_pdf(&self, name: &str) -> Result<PathBuf> {
        let body = json!({ "page": { "width": 21.0, "height": 29.7 }, "background": true });
        let encoded = string(self.cmd(Method::POST, "/print", Some(body)).await?)?;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .context("chromedriver sent a PDF that is not base64")?;
        let path = screenshot_dir().join(format!("{name}.pdf"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, pdf).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    fn element(&self, found: &Value) -> Result<Element> {
        let id = found[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| anyhow!("chromedriver answered without an element reference: {found}"))?;
        Ok(Element { http: self.http.clone(), session_url: self.session_url.clone(), id: id.to_owned() })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(id) = self.session_id.take() {
            delete_session(self.port, &id);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Chromium outlives a killed chromedriver; if the session did not end, end it here.
        kill_chromium_using(&self.temp_dir.join("profile"));
        // Chromium may still be flushing its profile for a moment.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.temp_dir).is_ok() || !self.temp_dir.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Element {
    async fn cmd(&self, method: Method, action: &str, body: Option<Value>) -> Result<Value> {
        let path = format!("/element/{}{action}", self.id);
        send(&self.http, method, &self.session_url, &path, body).await
    }

    pub async fn click(&self) -> Result<()> {
        self.cmd(Method::POST, "/click", Some(json!({}))).await?;
        Ok(())
    }

    /// Types `text` into the element, as a user would.
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.cmd(Method::POST, "/value", Some(json!({ "text": text }))).await?;
        Ok(())
    }

    pub async fn clear(&self) -> Result<()> {
        self.cmd(Method::POST, "/clear", Some(json!({}))).await?;
        Ok(())
    }

    /// The rendered (visible) text.
    pub async fn text(&self) -> Result<String> {
        string(self.cmd(Method::GET, "/text", None).await?)
    }

    /// The attribute's value, or `None` if the element does not have it.
    pub async fn attribute(&self, name: &str) -> Result<Option<String>> {
        let value = self.cmd(Method::GET, &format!("/attribute/{name}"), None).await?;
        match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => bail!("attribute `{name}`: unexpected answer {other}"),
        }
    }

    /// This element as an argument of [`Browser::execute`].
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }
}

/// `<workspace root>/artifacts/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).unwrap_or(manifest).join("artifacts").join("screenshots")
}

/// Sends one WebDriver command and unwraps its `value`, turning WebDriver errors into
/// [`WebDriverError`].
async fn send(
    http: &reqwest::Client,
    method: Method,
    base: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value> {
    let command = format!("{method} {path}");
    let mut request = http.request(method, format!("{base}{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.with_context(|| format!("WebDriver {command}: no answer"))?;
    let status = response.status();
    let text = response.text().await.with_context(|| format!("WebDriver {command}: reading the answer"))?;
    let mut answer: Value = serde_json::from_str(&text).with_context(|| {
        format!("WebDriver {command}: HTTP {status} with a body that is not JSON: {}", snippet(&text, 500))
    })?;
    let value = answer["value"].take();
    if let Some(error) = value["error"].as_str() {
        let message = value["message"].as_str().unwrap_or_default();
        // chromedriver appends "(Session info: chrome=...)", which is noise here.
        let message = message.split("\n  (Session info").next().unwrap_or(message).trim();
        return Err(WebDriverError { error: error.to_owned(), message: message.to_owned(), command }.into());
    }
    if !status.is_success() {
        bail!("WebDriver {command}: HTTP {status}: {}", snippet(&text, 500));
    }
    Ok(value)
}

fn string(value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => bail!("expected a string from chromedriver, got {other}"),
    }
}

fn locator(css: &str) -> Value {
    json!({ "using": "css selector", "value": css })
}

/// Ends the session with a plain blocking request, since Drop cannot await.
fn delete_session(port: u16, id: &str) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // chromedriver keeps the connection open despite `Connection: close`, so read exactly one
    // response: the head, then Content-Length bytes of body.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !is_complete_response(&answer) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn is_complete_response(answer: &[u8]) -> bool {
    let Some(head_len) = answer.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..head_len]);
    let body_len = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() >= head_len + body_len
}

/// Kills the processes started with `--user-data-dir=<profile>`: only ours, as the directory is
/// fresh. Linux only; elsewhere it does nothing.
fn kill_chromium_using(profile: &Path) {
    let flag = format!("--user-data-dir={}", profile.display());
    let Ok(processes) = std::fs::read_dir("/proc") else { return };
    for process in processes.flatten() {
        let Some(pid) = process.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(process.path().join("cmdline")) else { continue };
        if cmdline.split(|&b| b == 0).any(|arg| arg == flag.as_bytes()) {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).stderr(Stdio::null()).status();
        }
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn fresh_temp_dir() -> Result<PathBuf> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("bureau-browser-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir); // left over from an earlier process with the same pid
    std::fs::create_dir_all(dir.join("profile")).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn snippet(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().nth(max_chars).is_some() {
        out.push_str(" …");
    }
    out
}

/// The page source from `<body` on (the head is rarely what one wants to see), shortened.
fn body_snippet(source: &str, max_chars: usize) -> String {
    let start = source.find("<body").unwrap_or(0);
    snippet(&source[start..], max_chars)
}
