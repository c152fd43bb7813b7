//! Listing and full-text search on SQLite: FTS5 over the stemmed terms, ranked by bm25, with the
//! same filters and cursors as the PostgreSQL store.

use otklik_core::{Case, CaseFilter, Cursor, Page};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use otklik_core::text::query_terms;

use crate::records::{CASE_COLUMNS, CaseRow, millis, page_of, search_offset};
use crate::{SEARCH_WINDOW, StoreError};

pub(super) async fn list_cases(pool: &SqlitePool, filter: &CaseFilter) -> Result<Page<Case>, StoreError> {
    let limit = filter.limit.clamp(1, 200);
    let terms = filter.query.as_deref().map(query_terms);
    let offset = search_offset(filter, terms.is_some())?;
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
        "SELECT {CASE_COLUMNS}, (SELECT group_concat(tag, ',') FROM case_tags t WHERE t.case_id = c.id) AS tags "
    ));
    match &terms {
        Some(terms) if terms.is_empty() => return Ok(Page { items: Vec::new(), next_cursor: None }),
        Some(terms) => {
            // The newest SEARCH_WINDOW matches that pass the filters, walked newest first straight
            // from the index (so bm25 is computed for those only), then ranked; only the page's
            // rows are read from `cases`.
            sql.push(
                "FROM (SELECT id, score FROM (SELECT s.rowid AS id, bm25(case_search) AS score \
                 FROM case_search s CROSS JOIN cases c ON c.id = s.rowid WHERE case_search MATCH ",
            );
            sql.push_bind(fts5_expression(terms));
            push_filters(&mut sql, filter);
            sql.push(" ORDER BY s.rowid DESC LIMIT ").push_bind(SEARCH_WINDOW);
            sql.push(") ORDER BY score, id DESC LIMIT ").push_bind(i64::from(limit) + 1);
            sql.push(" OFFSET ").push_bind(i64::from(offset));
            sql.push(") m JOIN cases c ON c.id = m.id ORDER BY m.score, c.id DESC");
        }
        None => {
            sql.push("FROM cases c WHERE 1 = 1");
            push_filters(&mut sql, filter);
            if let Some(Cursor::Before(id)) = filter.cursor {
                sql.push(" AND c.id < ").push_bind(id);
            }
            sql.push(" ORDER BY c.id DESC LIMIT ").push_bind(i64::from(limit) + 1);
        }
    }
    let rows: Vec<CaseRow> = sql.build_query_as().fetch_all(pool).await?;
    page_of(rows, limit, offset, terms.is_some())
}

fn push_filters(sql: &mut QueryBuilder<Sqlite>, filter: &CaseFilter) {
    if let Some(kind) = filter.kind {
        sql.push(" AND c.kind = ").push_bind(kind.as_str());
    }
    if let Some(status) = filter.status {
        sql.push(" AND c.status = ").push_bind(status.as_str());
    }
    if let Some(channel) = filter.channel {
        sql.push(" AND c.channel = ").push_bind(channel.as_str());
    }
    if let Some(location) = &filter.location {
        sql.push(" AND c.location = ").push_bind(location.clone());
    }
    if let Some(assignee) = &filter.assignee {
        sql.push(" AND c.assignee = ").push_bind(assignee.clone());
    }
    if let Some(from) = filter.created_from {
        sql.push(" AND c.created_at >= ").push_bind(millis(from));
    }
    if let Some(to) = filter.created_to {
        sql.push(" AND c.created_at < ").push_bind(millis(to));
    }
    if let Some(customer_id) = filter.customer_id {
        sql.push(" AND c.customer_id = ").push_bind(customer_id);
    }
    if !filter.include_hidden {
        sql.push(" AND c.hidden = 0");
    }
}

/// An FTS5 query that needs every word, each under any of its stems: `("a" OR "b") AND "c"`.
/// Stems are letters and digits only, so quoting them is enough.
fn fts5_expression(terms: &[Vec<String>]) -> String {
    let words: Vec<String> = terms
        .iter()
        .map(|stems| {
            let quoted: Vec<String> = stems.iter().map(|stem| format!("\"{stem}\"")).collect();
            format!("({})", quoted.join(" OR "))
        })
        .collect();
    words.join(" AND ")
}
