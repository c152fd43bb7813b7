//! Trains the shipped models from the training part of the project's corpus and writes them to
//! `models/shipped.otkm`, the file `Triage::shipped()` embeds. Run it after changing the corpus
//! or the features: `cargo run --release -p otklik-triage --example train_shipped`
//! (a test fails while the committed file is stale).

use std::path::Path;

use otklik_triage::{save_models, train_shipped_models};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = train_shipped_models()?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/shipped.otkm");
    save_models(&models.iter().collect::<Vec<_>>(), &path)?;
    let size = std::fs::metadata(&path)?.len();
    println!("wrote {} ({} KiB)", path.display(), size / 1024);
    Ok(())
}
