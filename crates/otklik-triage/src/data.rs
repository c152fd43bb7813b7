//! Reads labelled rows for training and evaluation from CSV files: a `text` column and either a
//! `label` column or a column named after the task (as in the project's corpus files). Every
//! label is checked against the task, and a bad one is reported with its file and line.

use std::path::Path;

use crate::TriageError;
use crate::model::Task;

/// Reads `(text, label)` rows for `task` from a CSV file with a header. The label comes from the
/// `label` column, where it is required, or else from the column named after the task, where an
/// empty cell means the row says nothing about this task and is skipped.
pub fn read_labelled_csv(path: &Path, task: Task) -> Result<Vec<(String, String)>, TriageError> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(false).from_path(path).map_err(|error| csv_error(path, &error))?;
    let headers = reader.headers().map_err(|error| csv_error(path, &error))?.clone();
    let column = |name: &str| headers.iter().position(|header| header.trim() == name);
    let text_column = column("text").ok_or_else(|| TriageError::Csv {
        path: path.to_owned(),
        line: 1,
        reason: "the header has no `text` column".to_owned(),
    })?;
    let (label_column, label_required) = match (column("label"), column(task.as_str())) {
        (Some(label), _) => (label, true),
        (None, Some(named)) => (named, false),
        (None, None) => {
            return Err(TriageError::Csv {
                path: path.to_owned(),
                line: 1,
                reason: format!("the header has neither a `label` nor a `{task}` column"),
            });
        }
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(path, &error))?;
        let line = record.position().map_or(0, |position| position.line());
        let text = record.get(text_column).unwrap_or_default().trim();
        let label = record.get(label_column).unwrap_or_default().trim();
        if label.is_empty() && !label_required {
            continue;
        }
        if task.label_index(label).is_none() {
            return Err(TriageError::UnknownLabel {
                task,
                label: label.to_owned(),
                place: format!("{} line {line}", path.display()),
            });
        }
        if text.is_empty() {
            return Err(TriageError::Csv { path: path.to_owned(), line, reason: "empty text".to_owned() });
        }
        rows.push((text.to_owned(), label.to_owned()));
    }
    Ok(rows)
}

fn csv_error(path: &Path, error: &csv::Error) -> TriageError {
    let line = error.position().map_or(0, |position| position.line());
    TriageError::Csv { path: path.to_owned(), line, reason: error.to_string() }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn file(contents: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
        file.write_all(contents.as_bytes()).expect("written");
        file
    }

    #[test]
    fn reads_text_and_label_with_quoted_commas() {
        let data = file("text,label\n\"Привет, где заказ?\",question\nспасибо,praise\n");
        let rows = read_labelled_csv(data.path(), Task::Kind).expect("valid rows");
        assert_eq!(
            rows,
            [("Привет, где заказ?".to_owned(), "question".to_owned()), ("спасибо".to_owned(), "praise".to_owned())]
        );
    }

    #[test]
    fn an_unknown_label_names_the_file_and_line() {
        let data = file("text,label\nok,praise\nhmm,angry\n");
        let error = read_labelled_csv(data.path(), Task::Kind).expect_err("angry is no kind");
        let message = error.to_string();
        assert!(message.contains("`angry`"), "{message}");
        assert!(message.contains(&format!("{} line 3", data.path().display())), "{message}");
    }

    #[test]
    fn a_corpus_file_is_read_by_the_tasks_column_skipping_empty_cells() {
        let data = file("text,kind,sentiment,audience\nугу,praise,positive,\nнет,complaint,negative,troll\n");
        let rows = read_labelled_csv(data.path(), Task::Audience).expect("valid rows");
        assert_eq!(rows, [("нет".to_owned(), "troll".to_owned())]);
    }

    #[test]
    fn a_file_without_a_label_column_is_refused() {
        let data = file("text,mood\nok,fine\n");
        let error = read_labelled_csv(data.path(), Task::Sentiment).expect_err("no label column");
        assert!(error.to_string().contains("neither a `label` nor a `sentiment` column"));
    }
}
