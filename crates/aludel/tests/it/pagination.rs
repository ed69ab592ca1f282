//! Pagination on every backend: Flask-SQLAlchemy's `paginate` (page
//! numbers, totals, out-of-range pages, `max_per_page` clamping, counting
//! off), `iter_pages`, and keyset cursors.

use aludel::orm::{KeysetPage, Model, Page, PaginateOptions, Session};
use aludel::schema::MetaData;
use aludel::{ErrorKind, Model};

use crate::harness::TestDb;

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "entries")]
struct Entry {
    #[aludel(primary_key)]
    id: i64,
    /// A sort key with ties: five rows share each rank (three for the last).
    rank: i32,
    #[aludel(length = 50)]
    title: String,
    note: Option<String>,
}

/// `n` entries with ids 1..=n; rank is scattered so that rank order is not
/// id order, with ties.
async fn setup(db: &TestDb, n: i64) -> aludel::Result<(aludel::Engine, Session)> {
    let engine = db.engine();
    let mut md = MetaData::new();
    md.add(Entry::table().clone())?;
    md.create_all(&engine).await?;
    let mut s = Session::new(&engine);
    for i in 1..=n {
        s.add(Entry {
            id: 0,
            rank: ((i * 7) % 5) as i32,
            title: format!("entry {i}"),
            note: None,
        });
    }
    s.commit().await?;
    Ok((engine, s))
}

fn ids(s: &Session, keys: &[aludel::orm::Key<Entry>]) -> Vec<i64> {
    keys.iter().map(|&k| s[k].id).collect()
}

async fn page_of(s: &mut Session, page: u64, per_page: u64) -> aludel::Result<Page<Entry>> {
    s.query::<Entry>()
        .order_by([Entry::id.asc()])
        .paginate(page, per_page)
        .await
}

async fn pages_of_ten(db: TestDb) -> aludel::Result<()> {
    let (_engine, mut s) = setup(&db, 23).await?;

    let p1 = page_of(&mut s, 1, 10).await?;
    assert_eq!(ids(&s, &p1.items), (1..=10).collect::<Vec<_>>());
    assert_eq!(
        (p1.page, p1.per_page, p1.total, p1.pages()),
        (1, 10, Some(23), 3)
    );
    assert_eq!((p1.has_prev(), p1.has_next()), (false, true));
    assert_eq!((p1.prev_num(), p1.next_num()), (None, Some(2)));
    assert_eq!((p1.first(), p1.last()), (1, 10));

    let p2 = page_of(&mut s, 2, 10).await?;
    assert_eq!(ids(&s, &p2.items), (11..=20).collect::<Vec<_>>());
    assert_eq!((p2.has_prev(), p2.has_next()), (true, true));
    assert_eq!((p2.prev_num(), p2.next_num()), (Some(1), Some(3)));
    assert_eq!((p2.first(), p2.last()), (11, 20));

    let p3 = page_of(&mut s, 3, 10).await?;
    assert_eq!(ids(&s, &p3.items), [21, 22, 23]);
    assert_eq!((p3.total, p3.pages()), (Some(23), 3));
    assert_eq!((p3.has_prev(), p3.has_next()), (true, false));
    assert_eq!((p3.prev_num(), p3.next_num()), (Some(2), None));
    assert_eq!((p3.first(), p3.last()), (21, 23));

    // Past the end: an error naming the page by default (404 in a web app) …
    let err = assert_err!(page_of(&mut s, 4, 10).await, ErrorKind::NoRow);
    assert!(err.to_string().contains("page 4"), "{err}");
    assert_err!(page_of(&mut s, 0, 10).await, ErrorKind::NoRow);
    assert_err!(page_of(&mut s, 1, 0).await, ErrorKind::NoRow);

    // … and an empty page without error_out.
    let lax = |page, per_page| PaginateOptions::new(page, per_page).error_out(false);
    let p4 = s
        .query::<Entry>()
        .order_by([Entry::id.asc()])
        .paginate_with(lax(4, 10))
        .await?;
    assert!(p4.items.is_empty());
    assert_eq!((p4.page, p4.total, p4.pages()), (4, Some(23), 3));
    assert_eq!(
        (p4.has_prev(), p4.prev_num(), p4.has_next()),
        (true, Some(3), false)
    );
    assert_eq!((p4.first(), p4.last()), (0, 0));
    // Page 0 is page 1; a per_page of 0 is 20.
    let p0 = s
        .query::<Entry>()
        .order_by([Entry::id.asc()])
        .paginate_with(lax(0, 0))
        .await?;
    assert_eq!((p0.page, p0.per_page), (1, 20));
    assert_eq!(ids(&s, &p0.items), (1..=20).collect::<Vec<_>>());

    // Filters apply to the items and the total; ties on the ORDER BY are
    // broken by the primary key.
    let by_rank = s
        .query::<Entry>()
        .filter(Entry::rank.le(1))
        .order_by([Entry::rank.asc()])
        .paginate(1, 5)
        .await?;
    // rank = (7i) mod 5: rank 0 at i = 5, 10, 15, 20; rank 1 at 3, 8, 13, 18, 23.
    assert_eq!(ids(&s, &by_rank.items), [5, 10, 15, 20, 3]);
    assert_eq!((by_rank.total, by_rank.pages()), (Some(9), 2));
    Ok(())
}

async fn empty_result_has_page_one(db: TestDb) -> aludel::Result<()> {
    let (_engine, mut s) = setup(&db, 0).await?;
    let p = page_of(&mut s, 1, 10).await?;
    assert!(p.items.is_empty());
    assert_eq!(
        (p.total, p.pages(), p.has_next(), p.has_prev()),
        (Some(0), 0, false, false)
    );
    assert!(p.iter_pages_default().is_empty());
    assert_err!(page_of(&mut s, 2, 10).await, ErrorKind::NoRow);
    Ok(())
}

async fn per_page_is_clamped(db: TestDb) -> aludel::Result<()> {
    let (_engine, mut s) = setup(&db, 23).await?;
    // Clamped to 100 by default (Flask-SQLAlchemy would return 500).
    let p = page_of(&mut s, 1, 500).await?;
    assert_eq!((p.per_page, p.items.len(), p.pages()), (100, 23, 1));
    let p = s
        .query::<Entry>()
        .order_by([Entry::id.asc()])
        .paginate_with(PaginateOptions::new(2, 10).max_per_page(Some(5)))
        .await?;
    assert_eq!(p.per_page, 5);
    assert_eq!(ids(&s, &p.items), [6, 7, 8, 9, 10]);
    assert_eq!((p.pages(), p.next_num()), (5, Some(3)));
    let p = s
        .query::<Entry>()
        .paginate_with(PaginateOptions::new(1, 500).max_per_page(None))
        .await?;
    assert_eq!((p.per_page, p.items.len()), (500, 23));
    Ok(())
}

async fn count_off_still_knows_has_next(db: TestDb) -> aludel::Result<()> {
    let (_engine, mut s) = setup(&db, 23).await?;
    let mut uncounted = async |page, per_page| {
        s.query::<Entry>()
            .order_by([Entry::id.asc()])
            .paginate_with(PaginateOptions::new(page, per_page).count(false))
            .await
    };
    let p1 = uncounted(1, 10).await?;
    assert_eq!((p1.total, p1.pages(), p1.items.len()), (None, 0, 10));
    assert!(p1.has_next() && !p1.has_prev());
    assert_eq!(p1.next_num(), Some(2));
    let p2 = uncounted(2, 10).await?;
    assert!(p2.has_next() && p2.has_prev());
    let p3 = uncounted(3, 10).await?;
    assert_eq!(p3.items.len(), 3);
    assert!(!p3.has_next(), "the last page");
    assert_eq!((p3.next_num(), p3.prev_num()), (None, Some(2)));
    // A page that ends exactly at the last row.
    let exact = uncounted(1, 23).await?;
    assert_eq!(exact.items.len(), 23);
    assert!(!exact.has_next(), "no row follows the 23rd");
    let almost = uncounted(1, 22).await?;
    assert!(almost.has_next());
    assert!(almost.iter_pages_default().is_empty(), "no page count");
    Ok(())
}

async fn iter_pages_on_many_pages(db: TestDb) -> aludel::Result<()> {
    // 23 rows, one per page: 23 pages.
    let (_engine, mut s) = setup(&db, 23).await?;
    let gap =
        |v: &[u64]| -> Vec<Option<u64>> { v.iter().map(|&n| (n != 0).then_some(n)).collect() };
    let p = page_of(&mut s, 7, 1).await?;
    assert_eq!(ids(&s, &p.items), [7]);
    assert_eq!(p.pages(), 23);
    assert_eq!(
        p.iter_pages_default(),
        gap(&[1, 2, 0, 5, 6, 7, 8, 9, 10, 11, 0, 22, 23])
    );
    let p = page_of(&mut s, 1, 1).await?;
    assert_eq!(p.iter_pages_default(), gap(&[1, 2, 3, 4, 5, 0, 22, 23]));
    let p = page_of(&mut s, 23, 1).await?;
    assert_eq!(p.iter_pages_default(), gap(&[1, 2, 0, 21, 22, 23]));
    assert_eq!(p.iter_pages(1, 1, 1, 1), gap(&[1, 0, 22, 23]));
    let p = page_of(&mut s, 2, 10).await?;
    assert_eq!(p.iter_pages_default(), gap(&[1, 2, 3]));
    Ok(())
}

/// Walk every row in pages of `limit` through `next_cursor`.
async fn walk(s: &mut Session, by_rank: bool, limit: u64) -> aludel::Result<Vec<Vec<i64>>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = s.query::<Entry>();
        let page: KeysetPage<Entry> = if by_rank {
            q.keyset(Entry::rank, cursor.as_deref(), limit).await?
        } else {
            q.keyset(Entry::id, cursor.as_deref(), limit).await?
        };
        pages.push(ids(s, &page.items));
        assert_eq!(page.has_next(), page.next_cursor.is_some());
        match page.next_cursor {
            Some(c) => {
                assert!(
                    c.bytes().all(|b| b.is_ascii_alphanumeric()),
                    "URL-safe: {c}"
                );
                cursor = Some(c);
            }
            None => break,
        }
        assert!(pages.len() < 100, "the walk ends");
    }
    Ok(pages)
}

async fn keyset_walks_every_row_once(db: TestDb) -> aludel::Result<()> {
    let (_engine, mut s) = setup(&db, 23).await?;
    // By the primary key.
    let pages = walk(&mut s, false, 7).await?;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 7, 2]);
    assert_eq!(pages.concat(), (1..=23).collect::<Vec<_>>());

    // By a sort key with ties, broken by the primary key: pages split
    // inside runs of equal ranks.
    let pages = walk(&mut s, true, 7).await?;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 7, 2]);
    let mut expected: Vec<(i32, i64)> = (1..=23).map(|i| (((i * 7) % 5) as i32, i)).collect();
    expected.sort();
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(pages.concat(), expected);
    assert_eq!(
        pages[0],
        [5, 10, 15, 20, 3, 8, 13],
        "rank 0, then rank 1 split at a page end"
    );

    // A page that ends at the last row has no cursor.
    let all = s.query::<Entry>().keyset(Entry::id, None, 23).await?;
    assert_eq!((all.items.len(), all.next_cursor), (23, None));

    // Filters apply.
    let first = s
        .query::<Entry>()
        .filter(Entry::rank.eq(2))
        .keyset(Entry::id, None, 3)
        .await?;
    assert_eq!(ids(&s, &first.items), [1, 6, 11]);
    let rest = s
        .query::<Entry>()
        .filter(Entry::rank.eq(2))
        .keyset(Entry::id, first.next_cursor.as_deref(), 3)
        .await?;
    assert_eq!(ids(&s, &rest.items), [16, 21]);
    assert!(rest.next_cursor.is_none());
    Ok(())
}

async fn keyset_rejects_bad_cursors(db: TestDb) -> aludel::Result<()> {
    let (_engine, mut s) = setup(&db, 23).await?;
    for garbage in ["garbage", "zz", "abc", "7b7d", "5b312c325d", ""] {
        let err = assert_err!(
            s.query::<Entry>().keyset(Entry::id, Some(garbage), 7).await,
            ErrorKind::Decode
        );
        assert!(
            err.to_string().contains("malformed pagination cursor"),
            "{err}"
        );
    }
    // A cursor made for another sort column.
    let by_rank = s.query::<Entry>().keyset(Entry::rank, None, 7).await?;
    let err = assert_err!(
        s.query::<Entry>()
            .keyset(Entry::id, by_rank.next_cursor.as_deref(), 7)
            .await,
        ErrorKind::Decode
    );
    assert!(err.to_string().contains("rank"), "{err}");
    // A nullable sort column has no portable order.
    let err = assert_err!(
        s.query::<Entry>().keyset(Entry::note, None, 7).await,
        ErrorKind::Config
    );
    assert!(err.to_string().contains("entries.note"), "{err}");
    Ok(())
}

all_backends!(
    pages_of_ten,
    empty_result_has_page_one,
    per_page_is_clamped,
    count_off_still_knows_has_next,
    iter_pages_on_many_pages,
    keyset_walks_every_row_once,
    keyset_rejects_bad_cursors,
);
