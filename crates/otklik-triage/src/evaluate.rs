//! Scores a model against labelled rows: accuracy, per-class precision, recall and F1, macro-F1
//! over all classes, the confusion matrix and, for sentiment, the F-macro of the SentiRuEval-2016
//! shared task (the mean F1 of the positive and the negative class). Reads no files itself.

use std::fmt;

use crate::model::{Model, Task};
use crate::{Triage, TriageError};

/// The outcome of evaluating one task on labelled rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    task: Task,
    /// `confusion[gold][predicted]`, indexed like `task.labels()`.
    confusion: Vec<Vec<u64>>,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many rows carry this label.
    pub support: u64,
}

/// Evaluates the triage model's head for `task` on `(text, label)` rows. The kind is scored on
/// the model's best guess, before the confidence threshold that leaves a case unclassified.
pub fn evaluate(triage: &Triage, task: Task, rows: &[(String, String)]) -> Result<Evaluation, TriageError> {
    evaluate_model(triage.model(task), rows)
}

/// Evaluates one model on `(text, label)` rows.
pub fn evaluate_model(model: &Model, rows: &[(String, String)]) -> Result<Evaluation, TriageError> {
    let task = model.task();
    let mut evaluation = Evaluation::empty(task);
    for (text, label) in rows {
        let gold = task.label_index(label).ok_or_else(|| TriageError::UnknownLabel {
            task,
            label: label.clone(),
            place: "an evaluation row".to_owned(),
        })?;
        evaluation.confusion[gold][model.predict(text).label] += 1;
    }
    Ok(evaluation)
}

impl Evaluation {
    fn empty(task: Task) -> Evaluation {
        let size = task.labels().len();
        Evaluation { task, confusion: vec![vec![0; size]; size] }
    }

    /// Builds an evaluation from a confusion matrix (`confusion[gold][predicted]`, indexed like
    /// `task.labels()`); `None` if the matrix has the wrong shape.
    pub fn from_confusion(task: Task, confusion: Vec<Vec<u64>>) -> Option<Evaluation> {
        let size = task.labels().len();
        let square = confusion.len() == size && confusion.iter().all(|row| row.len() == size);
        square.then_some(Evaluation { task, confusion })
    }

    /// The task evaluated.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The number of rows evaluated.
    pub fn total(&self) -> u64 {
        self.confusion.iter().flatten().sum()
    }

    /// The share of rows whose predicted label is the gold one.
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.confusion.len()).map(|i| self.confusion[i][i]).sum();
        ratio(correct, self.total())
    }

    /// Precision, recall and F1 of the class at `index` in `task.labels()`; a score with a zero
    /// denominator counts as zero.
    pub fn class_scores(&self, index: usize) -> ClassScores {
        let true_positives = self.confusion[index][index];
        let support: u64 = self.confusion[index].iter().sum();
        let predicted: u64 = self.confusion.iter().map(|row| row[index]).sum();
        let precision = ratio(true_positives, predicted);
        let recall = ratio(true_positives, support);
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        ClassScores { precision, recall, f1, support }
    }

    /// The unweighted mean of every class's F1.
    pub fn macro_f1(&self) -> f64 {
        let size = self.confusion.len();
        (0..size).map(|i| self.class_scores(i).f1).sum::<f64>() / size as f64
    }

    /// SentiRuEval-2016's F-macro: the mean F1 of the positive and the negative class (neutral
    /// is left out). `None` for tasks other than sentiment.
    pub fn sentirueval_f_macro(&self) -> Option<f64> {
        let negative = self.task.label_index("negative")?;
        let positive = self.task.label_index("positive")?;
        Some((self.class_scores(negative).f1 + self.class_scores(positive).f1) / 2.0)
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels = self.task.labels();
        writeln!(f, "task: {}   rows: {}", self.task, self.total())?;
        writeln!(f, "accuracy: {:.3}", self.accuracy())?;
        writeln!(f, "macro-F1 (all classes): {:.3}", self.macro_f1())?;
        if let Some(f_macro) = self.sentirueval_f_macro() {
            writeln!(f, "F-macro (SentiRuEval-2016, positive and negative): {f_macro:.3}")?;
        }
        writeln!(f)?;
        writeln!(f, "{:<14}{:>10}{:>10}{:>10}{:>10}", "class", "precision", "recall", "F1", "rows")?;
        for (index, label) in labels.iter().enumerate() {
            let scores = self.class_scores(index);
            writeln!(
                f,
                "{label:<14}{:>10.3}{:>10.3}{:>10.3}{:>10}",
                scores.precision, scores.recall, scores.f1, scores.support
            )?;
        }
        writeln!(f)?;
        writeln!(f, "confusion (rows: gold, columns: predicted)")?;
        write!(f, "{:<14}", "")?;
        for label in labels {
            write!(f, "{label:>14}")?;
        }
        writeln!(f)?;
        for (label, row) in labels.iter().zip(&self.confusion) {
            write!(f, "{label:<14}")?;
            for count in row {
                write!(f, "{count:>14}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gold negative/neutral/positive rows against predictions:
    /// negative: 6 right, 2 as neutral, 2 as positive (10 rows);
    /// neutral: 1 as negative, 3 right, 1 as positive (5 rows);
    /// positive: 0, 1 as neutral, 4 right (5 rows).
    fn sentiment() -> Evaluation {
        Evaluation::from_confusion(Task::Sentiment, vec![vec![6, 2, 2], vec![1, 3, 1], vec![0, 1, 4]])
            .expect("a 3×3 matrix")
    }

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    #[test]
    fn accuracy_counts_the_diagonal() {
        close(sentiment().accuracy(), 13.0 / 20.0);
    }

    #[test]
    fn class_scores_match_hand_computation() {
        let negative = sentiment().class_scores(0);
        close(negative.precision, 6.0 / 7.0);
        close(negative.recall, 6.0 / 10.0);
        close(negative.f1, 2.0 * (6.0 / 7.0) * 0.6 / (6.0 / 7.0 + 0.6));
        assert_eq!(negative.support, 10);
        let positive = sentiment().class_scores(2);
        close(positive.precision, 4.0 / 7.0);
        close(positive.recall, 4.0 / 5.0);
    }

    #[test]
    fn macro_f1_and_f_macro_match_hand_computation() {
        // F1: negative 12/17, neutral 6/11 (P 3/6, R 3/5), positive 2/3.
        let negative = 12.0 / 17.0;
        let neutral = 6.0 / 11.0;
        let positive = 2.0 / 3.0;
        let evaluation = sentiment();
        close(evaluation.class_scores(1).f1, neutral);
        close(evaluation.macro_f1(), (negative + neutral + positive) / 3.0);
        close(evaluation.sentirueval_f_macro().expect("sentiment"), (negative + positive) / 2.0);
    }

    #[test]
    fn a_class_never_predicted_scores_zero_not_nan() {
        let evaluation = Evaluation::from_confusion(Task::Cause, vec![vec![2, 0, 0], vec![1, 0, 0], vec![0, 0, 1]])
            .expect("a 3×3 matrix");
        assert_eq!(evaluation.class_scores(1).f1, 0.0);
        assert_eq!(evaluation.sentirueval_f_macro(), None);
    }

    #[test]
    fn display_shows_every_figure() {
        let printed = sentiment().to_string();
        for expected in ["accuracy: 0.650", "macro-F1", "F-macro", "confusion", "positive"] {
            assert!(printed.contains(expected), "{expected} missing from\n{printed}");
        }
    }

    #[test]
    fn wrong_shape_is_refused() {
        assert_eq!(Evaluation::from_confusion(Task::Kind, vec![vec![1, 2], vec![3, 4]]), None);
    }
}
