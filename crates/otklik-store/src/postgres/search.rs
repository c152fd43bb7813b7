//! Listing and full-text search on PostgreSQL: a GIN-indexed tsvector over the stemmed terms,
//! ranked by ts_rank, with the same filters and cursors as the SQLite store.

use otklik_core::{Case, CaseFilter, Cursor, Page};
use sqlx::{PgPool, Postgres, QueryBuilder};

use otklik_core::text::query_terms;

use crate::records::{CASE_COLUMNS, CaseRow, millis, page_of, search_offset};
use crate::{SEARCH_WINDOW, StoreError};

pub(super) async fn list_cases(pool: &PgPool, filter: &CaseFilter) -> Result<Page<Case>, StoreError> {
    let limit = filter.limit.clamp(1, 200);
    let terms = filter.query.as_deref().map(query_terms);
    let offset = search_offset(filter, terms.is_some())?;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {CASE_COLUMNS}, (SELECT string_agg(tag, ',') FROM case_tags t WHERE t.case_id = c.id) AS tags "
    ));
    match &terms {
        Some(terms) if terms.is_empty() => return Ok(Page { items: Vec::new(), next_cursor: None }),
        Some(terms) => {
            // The newest SEARCH_WINDOW matches that pass the filters, ranked; the same window as
            // on SQLite, so both backends return the same cases.
            let expression = tsquery_expression(terms);
            sql.push("FROM (SELECT w.id, ts_rank(w.document, to_tsquery('simple', ");
            sql.push_bind(expression.clone());
            sql.push(
                ")) AS score FROM (SELECT c.id, s.document FROM case_search s JOIN cases c ON c.id = s.case_id \
                 WHERE s.document @@ to_tsquery('simple', ",
            );
            sql.push_bind(expression);
            sql.push(")");
            push_filters(&mut sql, filter);
            sql.push(" ORDER BY c.id DESC LIMIT ").push_bind(SEARCH_WINDOW);
            sql.push(") w ORDER BY score DESC, w.id DESC LIMIT ").push_bind(i64::from(limit) + 1);
            sql.push(" OFFSET ").push_bind(i64::from(offset));
            sql.push(") m JOIN cases c ON c.id = m.id ORDER BY m.score DESC, c.id DESC");
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

fn push_filters(sql: &mut QueryBuilder<Postgres>, filter: &CaseFilter) {
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
        sql.push(" AND NOT c.hidden");
    }
}

/// A tsquery that needs every word, each under any of its stems: `(a | b) & c`. Stems are
/// letters and digits only, so they need no quoting.
fn tsquery_expression(terms: &[Vec<String>]) -> String {
    let words: Vec<String> = terms.iter().map(|stems| format!("({})", stems.join(" | "))).collect();
    words.join(" & ")
}
