//! The triage model the server classifies new feedback with: the trained model in `model_file`
//! when there is one, the shipped model otherwise. A watcher reloads the file when it changes, so
//! `otklik model train` takes effect without a restart; a file that fails to load is logged and
//! the model in use stays.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use otklik_triage::Triage;

/// How often the model file is looked at.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The model in use and the file it may be replaced from.
pub struct TriageModel {
    path: PathBuf,
    current: RwLock<Loaded>,
}

struct Loaded {
    triage: Arc<Triage>,
    /// The modification time of the file the model came from; none for the shipped model.
    modified: Option<SystemTime>,
}

impl TriageModel {
    /// The model from `path` if it exists and loads, else the shipped one.
    pub fn open(path: PathBuf) -> TriageModel {
        let model =
            TriageModel { path, current: RwLock::new(Loaded { triage: Arc::new(Triage::shipped()), modified: None }) };
        model.reload_if_changed();
        model
    }

    /// The model to classify with now.
    pub fn current(&self) -> Arc<Triage> {
        match self.current.read() {
            Ok(loaded) => loaded.triage.clone(),
            Err(poisoned) => poisoned.into_inner().triage.clone(),
        }
    }

    /// Loads the file again when its modification time changed; true when a new model is in use.
    pub fn reload_if_changed(&self) -> bool {
        let Ok(modified) = std::fs::metadata(&self.path).and_then(|meta| meta.modified()) else {
            return false;
        };
        let known = self.current.read().ok().and_then(|loaded| loaded.modified);
        if known == Some(modified) {
            return false;
        }
        match Triage::load(&self.path) {
            Ok(triage) => {
                if let Ok(mut loaded) = self.current.write() {
                    *loaded = Loaded { triage: Arc::new(triage), modified: Some(modified) };
                }
                tracing::info!(path = %self.path.display(), "triage model loaded");
                true
            }
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot load the triage model; keeping the one in use");
                if let Ok(mut loaded) = self.current.write() {
                    loaded.modified = Some(modified);
                }
                false
            }
        }
    }

    /// Watches the file in the background for as long as the model is in use.
    pub fn watch(self: &Arc<Self>) {
        let model = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(WATCH_EVERY);
            loop {
                ticks.tick().await;
                let Some(model) = model.upgrade() else { break };
                let _ = tokio::task::spawn_blocking(move || model.reload_if_changed()).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use otklik_triage::{Task, train};

    use super::*;

    fn rows() -> Vec<(String, String)> {
        [
            ("the courier was late again", "complaint"),
            ("could you add a dark mode", "idea"),
            ("what time do you open", "question"),
            ("great service, thank you", "praise"),
            ("my friend needs this too", "referral"),
        ]
        .into_iter()
        .map(|(text, label)| (text.to_owned(), label.to_owned()))
        .collect()
    }

    fn touch(path: &std::path::Path, seconds: u64) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)).unwrap();
    }

    #[test]
    fn a_new_model_file_replaces_the_model_in_use_and_a_broken_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("triage-model.otkm");
        let model = TriageModel::open(path.clone());
        let shipped = model.current().model(Task::Kind).fingerprint();
        assert!(!model.reload_if_changed(), "no file: the shipped model stays");

        let trained = train(Task::Kind, &rows()).unwrap();
        trained.save(&path).unwrap();
        touch(&path, 1_000);
        assert!(model.reload_if_changed());
        assert_eq!(model.current().model(Task::Kind).fingerprint(), trained.fingerprint());
        assert_ne!(trained.fingerprint(), shipped);
        assert!(!model.reload_if_changed(), "an unchanged file is not loaded again");

        std::fs::write(&path, b"not a model").unwrap();
        touch(&path, 2_000);
        assert!(!model.reload_if_changed());
        assert_eq!(model.current().model(Task::Kind).fingerprint(), trained.fingerprint());
    }
}
