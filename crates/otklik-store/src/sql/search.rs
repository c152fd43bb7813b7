//! Listing and full-text search: the backend's full-text index (FTS5 with bm25 on SQLite, a
//! GIN-indexed tsvector with ts_rank on PostgreSQL) over the stemmed terms, with the same
//! filters, window and cursors on both, so both return the same cases.

use otklik_core::text::query_terms;
use otklik_core::{Case, CaseFilter, Cursor, Page, Sort};

use super::Dialect;
use super::exec::{Conn, Query, query};
use crate::records::{CASE_COLUMNS, CaseRow, millis, page_of, search_offset};
use crate::{SEARCH_WINDOW, StoreError};

pub(super) async fn list_cases<C: Conn + ?Sized>(
    dialect: Dialect,
    conn: &mut C,
    filter: &CaseFilter,
) -> Result<Page<Case>, StoreError> {
    let limit = filter.limit.clamp(1, 200);
    let terms = filter.query.as_deref().map(query_terms);
    let ranked = terms.is_some() || filter.sort.by_offset();
    let offset = search_offset(filter, ranked)?;
    let mut sql = query(format!("SELECT {CASE_COLUMNS}, {} ", dialect.case_lists()));
    match &terms {
        Some(terms) if terms.is_empty() => return Ok(Page { items: Vec::new(), next_cursor: None }),
        Some(terms) => {
            // The newest SEARCH_WINDOW matches that pass the filters, walked newest first from
            // the index, then ranked; only the page's rows are read from `cases`.
            let (newest, better) = push_match(dialect, &mut sql, terms);
            push_filters(&mut sql, filter);
            sql.push(&format!(" ORDER BY {newest} DESC LIMIT ")).push_bind(SEARCH_WINDOW);
            sql.push(&format!(") w ORDER BY score {better}, id DESC LIMIT ")).push_bind(i64::from(limit) + 1);
            sql.push(" OFFSET ").push_bind(i64::from(offset));
            sql.push(&format!(") m JOIN cases c ON c.id = m.id ORDER BY m.score {better}, c.id DESC"));
        }
        None => {
            sql.push("FROM cases c WHERE 1 = 1");
            push_filters(&mut sql, filter);
            match filter.sort {
                Sort::Newest => {
                    if let Some(Cursor::Before(id)) = filter.cursor {
                        sql.push(" AND c.id < ").push_bind(id);
                    }
                    sql.push(" ORDER BY c.id DESC");
                }
                // The expression of the index `cases_by_priority`, walked backwards.
                Sort::Priority => {
                    sql.push(
                        " ORDER BY (CASE c.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 \
                         ELSE 0 END) DESC, c.id DESC",
                    );
                }
                // Cases without a running clock (`due_at` at its largest) come last.
                Sort::Due => {
                    sql.push(" ORDER BY c.due_at, c.id");
                }
            }
            sql.push(" LIMIT ").push_bind(i64::from(limit) + 1);
            if filter.sort.by_offset() {
                sql.push(" OFFSET ").push_bind(i64::from(offset));
            }
        }
    }
    let rows: Vec<CaseRow> = sql.fetch_all(conn).await?;
    page_of(rows, limit, offset, ranked)
}

fn push_filters(sql: &mut Query<'_>, filter: &CaseFilter) {
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
        sql.push(" AND c.location = ").push_bind(location);
    }
    if let Some(assignee) = &filter.assignee {
        sql.push(" AND c.assignee = ").push_bind(assignee);
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
        sql.push(" AND NOT c.hidden");
    }
    if let Some(stage) = &filter.stage {
        sql.push(" AND c.stage = ").push_bind(stage);
    }
    if filter.due_from.is_some() || filter.due_to.is_some() {
        sql.push(" AND c.resolved_at IS NULL AND c.due_at < ").push_bind(crate::records::NO_CLOCK);
    }
    if let Some(from) = filter.due_from {
        sql.push(" AND c.due_at >= ").push_bind(millis(from));
    }
    if let Some(to) = filter.due_to {
        sql.push(" AND c.due_at < ").push_bind(millis(to));
    }
    if filter.open_only {
        sql.push(" AND c.status NOT IN ('resolved', 'closed')");
    }
    if filter.pending_compensation {
        sql.push(" AND EXISTS (SELECT 1 FROM compensations p WHERE p.case_id = c.id AND p.status = 'pending')");
    }
}

/// Starts the full-text part of a search, `FROM (SELECT id, score FROM (SELECT … WHERE <match>`,
/// to be followed by the filters; answers the column to walk the matches newest first by, and
/// the order in which a better match sorts.
fn push_match(dialect: Dialect, sql: &mut Query<'_>, terms: &[Vec<String>]) -> (&'static str, &'static str) {
    match dialect {
        // bm25 exists only in the query that matches, so the score is computed there, for the
        // window's rows only (the index is walked newest first); lower is better.
        Dialect::Sqlite => {
            sql.push(
                "FROM (SELECT id, score FROM (SELECT s.rowid AS id, bm25(case_search) AS score \
                 FROM case_search s CROSS JOIN cases c ON c.id = s.rowid WHERE case_search MATCH ",
            );
            sql.push_bind(fts5_expression(terms));
            ("s.rowid", "ASC")
        }
        // ts_rank is computed outside the window, for the window's rows only; higher is better.
        Dialect::Postgres => {
            let expression = tsquery_expression(terms);
            sql.push("FROM (SELECT id, ts_rank(document, to_tsquery('simple', ");
            sql.push_bind(expression.clone());
            sql.push(
                ")) AS score FROM (SELECT c.id, s.document FROM case_search s JOIN cases c ON c.id = s.case_id \
                 WHERE s.document @@ to_tsquery('simple', ",
            );
            sql.push_bind(expression);
            sql.push(")");
            ("c.id", "DESC")
        }
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

/// A tsquery that needs every word, each under any of its stems: `(a | b) & c`. Stems are
/// letters and digits only, so they need no quoting.
fn tsquery_expression(terms: &[Vec<String>]) -> String {
    let words: Vec<String> = terms.iter().map(|stems| format!("({})", stems.join(" | "))).collect();
    words.join(" & ")
}
