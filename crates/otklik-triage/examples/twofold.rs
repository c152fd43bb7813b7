//! The two-fold experiment on a labelled sentiment file (`text,label`): split its rows in two
//! halves by a hash of the text, train on one half and evaluate on the other, both ways, and
//! set the result beside the shipped model's on the whole file. The file is read at run time and
//! nothing from it is kept:
//! `cargo run --release -p otklik-triage --example twofold -- ../shared/data/FILE.csv`.

use std::path::PathBuf;

use otklik_triage::{Evaluation, Task, Triage, evaluate, evaluate_model, read_labelled_csv, train};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: twofold FILE.csv (text,label rows of negative/neutral/positive)")?
        .into();
    let rows = read_labelled_csv(&path, Task::Sentiment)?;
    let (first, second): (Vec<_>, Vec<_>) = rows.iter().cloned().partition(|(text, _)| fnv1a(text).is_multiple_of(2));
    println!("{}: {} rows, halves of {} and {}\n", path.display(), rows.len(), first.len(), second.len());

    let shipped = evaluate(&Triage::shipped(), Task::Sentiment, &rows)?;
    println!("== shipped model (trained on the project corpus only), whole file\n{shipped}");

    let first_on_second = evaluate_model(&train(Task::Sentiment, &first)?, &second)?;
    println!("== trained on half A, evaluated on half B\n{first_on_second}");
    let second_on_first = evaluate_model(&train(Task::Sentiment, &second)?, &first)?;
    println!("== trained on half B, evaluated on half A\n{second_on_first}");

    let f_macro = |evaluation: &Evaluation| evaluation.sentirueval_f_macro().unwrap_or_default();
    println!(
        "two-fold mean: F-macro {:.3}, macro-F1 {:.3}, accuracy {:.3}",
        (f_macro(&first_on_second) + f_macro(&second_on_first)) / 2.0,
        (first_on_second.macro_f1() + second_on_first.macro_f1()) / 2.0,
        (first_on_second.accuracy() + second_on_first.accuracy()) / 2.0,
    );
    Ok(())
}

/// FNV-1a of the text: a split that depends on the rows alone, not on their order or a seed.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}
