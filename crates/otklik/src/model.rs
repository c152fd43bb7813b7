//! `otklik model eval|train`: evaluate the triage model Otklik ships (or a trained one) on
//! labelled rows, and train new models from files or from the cases agents corrected. A server
//! whose `model_file` is the `--out` path picks the new model up without a restart.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use otklik_server::Config;
use otklik_triage::{Split, Task, Triage, corpus_rows, evaluate, read_labelled_csv, save_models, train};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Print accuracy, macro-F1, per-class scores and the confusion matrix (and, for
    /// sentiment, the SentiRuEval-2016 F-macro) on `text,label` rows.
    Eval {
        #[arg(long)]
        task: Task,
        #[arg(long, required_unless_present = "held_out")]
        data: Vec<PathBuf>,
        /// Add the held-out fifth of the project's own corpus (never trained on) to the data.
        #[arg(long)]
        held_out: bool,
        /// A model file from `otklik model train`; the shipped model when absent.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Train a model from `text,label` files, or from the cases whose kind, sentiment and cause agents
    /// corrected (`--from-cases`, which trains kind, sentiment and cause).
    Train {
        #[arg(long, required_unless_present = "from_cases")]
        task: Option<Task>,
        #[arg(long, required_unless_present = "from_cases")]
        data: Vec<PathBuf>,
        #[arg(long, conflicts_with_all = ["task", "data"])]
        from_cases: bool,
        /// Where to write the model; with `--from-cases`, the configured `model_file` by default.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub async fn run(command: ModelCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        ModelCommand::Eval { task, data, held_out, model } => {
            let mut rows = if held_out { corpus_rows(task, Split::HeldOut)? } else { Vec::new() };
            let mut sources: Vec<String> = data.iter().map(|path| path.display().to_string()).collect();
            if held_out {
                sources.push("the corpus's held-out fifth".to_owned());
            }
            for path in &data {
                rows.extend(read_labelled_csv(path, task)?);
            }
            let triage = match &model {
                Some(path) => Triage::load(path)?,
                None => Triage::shipped(),
            };
            println!("data: {} ({} rows); model: {}", sources.join(" + "), rows.len(), model_name(&model));
            print!("{}", evaluate(&triage, task, &rows)?);
            Ok(())
        }
        ModelCommand::Train { task: Some(task), data, from_cases: false, out } => {
            let out = out.context("--out PATH is required when training from files")?;
            let mut rows = Vec::new();
            for path in &data {
                rows.extend(read_labelled_csv(path, task)?);
            }
            train(task, &rows)?.save(&out)?;
            println!("trained {task} on {} rows; saved to {}", rows.len(), out.display());
            Ok(())
        }
        ModelCommand::Train { from_cases: true, out, .. } => {
            let out = out.unwrap_or_else(|| config.model_file());
            let store = crate::open_store(config).await?;
            let mut models = Vec::new();
            for task in [Task::Kind, Task::Sentiment, Task::Cause] {
                let corrected = store.corrected_labels(task.as_str()).await?;
                if corrected.is_empty() {
                    println!("no cases with a corrected {task} yet; the shipped {task} model stays");
                    continue;
                }
                // The agents' corrections join the corpus the shipped model learned from, so a
                // handful of cases adds to what the model knows instead of replacing it.
                let mut rows = corpus_rows(task, Split::Train)?;
                println!("training {task} on {} corpus rows and {} corrected cases", rows.len(), corrected.len());
                rows.extend(corrected);
                models.push(train(task, &rows)?);
            }
            anyhow::ensure!(!models.is_empty(), "no corrected cases to learn from");
            save_models(&models.iter().collect::<Vec<_>>(), &out)?;
            println!("saved to {}", out.display());
            Ok(())
        }
        ModelCommand::Train { .. } => anyhow::bail!("give --task and --data, or --from-cases"),
    }
}

fn model_name(model: &Option<PathBuf>) -> String {
    model.as_ref().map_or_else(|| "shipped".to_owned(), |path| path.display().to_string())
}
