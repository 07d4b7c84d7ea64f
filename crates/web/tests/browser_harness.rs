//! Self-test of the headless-Chromium harness in `tests/support/browser.rs`, against a tiny
//! HTTP server written here (it does not depend on the crate under test).

mod support;

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use support::browser::{screenshot_dir, Browser, WebDriverError};

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

#[tokio::test]
async fn fills_a_form_and_reads_the_echo() -> Result<()> {
    let base = start_server().await?;
    let browser = Browser::start().await?;

    browser.goto(&format!("{base}/")).await?;
    assert_eq!(browser.title().await?, "Harness form");
    assert_eq!(browser.find("#lang").await?.text().await?, "zh-CN");

    let input = browser.find("#name").await?;
    assert_eq!(input.attribute("value").await?.as_deref(), Some("placeholder"));
    assert_eq!(input.attribute("data-missing").await?, None);
    input.clear().await?;
    input.send_keys("张三 & <Co>").await?;
    browser.find("#send").await?.click().await?;

    let greeting = browser.wait_for("#greeting", Duration::from_secs(10)).await?;
    assert_eq!(greeting.text().await?, "Hello, 张三 & <Co>!");
    assert_eq!(browser.title().await?, "Greeted");
    assert_eq!(browser.current_url().await?, format!("{base}/greet"));
    assert!(browser.page_source().await?.contains("id=\"greeting\""));

    let expected = screenshot_dir().join("browser-harness-greeting.png");
    let _ = std::fs::remove_file(&expected);
    let path = browser.screenshot("browser-harness-greeting").await?;
    assert_eq!(path, expected);
    let png = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    assert!(png.starts_with(PNG_SIGNATURE), "{} is not a PNG", path.display());
    assert!(png.len() > 1000, "{} is suspiciously small ({} bytes)", path.display(), png.len());
    Ok(())
}

#[tokio::test]
async fn reports_errors_and_runs_scripts() -> Result<()> {
    let base = start_server().await?;
    let browser = Browser::start_with_lang("en-US").await?;
    browser.goto(&format!("{base}/")).await?;
    assert_eq!(browser.find("#lang").await?.text().await?, "en-US");

    // A missing element surfaces chromedriver's error.
    let err = browser.find("#nope").await.err().context("found #nope")?;
    let wd = err.downcast_ref::<WebDriverError>().context("not a WebDriverError")?;
    assert_eq!(wd.error, "no such element", "{err:#}");

    // wait_for names the selector, the page and shows the page.
    let started = Instant::now();
    let err = browser.wait_for("#nope", Duration::from_millis(300)).await.err().context("found #nope")?;
    let message = format!("{err:#}");
    assert!(started.elapsed() >= Duration::from_millis(300), "gave up too early");
    assert!(message.contains("`#nope`"), "{message}");
    assert!(message.contains(&format!("{base}/")), "{message}");
    assert!(message.contains("id=\"name\""), "{message}");

    // A broken selector fails at once instead of waiting out the timeout.
    let started = Instant::now();
    let err = browser.wait_for("[[[", Duration::from_secs(30)).await.err().context("found [[[")?;
    assert!(started.elapsed() < Duration::from_secs(10), "{err:#}");
    assert!(format!("{err:#}").contains("invalid selector"), "{err:#}");

    assert_eq!(browser.find_all("input, button").await?.len(), 2);
    assert!(browser.find_all(".nothing").await?.is_empty());

    let input = browser.find("#name").await?;
    let result =
        browser.execute("return [arguments[0] * 2, arguments[1].id];", &[json!(21), input.as_arg()]).await?;
    assert_eq!(result, json!([42, "name"]));
    let err = browser.execute("throw new Error('boom');", &[]).await.err().context("script did not fail")?;
    assert!(format!("{err:#}").contains("boom"), "{err:#}");
    Ok(())
}

/// Serves the test pages on 127.0.0.1 and returns the base URL.
async fn start_server() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Err(err) = handle(stream).await {
                    eprintln!("test server: {err:#}");
                }
            });
        }
    });
    Ok(base)
}

/// Answers one HTTP/1.1 request, then closes the connection.
async fn handle(mut stream: TcpStream) -> Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_len = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(()); // a preconnect that never sent a request
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_len].to_vec())?;
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (request_line.next().unwrap_or_default(), request_line.next().unwrap_or_default());
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
    };
    let length: usize = header("content-length").map(|v| v.parse()).transpose()?.unwrap_or(0);
    while buf.len() < head_len + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("body cut short");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(buf[head_len..head_len + length].to_vec())?;
    // The first language of Accept-Language, e.g. "zh-CN" of "zh-CN,zh;q=0.9".
    let lang = header("accept-language").unwrap_or_default();
    let lang = escape(lang.split([',', ';']).next().unwrap_or_default());

    let (status, page) = match (method, path) {
        ("GET", "/") => (
            "200 OK",
            format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Harness form</title></head>\
                 <body><p id=\"lang\">{lang}</p><form method=\"post\" action=\"/greet\">\
                 <label>Name <input id=\"name\" name=\"name\" value=\"placeholder\"></label>\
                 <button id=\"send\" type=\"submit\">Send</button></form></body></html>"
            ),
        ),
        ("POST", "/greet") => {
            let name = form_field(&body, "name").unwrap_or_default();
            (
                "200 OK",
                format!(
                    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Greeted</title></head>\
                     <body><p id=\"greeting\">Hello, {}!</p></body></html>",
                    escape(&name)
                ),
            )
        }
        _ => ("404 Not Found", "<!doctype html><title>Not found</title>".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{page}",
        page.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// The decoded value of `name` in an `application/x-www-form-urlencoded` body.
fn form_field(body: &str, name: &str) -> Option<String> {
    body.split('&').filter_map(|pair| pair.split_once('=')).find(|(key, _)| *key == name).map(|(_, value)| {
        let mut bytes = Vec::new();
        let mut rest = value.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            match first {
                b'+' => bytes.push(b' '),
                b'%' if tail.len() >= 2 => {
                    let hex = std::str::from_utf8(&tail[..2]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(byte) => {
                            bytes.push(byte);
                            rest = &tail[2..];
                            continue;
                        }
                        None => bytes.push(b'%'),
                    }
                }
                other => bytes.push(other),
            }
            rest = tail;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
