//! Five-fold cross-validation on the training part of the project's corpus, the measure that
//! chose the feature families and their weights (never the held-out fifth, never
//! `../shared/data`): each fold (by a hash of the text) is predicted by a model trained, with
//! `train`'s own inner cross-validation, on the other four.
//! `cargo run --release -p otklik-triage --example crossval [kind|sentiment] [--errors]`
//! (`--errors` prints each wrongly predicted row with the model's confidence, to review the
//! corpus's labels and its thin spots).

use std::time::Instant;

use otklik_triage::{Evaluation, Split, Task, corpus_rows, train};

const FOLDS: u64 = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let show_errors = arguments.iter().any(|argument| argument == "--errors");
    let only = arguments.iter().find(|argument| !argument.starts_with("--"));
    for task in [Task::Kind, Task::Sentiment].into_iter().filter(|task| only.is_none_or(|only| only == task.as_str())) {
        let rows = corpus_rows(task, Split::Train)?;
        let size = task.labels().len();
        let mut confusion = vec![vec![0u64; size]; size];
        for fold in 0..FOLDS {
            // Another bit range of the hash than `train`'s inner folds use.
            let (test, training): (Vec<_>, Vec<_>) =
                rows.iter().cloned().partition(|(text, _)| (fnv1a(text) >> 7) % FOLDS == fold);
            let model = train(task, &training)?;
            for (text, label) in &test {
                let gold = task.label_index(label).ok_or("a corpus label outside the task")?;
                let prediction = model.predict(text);
                if show_errors && prediction.label != gold {
                    let predicted = task.labels()[prediction.label];
                    println!("{:.2}\t{label} → {predicted}\t{text}", prediction.confidence);
                }
                confusion[gold][prediction.label] += 1;
            }
        }
        let evaluation = Evaluation::from_confusion(task, confusion).ok_or("a square confusion matrix")?;
        println!(
            "{task}: {} training rows, five-fold macro-F1 {:.3}, accuracy {:.3} ({:.0} s)",
            rows.len(),
            evaluation.macro_f1(),
            evaluation.accuracy(),
            started.elapsed().as_secs_f32()
        );
    }
    Ok(())
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}
