//! End to end in headless Chromium (Debian's `chromium` package): the
//! policies list renders, a pagination link leads to the next page, and a
//! claim filed through the API appears on the policy's page.
//!
//! The browser runs with `--headless --no-sandbox --dump-dom` (the DOM after
//! the page loaded, scripts run), a throwaway profile, and no network
//! beyond loopback (a dead proxy and a resolver that finds no other host).
//! The test installs nothing: without `/usr/bin/chromium` (or
//! `$ALUDEL_CHROMIUM`) it is skipped with a message, unless
//! `ALUDEL_BROWSER_TESTS=1`, which makes a missing browser a failure (CI).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aludel_axum::testing::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::book;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("ALUDEL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    let required = std::env::var("ALUDEL_BROWSER_TESTS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "ALUDEL_BROWSER_TESTS=1 but there is no browser at {}: install Debian's chromium package (apt-get install -y chromium)",
        path.display()
    );
    eprintln!(
        "skipped: no browser at {} (apt-get install -y chromium; ALUDEL_BROWSER_TESTS=1 makes this a failure)",
        path.display()
    );
    None
}

/// The DOM of `url` after it loaded, as Chromium serializes it.
fn dump_dom(browser: &PathBuf, profile: &std::path::Path, url: &str) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=Translate,MediaRouter,OptimizationHints",
            // Loopback only: other hosts resolve to nothing, and any other
            // connection would go to a proxy that is not there.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish loading {url} in 90 s");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let out = child.wait_with_output().expect("chromium's output");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium failed on {url} ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// The `href` of the first `<a>` whose opening tag contains `marker`.
fn href(dom: &str, marker: &str) -> Option<String> {
    let tag = dom
        .split("<a ")
        .find(|t| t.split('>').next().unwrap_or("").contains(marker))?;
    let value = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(value.replace("&amp;", "&"))
}

/// POST a JSON body over loopback, as any client would: (status, body).
async fn post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pages() {
    let Some(browser) = chromium() else { return };
    let tdb = TestDatabase::sqlite().await.unwrap();
    let db = tdb.db().unwrap();
    protect::upgrade(&db, |_| {}).await.unwrap();
    let ids = book(&db, 45).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener,
        protect::app(db.clone()),
    )));
    let profile = std::env::temp_dir().join(format!("protect-chromium-{}", std::process::id()));
    let base = format!("http://{addr}");
    let dump = |path: String| {
        let (browser, profile, url) = (browser.clone(), profile.clone(), format!("{base}{path}"));
        tokio::task::spawn_blocking(move || dump_dom(&browser, &profile, &url))
    };

    // The list renders: the first page of policies and the pagination.
    let dom = dump("/policies".into()).await.unwrap();
    assert!(dom.contains("<h1>Policies</h1>"), "{dom}");
    assert!(dom.contains("Page 1 of 3 · 45 policies"), "{dom}");
    assert!(
        dom.contains(">PRT-T000001</a>") && dom.contains(">PRT-T000020</a>"),
        "{dom}"
    );
    assert!(!dom.contains(">PRT-T000021</a>"));

    // The "Next" link leads to page 2, and a numbered link to page 3.
    let next = href(&dom, "rel=\"next\"").expect("a Next link");
    assert_eq!(next, "/policies?page=2");
    let dom = dump(next).await.unwrap();
    assert!(dom.contains("Page 2 of 3 · 45 policies"), "{dom}");
    assert!(
        dom.contains(">PRT-T000021</a>") && !dom.contains(">PRT-T000001</a>"),
        "{dom}"
    );
    assert!(dom.contains("aria-current=\"page\">2</span>"), "{dom}");
    let third = dom
        .split("<a class=\"page\" ")
        .find(|t| t.split('<').next().unwrap_or("").ends_with(">3"))
        .and_then(|t| t.split("href=\"").nth(1))
        .and_then(|t| t.split('"').next())
        .expect("a link to page 3")
        .replace("&amp;", "&");
    let dom = dump(third).await.unwrap();
    assert!(
        dom.contains("Page 3 of 3") && dom.contains(">PRT-T000045</a>"),
        "{dom}"
    );

    // A claim filed through the API appears on the policy's page.
    let policy = ids[0];
    let (status, body) = post_json(
        addr,
        "/api/claims",
        &format!(r#"{{"policy_id": {policy}, "amount": "3150.75", "description": "Storm tore off the porch roof"}}"#),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let list = dump("/policies".into()).await.unwrap();
    let link = format!("/policies/{policy}");
    assert!(
        list.contains(&format!("<a href=\"{link}\">PRT-T000001</a>")),
        "{list}"
    );
    let dom = dump(link).await.unwrap();
    assert!(dom.contains("Storm tore off the porch roof"), "{dom}");
    assert!(
        dom.contains("3150.75") && dom.contains("status-filed"),
        "{dom}"
    );

    server.abort();
    let _ = std::fs::remove_dir_all(&profile);
    drop(db);
    let lock = crate::harness::migrate_lock(&tdb);
    tdb.close().await.unwrap();
    if let Some(lock) = lock {
        let _ = std::fs::remove_file(lock);
    }
}
