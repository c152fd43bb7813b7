//! A stand-in for `otklik model eval|train` until the `otklik` binary wires them in, calling the
//! same library functions:
//! `cargo run --release -p otklik-triage --example model -- eval --task kind --held-out`
//! `cargo run --release -p otklik-triage --example model -- eval --task sentiment --data F.csv [--model PATH]`
//! `cargo run --release -p otklik-triage --example model -- train --task sentiment --data F.csv --out PATH`
//! `--held-out` takes the held-out fifth of the project's corpus as the data.

use std::path::PathBuf;

use otklik_triage::{Split, Task, Triage, corpus_rows, evaluate, read_labelled_csv, train};

const USAGE: &str = "usage: model eval|train --task kind|sentiment|audience|cause \
                     (--data FILE.csv ... | --held-out) [--model PATH] [--out PATH]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let command = arguments.next().ok_or(USAGE)?;
    let (mut task, mut data, mut held_out, mut model, mut out) = (None, Vec::new(), false, None, None);
    while let Some(flag) = arguments.next() {
        let mut value = || arguments.next().ok_or(USAGE);
        match flag.as_str() {
            "--task" => task = Some(value()?.parse::<Task>()?),
            "--data" => data.push(PathBuf::from(value()?)),
            "--model" => model = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--held-out" => held_out = true,
            _ => return Err(USAGE.into()),
        }
    }
    let task = task.ok_or(USAGE)?;
    let mut rows = if held_out { corpus_rows(task, Split::HeldOut)? } else { Vec::new() };
    for path in &data {
        rows.extend(read_labelled_csv(path, task)?);
    }
    match command.as_str() {
        "eval" => {
            let triage = match &model {
                Some(path) => Triage::load(path)?,
                None => Triage::shipped(),
            };
            print!("{}", evaluate(&triage, task, &rows)?);
        }
        "train" => {
            let out = out.ok_or(USAGE)?;
            train(task, &rows)?.save(&out)?;
            println!("trained {task} on {} rows, saved to {}", rows.len(), out.display());
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
