//! The HTML pages through the Router: the policies list with its
//! pagination links (from `iter_pages`, gaps as "…"), a policy with its
//! claims, and errors as HTML pages.

use axum::http::StatusCode;
use serde_json::json;

use crate::all_backends;
use crate::harness::{book, send, Fixture, Reply};

/// The page's HTML with the entities minijinja may use for `/`, `"` and
/// `'` written plainly (a browser reads them the same).
fn html(r: &Reply) -> String {
    r.text
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
}

async fn policies_list_and_links(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let r = send(app, "GET", "/policies", None).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (StatusCode::OK, "text/html; charset=utf-8")
    );
    assert!(r.text.contains("No policies."), "{}", r.text);
    assert!(
        r.text.contains("<p id=\"summary\">0 policies</p>"),
        "{}",
        r.text
    );
    book(&f.db, 45).await?;
    let r = send(app, "GET", "/policies?per_page=2&page=10", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains("Page 10 of 23 · 45 policies"), "{page}");
    assert!(
        page.contains(">PRT-T000019</a>") && page.contains(">PRT-T000020</a>"),
        "{page}"
    );
    assert!(!page.contains(">PRT-T000021</a>"));
    // iter_pages(2, 2, 4, 2) for page 10 of 23: 1 2 … 8 9 [10] 11 12 13 14 … 22 23.
    let links: Vec<&str> = page
        .split("<nav class=\"pagination\"")
        .nth(1)
        .unwrap()
        .split("</nav>")
        .next()
        .unwrap()
        .split('<')
        .filter_map(|tag| {
            if tag.starts_with("a class=\"page\"")
                || tag.starts_with("span class=\"current\"")
                || tag.starts_with("span class=\"gap\"")
            {
                tag.split('>').nth(1)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        links,
        ["1", "2", "…", "8", "9", "10", "11", "12", "13", "14", "…", "22", "23"]
    );
    assert!(
        page.contains(r#"<a class="page" href="/policies?per_page=2&amp;page=22">22</a>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<a rel="next" href="/policies?per_page=2&amp;page=11">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<a rel="prev" href="/policies?per_page=2&amp;page=9">"#),
        "{page}"
    );
    // The status filter keeps to its links.
    let r = send(app, "GET", "/policies?status=cancelled&per_page=10", None).await;
    let filtered = html(&r);
    assert!(filtered.contains("Page 1 of 2 · 15 policies"), "{filtered}");
    assert!(
        filtered.contains(r#"href="/policies?status=cancelled&amp;per_page=10&amp;page=2""#),
        "{filtered}"
    );
    assert!(
        filtered.contains(r#"<option value="cancelled" selected>"#),
        "{filtered}"
    );
    // Bad pages and statuses: HTML error pages.
    let r = send(app, "GET", "/policies?page=0", None).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (StatusCode::NOT_FOUND, "text/html; charset=utf-8")
    );
    assert!(r.text.contains("<h1>404 Not Found</h1>"), "{}", r.text);
    let r = send(app, "GET", "/policies?page=1000000000", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(app, "GET", "/policies?status=bogus", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(html(&r).contains("unknown status \"bogus\""), "{}", r.text);
    Ok(())
}

async fn policy_page_with_claims(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let ids = book(&f.db, 2).await?;
    let id = ids[0];
    let r = send(app, "GET", &format!("/policies/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text
            .contains("<h1>Policy <span id=\"number\">PRT-T000001</span></h1>"),
        "{}",
        r.text
    );
    assert!(r.text.contains("No claims."));
    assert!(
        html(&r).contains("Customer 001 &lt;customer1@example.com&gt;"),
        "{}",
        r.text
    );
    let r = send(app, "POST", "/api/claims", Some(json!({"policy_id": id, "amount": "1234.5", "description": "Hail <b>broke</b> the conservatory"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = send(app, "GET", &format!("/policies/{id}"), None).await;
    assert!(
        r.text.contains("<td class=\"num\">1234.50</td>"),
        "{}",
        r.text
    );
    // Escaped, never markup.
    assert!(
        html(&r).contains("Hail &lt;b&gt;broke&lt;/b&gt; the conservatory"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("No claims."));
    let r = send(app, "GET", "/policies/424242", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        html(&r).contains("no \"policies\" row with primary key 424242"),
        "{}",
        r.text
    );
    let r = send(app, "GET", "/", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    Ok(())
}

all_backends!(policies_list_and_links, policy_page_with_claims);

/// Statements per request do not grow with the page: the lists load their
/// relationships with `selectin`, not one query per row (the layer fails a
/// request over the budget).
async fn no_n_plus_one(f: Fixture) -> aludel::Result<()> {
    let ids = book(&f.db, 120).await?;
    let app = protect::routes()
        .layer(
            aludel_axum::DbLayer::new(f.db.clone())
                .query_budget(10)
                .fail_over_budget(true),
        )
        .with_state(f.db.clone());
    for i in 0..3 {
        let r = send(
            &app,
            "POST",
            "/api/claims",
            Some(json!({"policy_id": ids[0], "amount": "10", "description": format!("claim {i}")})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    }
    for uri in [
        "/api/policies?per_page=100".to_string(),
        "/api/customers?per_page=100".to_string(),
        "/api/homes?per_page=100".to_string(),
        "/api/claims?per_page=100".to_string(),
        "/policies?per_page=100".to_string(),
        format!("/policies/{}", ids[0]),
        format!("/api/policies/{}", ids[0]),
        "/api/claims/1".to_string(),
    ] {
        let r = send(&app, "GET", &uri, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    }
    Ok(())
}

all_backends!(no_n_plus_one);
