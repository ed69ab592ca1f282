//! The server-rendered pages (minijinja templates in `templates/`,
//! compiled into the binary): the policies list with pagination links from
//! the ORM page's `iter_pages`, and a policy's page with its claims.

use std::sync::LazyLock;

use aludel::orm::{selectin, Model as _};
use aludel_axum::{AppError, Db, DbSession, PageParams, SessionExt};
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Environment};
use serde::Serialize;

use crate::api::{filters, Id};
use crate::models::{money_text, Claim, Policy, PolicyStatus};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("policies.html", include_str!("../templates/policies.html")),
        ("policy.html", include_str!("../templates/policy.html")),
        ("error.html", include_str!("../templates/error.html")),
    ] {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env
});

/// The HTML routes (state: the app's [`Db`]).
pub fn routes() -> Router<Db> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/policies") }))
        .route("/policies", get(policies))
        .route("/policies/{id}", get(policy))
}

/// An error as an HTML page with the problem's status and detail.
#[derive(Debug)]
pub struct PageError(AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<aludel::Error> for PageError {
    fn from(e: aludel::Error) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let detail = self.0.body()["detail"].as_str().unwrap_or("").to_string();
        match render(
            "error.html",
            context! {
                status => status.as_u16(),
                title => status.canonical_reason().unwrap_or("Error"),
                detail => detail,
            },
        ) {
            Ok(html) => (status, html).into_response(),
            Err(e) => e.0.into_response(),
        }
    }
}

fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, PageError> {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| PageError(AppError::internal(format!("template {name}: {e:#}"))))
}

/// `/policies` filters.
#[derive(Debug, serde::Deserialize)]
struct ListFilters {
    status: Option<String>,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    number: String,
    customer: String,
    address: String,
    status: &'static str,
    premium: String,
    start_date: String,
    end_date: String,
}

#[derive(Serialize)]
struct Link {
    number: u64,
    url: String,
    current: bool,
    gap: bool,
}

async fn policies(
    mut s: DbSession,
    pages: PageParams,
    f: Result<Query<ListFilters>, QueryRejection>,
) -> Result<Html<String>, PageError> {
    let f = filters(f)?;
    // An empty choice in the form is "any status".
    let status = match f.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            PolicyStatus::ALL
                .into_iter()
                .find(|p| p.as_str() == s)
                .ok_or_else(|| AppError::bad_request(format!("unknown status {s:?}")))?,
        ),
    };
    let mut q = Policy::query(&mut s)
        .options(selectin(Policy::customer))
        .options(selectin(Policy::home))
        .order_by([Policy::id.asc()]);
    if let Some(st) = status {
        q = q.filter(Policy::status.eq(st));
    }
    let page = pages.paginate(q).await?;
    let rows: Vec<Row> = page
        .iter()
        .map(|&k| {
            let p = &s[k];
            let customer = s.related(k, Policy::customer).ok().flatten();
            let home = s.related(k, Policy::home).ok().flatten();
            Row {
                id: p.id,
                number: p.number.clone(),
                customer: customer.map(|c| s[c].name.clone()).unwrap_or_default(),
                address: home
                    .map(|h| format!("{}, {}", s[h].address, s[h].city))
                    .unwrap_or_default(),
                status: p.status.as_str(),
                premium: money_text(p.premium),
                start_date: p.start_date.to_string(),
                end_date: p.end_date.to_string(),
            }
        })
        .collect();
    let links: Vec<Link> = page
        .iter_pages_default()
        .into_iter()
        .map(|n| match n {
            Some(n) => Link {
                number: n,
                url: pages.url_for(n, page.per_page),
                current: n == page.page,
                gap: false,
            },
            None => Link {
                number: 0,
                url: String::new(),
                current: false,
                gap: true,
            },
        })
        .collect();
    render(
        "policies.html",
        context! {
            policies => rows,
            page => page.page,
            pages => page.pages(),
            total => page.total.unwrap_or(0),
            links => links,
            prev => page.prev_num().map(|n| pages.url_for(n, page.per_page)),
            next => page.next_num().map(|n| pages.url_for(n, page.per_page)),
            statuses => PolicyStatus::ALL.map(PolicyStatus::as_str),
            status => status.map(PolicyStatus::as_str).unwrap_or(""),
        },
    )
}

async fn policy(mut s: DbSession, Id(id): Id) -> Result<Html<String>, PageError> {
    let key = s.get_or_404::<Policy>(id).await?;
    let customer = s.load_related(key, Policy::customer).await?;
    let home = s.load_related(key, Policy::home).await?;
    let rider_keys = s.load_related(key, Policy::riders).await?;
    let claim_keys = s.load_related(key, Policy::claims).await?;
    let mut riders: Vec<_> = rider_keys.iter().map(|&r| s[r].clone()).collect();
    riders.sort_by(|a, b| a.name.cmp(&b.name));
    let mut claims: Vec<&Claim> = claim_keys.iter().map(|&c| &s[c]).collect();
    claims.sort_by_key(|c| std::cmp::Reverse((c.filed_at, c.id)));
    let claims: Vec<_> = claims
        .into_iter()
        .map(|c| {
            context! {
                id => c.id,
                filed_at => c.filed_at.format("%Y-%m-%d %H:%M").to_string(),
                amount => money_text(c.amount),
                status => c.status.as_str(),
                description => c.description.clone(),
            }
        })
        .collect();
    let p = &s[key];
    render(
        "policy.html",
        context! {
            policy => context! {
                number => p.number.clone(),
                status => p.status.as_str(),
                coverage => money_text(p.coverage),
                premium => money_text(p.premium),
                deductible => money_text(p.deductible),
                start_date => p.start_date.to_string(),
                end_date => p.end_date.to_string(),
            },
            customer => customer.map(|c| s[c].clone()),
            home => home.map(|h| s[h].clone()),
            riders => riders,
            claims => claims,
        },
    )
}
