//! One linear classifier per task over the hashed features: L2-regularised logistic regression,
//! one-vs-rest (the "linear model over n-grams" family that won the linear track of
//! SentiRuEval-2016), trained by `learner` (LIBLINEAR's method, in Rust), then kept as a plain
//! weight table so prediction is a sparse dot product. Also the model file format.
//!
//! Model file (little-endian): magic `OTKLIKTM`, format version, feature version, hash bits, the
//! number of models, then per model its task word, a fingerprint of its training rows, its class
//! words, one bias per class and the non-zero weight rows as (bucket, one weight per class).

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use crate::TriageError;
use crate::features::{self, BUCKETS, FEATURE_VERSION, FeatureVector, HASH_BITS};
use crate::language::detect_language;
use crate::learner::{self, Learned};

/// What a model predicts. The command line trains and evaluates `kind` and `sentiment`; the
/// shipped model also has `audience` (of public comments) and `cause` (of complaints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    Kind,
    Sentiment,
    Audience,
    Cause,
}

impl Task {
    /// Every task, in the order the shipped model file stores them.
    pub const ALL: [Task; 4] = [Task::Kind, Task::Sentiment, Task::Audience, Task::Cause];

    /// The task's word, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Kind => "kind",
            Task::Sentiment => "sentiment",
            Task::Audience => "audience",
            Task::Cause => "cause",
        }
    }

    /// The labels a row of this task may carry, in the order the evaluation prints them.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            Task::Kind => &["complaint", "idea", "question", "praise", "referral"],
            Task::Sentiment => &["negative", "neutral", "positive"],
            Task::Audience => &["troll", "misinformed", "dissatisfied", "satisfied"],
            Task::Cause => &["service", "quality", "misunderstanding"],
        }
    }

    /// The index of a label in `labels()`, if it is one of them.
    pub fn label_index(self, label: &str) -> Option<usize> {
        self.labels().iter().position(|known| *known == label)
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Task {
    type Err = TriageError;

    fn from_str(s: &str) -> Result<Task, TriageError> {
        Task::ALL.into_iter().find(|task| task.as_str() == s).ok_or_else(|| TriageError::UnknownTask(s.to_owned()))
    }
}

/// The regularisation trade-offs of the logistic regression (LIBLINEAR's `-c`, over unit-length
/// features) that `train` chooses among by cross-validation on its own rows: a few hundred tweets
/// want more regularisation than a few thousand varied messages.
const COSTS: [f64; 3] = [4.0, 16.0, 64.0];
/// The trade-off used for data too small to cross-validate.
const COST: f64 = 16.0;
/// The learner's stopping tolerance (LIBLINEAR's default for its primal logistic-regression
/// solver).
const TOLERANCE: f64 = 0.01;

/// A trained classifier for one task.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    task: Task,
    /// Indices into `task.labels()` of the classes the model was trained on, in weight order.
    classes: Vec<usize>,
    /// One bias per class.
    biases: Vec<f32>,
    /// One weight per class for each feature bucket the training saw; shared, so a clone of a
    /// model (every `Triage` starts from the shipped one) costs no memory.
    weights: Weights,
    /// A digest of the rows the model was trained on, to tell a stale shipped model.
    fingerprint: u64,
}

/// One prediction: the index of the label in its task's `labels()` and the model's probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub label: usize,
    pub confidence: f32,
}

/// Trains a model for `task` from `(text, label)` rows. Classes are weighted inversely to their
/// frequency, so a rare class (positive tweets, referrals) is not drowned by a frequent one. With
/// enough rows, the regularisation and one bias offset per class are chosen by five-fold
/// cross-validation inside `rows` (see `choose_settings`), never by looking at evaluation data.
pub fn train(task: Task, rows: &[(String, String)]) -> Result<Model, TriageError> {
    let prepared = Prepared::new(task, rows)?;
    let settings = choose_settings(&prepared);
    let everything: Vec<usize> = (0..prepared.labels.len()).collect();
    let mut model = prepared.fit(&everything, settings.cost);
    model.shift_biases(&settings.offsets);
    Ok(model)
}

/// Training rows turned into what the learner reads: label indices and feature vectors.
struct Prepared {
    task: Task,
    labels: Vec<usize>,
    features: Vec<FeatureVector>,
    /// How many rows each of the task's labels has.
    counts: Vec<usize>,
    /// Which of the five cross-validation folds each row falls in (by a hash of its text).
    folds: Vec<usize>,
    fingerprint: u64,
}

impl Prepared {
    fn new(task: Task, rows: &[(String, String)]) -> Result<Prepared, TriageError> {
        let mut labels = Vec::with_capacity(rows.len());
        let mut features = Vec::with_capacity(rows.len());
        let mut folds = Vec::with_capacity(rows.len());
        let mut counts = vec![0usize; task.labels().len()];
        for (text, label) in rows {
            let index = task.label_index(label).ok_or_else(|| TriageError::UnknownLabel {
                task,
                label: label.clone(),
                place: format!("training row `{}`", shorten(text)),
            })?;
            counts[index] += 1;
            labels.push(index);
            features.push(features::extract(text, detect_language(text)));
            // Salted, so the folds cut across the corpus's held-out split (a hash divisible by 5).
            let mut digest = Digest::new();
            digest.write(b"fold ");
            digest.write(text.as_bytes());
            folds.push((digest.finish() % FOLDS as u64) as usize);
        }
        let present = counts.iter().filter(|&&count| count > 0).count();
        if present < 2 {
            return Err(TriageError::Training(format!(
                "{task} needs rows of at least two different labels, got {present}"
            )));
        }
        Ok(Prepared { task, labels, features, counts, folds, fingerprint: fingerprint(task, rows) })
    }

    /// Trains on the rows at `indices` with the given regularisation, each class's rows
    /// weighted inversely to its frequency among them.
    fn fit(&self, indices: &[usize], cost: f64) -> Model {
        let mut counts = vec![0usize; self.task.labels().len()];
        for &i in indices {
            counts[self.labels[i]] += 1;
        }
        let present = counts.iter().filter(|&&count| count > 0).count() as f64;
        let total = indices.len() as f64;
        let class_weights: Vec<f64> =
            counts.iter().map(|&count| if count > 0 { total / (present * count as f64) } else { 1.0 }).collect();
        let labels: Vec<usize> = indices.iter().map(|&i| self.labels[i]).collect();
        let rows: Vec<Vec<(u32, f64)>> = indices
            .iter()
            .map(|&i| self.features[i].entries().map(|(bucket, value)| (bucket, f64::from(value))).collect())
            .collect();
        let learned = learner::train(&learner::Problem {
            rows: &rows,
            labels: &labels,
            class_weights: &class_weights,
            cost,
            tolerance: TOLERANCE,
            dimension: BUCKETS,
        });
        Model::from_learned(self.task, &learned, self.fingerprint)
    }
}

/// The number of cross-validation folds `train` uses to choose its settings.
const FOLDS: usize = 5;
/// Below this many rows of its rarest class, a model is trained with the default settings:
/// cross-validation on a handful of rows would choose by noise.
const MIN_ROWS_TO_TUNE: usize = 10;

/// What cross-validation chose: the regularisation and an offset per label added to its bias.
struct Settings {
    cost: f64,
    offsets: Vec<f32>,
}

/// Chooses the regularisation among `COSTS` and the per-class bias offsets by five-fold
/// cross-validation on the training rows: every row is scored by a model trained on the other
/// four folds, the offsets that maximise macro-F1 over those out-of-fold scores are searched
/// class by class, and the cost with the best macro-F1 wins. The offsets correct the learner's
/// lean towards frequent classes, which the class weights only partly undo on small or skewed
/// data (a few dozen positive tweets among hundreds of neutral ones).
fn choose_settings(prepared: &Prepared) -> Settings {
    let label_count = prepared.task.labels().len();
    let untuned = Settings { cost: COST, offsets: vec![0.0; label_count] };
    let counts = &prepared.counts;
    let rarest = counts.iter().copied().filter(|&count| count > 0).min().unwrap_or(0);
    if rarest < MIN_ROWS_TO_TUNE {
        return untuned;
    }
    let mut best: Option<(f64, Settings)> = None;
    for cost in COSTS {
        let mut scores = vec![vec![f32::NEG_INFINITY; label_count]; prepared.labels.len()];
        for fold in 0..FOLDS {
            let (held, kept): (Vec<usize>, Vec<usize>) =
                (0..prepared.labels.len()).partition(|&i| prepared.folds[i] == fold);
            if held.is_empty() || kept.is_empty() {
                continue;
            }
            let model = prepared.fit(&kept, cost);
            for i in held {
                for (class, score) in model.classes.iter().zip(model.raw_scores(&prepared.features[i])) {
                    scores[i][*class] = score;
                }
            }
        }
        let offsets = best_offsets(&scores, &prepared.labels, counts);
        let quality = macro_f1_with(&scores, &prepared.labels, counts, &offsets);
        if best.as_ref().is_none_or(|(best_quality, _)| quality > *best_quality + 1e-9) {
            best = Some((quality, Settings { cost, offsets }));
        }
    }
    best.map_or(untuned, |(_, settings)| settings)
}

/// Offsets searched one class at a time, a few rounds, on a grid of steps; a step is kept only
/// when it raises macro-F1, so classes the scores already separate keep offset zero.
fn best_offsets(scores: &[Vec<f32>], gold: &[usize], counts: &[usize]) -> Vec<f32> {
    let mut offsets = vec![0.0f32; counts.len()];
    let mut quality = macro_f1_with(scores, gold, counts, &offsets);
    // Steps in order of size, so of two equally good offsets the smaller wins.
    let steps: Vec<f32> = (0..=20).flat_map(|step| [step, -step]).skip(1).map(|step| step as f32 * 0.1).collect();
    for _round in 0..3 {
        let mut improved = false;
        for class in (0..counts.len()).filter(|&class| counts[class] > 0) {
            let start = offsets[class];
            let mut chosen = start;
            for step in &steps {
                offsets[class] = start + step;
                let candidate = macro_f1_with(scores, gold, counts, &offsets);
                if candidate > quality + 1e-9 {
                    quality = candidate;
                    chosen = offsets[class];
                    improved = true;
                }
            }
            offsets[class] = chosen;
        }
        if !improved {
            break;
        }
    }
    offsets
}

/// Macro-F1 (over the classes with rows) of the predictions `scores` plus `offsets` make.
fn macro_f1_with(scores: &[Vec<f32>], gold: &[usize], counts: &[usize], offsets: &[f32]) -> f64 {
    let mut hits = vec![0usize; counts.len()];
    let mut predicted = vec![0usize; counts.len()];
    for (row, &truth) in scores.iter().zip(gold) {
        let mut best = 0;
        for class in 1..row.len() {
            if row[class] + offsets[class] > row[best] + offsets[best] {
                best = class;
            }
        }
        predicted[best] += 1;
        if best == truth {
            hits[best] += 1;
        }
    }
    let present: Vec<usize> = (0..counts.len()).filter(|&class| counts[class] > 0).collect();
    let total: f64 = present
        .iter()
        .map(|&class| {
            let (hit, support, guessed) = (hits[class] as f64, counts[class] as f64, predicted[class] as f64);
            if hit == 0.0 { 0.0 } else { 2.0 * hit / (support + guessed) }
        })
        .sum();
    total / present.len() as f64
}

fn shorten(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() { format!("{short}…") } else { short }
}

/// A digest of the training rows (FNV-1a over task, texts and labels, in order).
pub(crate) fn fingerprint(task: Task, rows: &[(String, String)]) -> u64 {
    let mut digest = Digest::new();
    digest.write(task.as_str().as_bytes());
    for (text, label) in rows {
        digest.write(&[0]);
        digest.write(text.as_bytes());
        digest.write(&[1]);
        digest.write(label.as_bytes());
    }
    digest.finish()
}

/// FNV-1a over bytes: a stable digest for fingerprints and the corpus split, and the hasher of
/// the lexicon's maps (cheaper than SipHash on short keys, and the keys are our own words).
pub(crate) struct Digest(u64);

impl Default for Digest {
    fn default() -> Digest {
        Digest::new()
    }
}

impl std::hash::Hasher for Digest {
    fn write(&mut self, bytes: &[u8]) {
        Digest::write(self, bytes);
    }

    fn finish(&self) -> u64 {
        Digest::finish(self)
    }
}

impl Digest {
    pub(crate) fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

impl Model {
    fn from_learned(task: Task, learned: &Learned, fingerprint: u64) -> Model {
        // The learner's classes are our label indices, in the order of its weight vectors.
        let class_count = learned.classes.len();
        let biases = learned.biases.iter().map(|&bias| bias as f32).collect();
        let mut weights = vec![0.0f32; BUCKETS * class_count];
        for (class, class_weights) in learned.weights.iter().enumerate() {
            for (bucket, &weight) in class_weights.iter().enumerate() {
                weights[bucket * class_count + class] = weight as f32;
            }
        }
        Model {
            task,
            classes: learned.classes.clone(),
            biases,
            weights: Weights::from_dense(&weights, class_count),
            fingerprint,
        }
    }

    /// The task this model predicts.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The labels this model was trained on (a subset of its task's labels).
    pub fn labels(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.classes.iter().map(|&i| self.task.labels()[i])
    }

    /// A digest of the rows the model was trained on: two models with the same fingerprint were
    /// trained on the same data.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Predicts the label of one text.
    pub fn predict(&self, text: &str) -> Prediction {
        let language = detect_language(text);
        self.predict_features(&features::extract(text, language))
    }

    /// Each class's decision value (bias plus the weighted features), in `classes` order.
    fn raw_scores(&self, features: &FeatureVector) -> Vec<f32> {
        let sums = self.weights.sums(features);
        self.decision_values(&sums[..self.classes.len()]).to_vec()
    }

    /// Bias plus the scaled sum, per class.
    fn decision_values(&self, sums: &[f32]) -> [f32; MAX_CLASSES] {
        let mut values = [0.0f32; MAX_CLASSES];
        for ((value, bias), sum) in values.iter_mut().zip(&self.biases).zip(sums) {
            *value = bias + sum * self.weights.scale;
        }
        values
    }

    /// Adds an offset to each class's bias; `offsets` is indexed by the task's labels.
    fn shift_biases(&mut self, offsets: &[f32]) {
        for (bias, class) in self.biases.iter_mut().zip(&self.classes) {
            *bias += offsets[*class];
        }
    }

    /// Predicts from features already extracted, with LIBLINEAR's one-vs-rest probabilities:
    /// each class's logistic output, normalised to sum to one.
    pub(crate) fn predict_features(&self, features: &FeatureVector) -> Prediction {
        let sums = self.weights.sums(features);
        self.predict_sums(&sums[..self.classes.len()])
    }

    /// The prediction from the weighted sums of this model's stored weights over a message's
    /// features, one per class (`Triage` sums every model's at once over its joint table).
    pub(crate) fn predict_sums(&self, sums: &[f32]) -> Prediction {
        let mut scores = self.decision_values(sums);
        let scores = &mut scores[..self.classes.len()];
        let mut total = 0.0;
        for score in scores.iter_mut() {
            *score = 1.0 / (1.0 + (-*score).exp());
            total += *score;
        }
        let mut best = 0;
        for (class, score) in scores.iter().enumerate() {
            if *score > scores[best] {
                best = class;
            }
        }
        let confidence = scores[best] / total;
        Prediction { label: self.classes[best], confidence }
    }

    /// The number of classes, the width of this model's weight rows.
    pub(crate) fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Writes this model alone to a model file.
    pub fn save(&self, path: &Path) -> Result<(), TriageError> {
        save_models(&[self], path)
    }
}

/// The most classes a task has.
pub(crate) const MAX_CLASSES: usize = 8;

/// The weights of a model, one row of one weight per class for every feature bucket, each
/// weight a 16-bit fraction of the model's largest: a quarter of the memory of f32 rows (the four
/// shipped models take 8 MB) and one memory read per feature, with predictions that agree with
/// the full-precision weights (the largest rounding error is 1/65534 of the largest weight).
/// The rows live in a shared table, either the model's own or a joint one where every bucket's
/// row holds the weights of several models side by side (`JointWeights`): then one memory read
/// per feature serves them all.
#[derive(Clone)]
struct Weights {
    /// What one step of a stored weight is worth.
    scale: f32,
    table: Arc<[i16]>,
    /// Where this model's weights start in each row of `table`, how many there are (one per
    /// class), and the length of a row.
    offset: usize,
    width: usize,
    stride: usize,
}

impl PartialEq for Weights {
    fn eq(&self, other: &Weights) -> bool {
        // The scale comes back from a file within a rounding step of what was written.
        self.width == other.width
            && (0..BUCKETS).all(|bucket| self.row(bucket) == other.row(bucket))
            && (self.scale - other.scale).abs() <= self.scale.abs() * 4.0 * f32::EPSILON
    }
}

impl fmt::Debug for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stored = (0..BUCKETS).filter(|&bucket| self.row(bucket).iter().any(|w| *w != 0)).count();
        f.debug_struct("Weights")
            .field("scale", &self.scale)
            .field("classes", &self.width)
            .field("buckets_with_weights", &stored)
            .field("offset", &self.offset)
            .field("stride", &self.stride)
            .finish()
    }
}

impl Weights {
    fn from_rows<'a>(rows: impl Iterator<Item = (usize, &'a [f32])> + Clone, class_count: usize) -> Weights {
        let mut table = zeroed_table(BUCKETS * class_count);
        let rows_out = Arc::get_mut(&mut table).expect("a table nobody else holds yet");
        let scale = quantize(rows, class_count, rows_out, 0, class_count);
        Weights { scale, table, offset: 0, width: class_count, stride: class_count }
    }

    fn from_dense(dense: &[f32], class_count: usize) -> Weights {
        Weights::from_rows(dense.chunks_exact(class_count).enumerate(), class_count)
    }

    /// The sums of this model's weights over the features, one per class.
    fn sums(&self, features: &FeatureVector) -> [f32; JOINT_CLASSES] {
        weighted_sums(&self.table, self.stride, self.offset, self.width, features)
    }

    /// The weights of one bucket, one per class.
    fn row(&self, bucket: usize) -> &[i16] {
        &self.table[bucket * self.stride + self.offset..][..self.width]
    }
}

/// Several models' weights in one table, every bucket's row holding each model's weights side
/// by side, so a message's features are read once for all of them.
#[derive(Clone)]
pub(crate) struct JointWeights {
    table: Arc<[i16]>,
    stride: usize,
}

impl fmt::Debug for JointWeights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JointWeights").field("stride", &self.stride).finish_non_exhaustive()
    }
}

impl JointWeights {
    /// Moves the models' weights into one joint table (their own tables are dropped, so the
    /// memory stays that of the models alone) and points each model at its part of it.
    pub(crate) fn join(models: &mut [&mut Model]) -> JointWeights {
        let stride: usize = models.iter().map(|model| model.class_count()).sum();
        assert!(stride <= JOINT_CLASSES, "{stride} classes do not fit a joint row");
        // Models read from one file already share a table laid out in this order.
        let mut offset = 0;
        let laid_out = models.iter().all(|model| {
            let weights = &model.weights;
            let fits = weights.stride == stride
                && weights.offset == offset
                && Arc::ptr_eq(&weights.table, &models[0].weights.table);
            offset += model.class_count();
            fits
        });
        if laid_out {
            return JointWeights { table: Arc::clone(&models[0].weights.table), stride };
        }
        let mut table = zeroed_table(BUCKETS * stride);
        let rows = Arc::get_mut(&mut table).expect("a table nobody else holds yet");
        let mut offset = 0;
        for model in models.iter() {
            let class_count = model.class_count();
            for bucket in 0..BUCKETS {
                rows[bucket * stride + offset..][..class_count].copy_from_slice(model.weights.row(bucket));
            }
            offset += class_count;
        }
        let mut offset = 0;
        for model in models.iter_mut() {
            model.weights.table = Arc::clone(&table);
            model.weights.offset = offset;
            model.weights.stride = stride;
            offset += model.class_count();
        }
        JointWeights { table, stride }
    }

    /// The sums of every joined model's weights over the features, in the order the models
    /// were joined (each model's `class_count` of them).
    pub(crate) fn sums(&self, features: &FeatureVector) -> [f32; JOINT_CLASSES] {
        weighted_sums(&self.table, self.stride, 0, self.stride, features)
    }
}

/// For each of the `width` weights from `offset` in a row of `table` (rows of `stride`), the sum
/// over the features of feature value × stored weight: one memory read per feature.
fn weighted_sums(
    table: &[i16],
    stride: usize,
    offset: usize,
    width: usize,
    features: &FeatureVector,
) -> [f32; JOINT_CLASSES] {
    let mut sums = [0.0f32; JOINT_CLASSES];
    for (bucket, value) in features.entries() {
        let row = &table[bucket as usize * stride + offset..][..width];
        for (sum, weight) in sums.iter_mut().zip(row) {
            *sum += value * f32::from(*weight);
        }
    }
    sums
}

/// The most classes models joined in one table may have together.
pub(crate) const JOINT_CLASSES: usize = 16;

const MAGIC: &[u8; 8] = b"OTKLIKTM";
const FORMAT_VERSION: u32 = 1;

/// Writes models to one file, one per task. The file is written beside the target and renamed
/// over it, so a server watching the path never reads half a model.
pub fn save_models(models: &[&Model], path: &Path) -> Result<(), TriageError> {
    let mut bytes = Vec::new();
    write_models(models, &mut bytes);
    let io_error = |source| TriageError::Io { path: path.to_owned(), source };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let mut file = std::fs::File::create(&partial).map_err(io_error)?;
    file.write_all(&bytes).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&partial, path).map_err(io_error)
}

fn write_models(models: &[&Model], out: &mut Vec<u8>) {
    out.extend_from_slice(MAGIC);
    for number in [FORMAT_VERSION, FEATURE_VERSION, HASH_BITS, models.len() as u32] {
        out.extend_from_slice(&number.to_le_bytes());
    }
    for model in models {
        write_word(model.task.as_str(), out);
        out.extend_from_slice(&model.fingerprint.to_le_bytes());
        out.push(model.classes.len() as u8);
        for label in model.labels() {
            write_word(label, out);
        }
        for bias in &model.biases {
            out.extend_from_slice(&bias.to_le_bytes());
        }
        let rows: Vec<(usize, &[i16])> = (0..BUCKETS)
            .map(|bucket| (bucket, model.weights.row(bucket)))
            .filter(|(_, row)| row.iter().any(|w| *w != 0))
            .collect();
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        for (bucket, row) in rows {
            out.extend_from_slice(&(bucket as u32).to_le_bytes());
            for weight in row {
                out.extend_from_slice(&(f32::from(*weight) * model.weights.scale).to_le_bytes());
            }
        }
    }
}

fn write_word(word: &str, out: &mut Vec<u8>) {
    out.push(word.len() as u8);
    out.extend_from_slice(word.as_bytes());
}

/// Reads every model in a model file.
pub(crate) fn load_models(path: &Path) -> Result<Vec<Model>, TriageError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|source| TriageError::Io { path: path.to_owned(), source })?;
    parse_models(&bytes).map_err(|reason| TriageError::BadModel { path: path.to_owned(), reason })
}

/// Parses a model file's bytes; the error says what is wrong with them.
pub(crate) fn parse_models(bytes: &[u8]) -> Result<Vec<Model>, String> {
    let mut reader = Reader { bytes, at: 0 };
    if reader.take(MAGIC.len())? != MAGIC {
        return Err("not an Otklik triage model file".to_owned());
    }
    let format = reader.u32()?;
    if format != FORMAT_VERSION {
        return Err(format!("model file format {format}, expected {FORMAT_VERSION}"));
    }
    let feature_version = reader.u32()?;
    let hash_bits = reader.u32()?;
    if feature_version != FEATURE_VERSION || hash_bits != HASH_BITS {
        return Err(format!(
            "trained on features version {feature_version} ({hash_bits} hash bits); this build \
             uses version {FEATURE_VERSION} ({HASH_BITS} bits): train the model again"
        ));
    }
    let count = reader.u32()?;
    let mut read: Vec<ReadModel> = Vec::new();
    for _ in 0..count {
        let model = read_model(&mut reader)?;
        if read.iter().any(|m| m.task == model.task) {
            return Err(format!("two models for the task {}", model.task));
        }
        read.push(model);
    }
    if reader.at != bytes.len() {
        return Err("trailing bytes after the last model".to_owned());
    }
    // The file's models share one joint table, in file order, which `JointWeights::join` then
    // takes as it is: no second copy of the weights while a `Triage` is built.
    let stride: usize = read.iter().map(|model| model.classes.len()).sum();
    let mut table = zeroed_table(BUCKETS * stride);
    let rows = Arc::get_mut(&mut table).expect("a table nobody else holds yet");
    let mut offset = 0;
    let mut scales = Vec::with_capacity(read.len());
    for model in &read {
        let class_count = model.classes.len();
        let sparse = model.buckets.iter().copied().zip(model.values.chunks_exact(class_count));
        scales.push(quantize(sparse, class_count, rows, offset, stride));
        offset += class_count;
    }
    let mut offset = 0;
    let models = read
        .into_iter()
        .zip(scales)
        .map(|(model, scale)| {
            let width = model.classes.len();
            let weights = Weights { scale, table: Arc::clone(&table), offset, width, stride };
            offset += width;
            Model {
                task: model.task,
                classes: model.classes,
                biases: model.biases,
                weights,
                fingerprint: model.fingerprint,
            }
        })
        .collect();
    Ok(models)
}

/// A table of zero weights allocated once, in place (collecting a `Vec` into an `Arc` would copy
/// it, and the freed copy would stay in the process's heap).
fn zeroed_table(length: usize) -> Arc<[i16]> {
    std::iter::repeat_n(0i16, length).collect()
}

/// Writes a model's full-precision rows as 16-bit fractions of its largest weight into `table`
/// (rows of `stride`, this model's weights at `offset`) and returns what one step is worth.
fn quantize<'a>(
    rows: impl Iterator<Item = (usize, &'a [f32])> + Clone,
    class_count: usize,
    table: &mut [i16],
    offset: usize,
    stride: usize,
) -> f32 {
    let largest = rows.clone().flat_map(|(_, row)| row.iter().map(|w| w.abs())).fold(0.0f32, f32::max);
    let scale = if largest > 0.0 { largest / f32::from(i16::MAX) } else { 1.0 };
    for (bucket, row) in rows {
        for (slot, weight) in table[bucket * stride + offset..][..class_count].iter_mut().zip(row) {
            *slot = (weight / scale).round().clamp(-f32::from(i16::MAX), f32::from(i16::MAX)) as i16;
        }
    }
    scale
}

/// A model as read from a file, its weight rows still sparse.
struct ReadModel {
    task: Task,
    classes: Vec<usize>,
    biases: Vec<f32>,
    fingerprint: u64,
    buckets: Vec<usize>,
    values: Vec<f32>,
}

fn read_model(reader: &mut Reader<'_>) -> Result<ReadModel, String> {
    let task: Task = reader.word()?.parse().map_err(|e: TriageError| e.to_string())?;
    let fingerprint = reader.u64()?;
    let class_count = usize::from(reader.u8()?);
    if !(2..=task.labels().len()).contains(&class_count) {
        return Err(format!("{task} model with {class_count} classes"));
    }
    let mut classes = Vec::with_capacity(class_count);
    for _ in 0..class_count {
        let word = reader.word()?;
        let index = task.label_index(word).ok_or_else(|| format!("unknown {task} label `{word}`"))?;
        classes.push(index);
    }
    let biases = (0..class_count).map(|_| reader.f32()).collect::<Result<Vec<f32>, String>>()?;
    let row_count = reader.u32()?;
    let mut buckets = Vec::with_capacity((row_count as usize).min(BUCKETS));
    let mut values = Vec::with_capacity((row_count as usize).min(BUCKETS) * class_count);
    for _ in 0..row_count {
        let bucket = reader.u32()? as usize;
        if bucket >= BUCKETS {
            return Err(format!("weight row {bucket} out of range"));
        }
        buckets.push(bucket);
        for _ in 0..class_count {
            values.push(reader.f32()?);
        }
    }
    Ok(ReadModel { task, classes, biases, fingerprint, buckets, values })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(length).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| "the file ends too early".to_owned())?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }

    fn f32(&mut self) -> Result<f32, String> {
        let value = f32::from_le_bytes(self.array()?);
        if value.is_finite() { Ok(value) } else { Err("a weight is not finite".to_owned()) }
    }

    fn word(&mut self) -> Result<&'a str, String> {
        let length = usize::from(self.u8()?);
        std::str::from_utf8(self.take(length)?).map_err(|_| "a label is not UTF-8".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(text, label)| ((*text).to_owned(), (*label).to_owned())).collect()
    }

    fn kinds() -> Vec<(String, String)> {
        rows(&[
            ("where is my order, still nothing", "complaint"),
            ("courier was rude, awful", "complaint"),
            ("please add dark mode to the app", "idea"),
            ("it would be great to open on sundays", "idea"),
            ("what time do you open?", "question"),
            ("do you deliver to the suburbs?", "question"),
            ("thank you, wonderful service", "praise"),
            ("great pizza, thanks", "praise"),
            ("my friend needs a dentist, call her", "referral"),
            ("will recommend you to a colleague", "referral"),
        ])
    }

    #[test]
    fn the_weight_table_predicts_what_the_learned_weights_predict() {
        // The table keeps 16-bit fractions of the weights; its predictions must be those of the
        // learner's full-precision decision functions.
        let training = kinds();
        let labels: Vec<usize> =
            training.iter().map(|(_, label)| Task::Kind.label_index(label).expect("a kind")).collect();
        let rows: Vec<Vec<(u32, f64)>> = training
            .iter()
            .map(|(text, _)| {
                features::extract(text, detect_language(text)).entries().map(|(b, v)| (b, f64::from(v))).collect()
            })
            .collect();
        let learned = learner::train(&learner::Problem {
            rows: &rows,
            labels: &labels,
            class_weights: &[1.0; 5],
            cost: COST,
            tolerance: TOLERANCE,
            dimension: BUCKETS,
        });
        let model = Model::from_learned(Task::Kind, &learned, 0);
        let probes = ["the courier never came", "add a night shift please", "are you open today", "thanks a lot"];
        for text in training.iter().map(|(text, _)| text.as_str()).chain(probes) {
            let features = features::extract(text, detect_language(text));
            let decision = |class: usize| {
                let weights = &learned.weights[class];
                learned.biases[class] + features.entries().map(|(b, v)| f64::from(v) * weights[b as usize]).sum::<f64>()
            };
            let best = (0..learned.classes.len())
                .fold(0, |best, class| if decision(class) > decision(best) { class } else { best });
            assert_eq!(model.predict(text).label, learned.classes[best], "{text}");
        }
    }

    #[test]
    fn bias_offsets_undo_a_lean_towards_the_frequent_class() {
        // The rare class 1 always scores below class 0, but less so on its own rows: without an
        // offset it is never predicted; a positive offset separates the two.
        let mut scores = Vec::new();
        let mut gold = Vec::new();
        for i in 0..100 {
            let rare = i % 5 == 0;
            let base = (i % 7) as f32 * 0.1;
            scores.push(vec![base, base - if rare { 0.3 } else { 1.0 }, f32::NEG_INFINITY]);
            gold.push(usize::from(rare));
        }
        let counts = [80, 20, 0];
        assert!(macro_f1_with(&scores, &gold, &counts, &[0.0; 3]) < 0.5);
        let offsets = best_offsets(&scores, &gold, &counts);
        assert!(offsets[1] - offsets[0] > 0.3 && offsets[1] - offsets[0] < 1.0, "{offsets:?}");
        assert_eq!(macro_f1_with(&scores, &gold, &counts, &offsets), 1.0);
        assert_eq!(offsets[2], 0.0, "a class without rows keeps no offset");
    }

    #[test]
    fn training_is_deterministic_with_its_cross_validated_settings() {
        let mut rows = Vec::new();
        for (i, word) in ["great", "fine", "awful", "broken", "opens", "branch"].iter().cycle().take(90).enumerate() {
            let label = match i % 6 {
                0 | 1 => "positive",
                2 | 3 => "negative",
                _ => "neutral",
            };
            rows.push((format!("{word} number {i} {}", i % 11), label.to_owned()));
        }
        let once = train(Task::Sentiment, &rows).expect("trains");
        let again = train(Task::Sentiment, &rows).expect("trains");
        assert_eq!(once, again);
        assert_eq!(Task::Sentiment.labels()[once.predict("awful broken").label], "negative");
    }

    #[test]
    fn training_fits_its_own_rows_and_gives_probabilities() {
        let training = kinds();
        let model = train(Task::Kind, &training).expect("trains");
        for (text, label) in &training {
            let prediction = model.predict(text);
            assert_eq!(Task::Kind.labels()[prediction.label], label, "{text}");
            assert!((0.0..=1.0).contains(&prediction.confidence));
        }
    }

    #[test]
    fn a_two_label_model_predicts_either_label() {
        let model = train(
            Task::Sentiment,
            &rows(&[("love it", "positive"), ("great", "positive"), ("awful", "negative"), ("hate it", "negative")]),
        )
        .expect("trains");
        assert_eq!(model.labels().collect::<Vec<_>>().len(), 2);
        assert_eq!(Task::Sentiment.labels()[model.predict("love it").label], "positive");
        assert_eq!(Task::Sentiment.labels()[model.predict("awful").label], "negative");
    }

    #[test]
    fn training_refuses_a_single_label_and_unknown_labels() {
        let one_label = rows(&[("a", "praise"), ("b", "praise")]);
        assert!(matches!(train(Task::Kind, &one_label), Err(TriageError::Training(_))));
        let unknown = rows(&[("a", "praise"), ("b", "rant")]);
        let error = train(Task::Kind, &unknown).expect_err("rant is no kind");
        assert!(error.to_string().contains("`rant`"), "{error}");
    }

    #[test]
    fn models_round_trip_through_bytes() {
        let model = train(Task::Kind, &kinds()).expect("trains");
        let mut bytes = Vec::new();
        write_models(&[&model], &mut bytes);
        assert_eq!(parse_models(&bytes), Ok(vec![model]));
    }

    #[test]
    fn models_read_from_one_file_share_one_table_that_joining_keeps() {
        let kind = train(Task::Kind, &kinds()).expect("trains");
        let sentiment = train(
            Task::Sentiment,
            &rows(&[("love it", "positive"), ("awful", "negative"), ("opens at nine", "neutral")]),
        )
        .expect("trains");
        let mut bytes = Vec::new();
        write_models(&[&kind, &sentiment], &mut bytes);
        let mut read = parse_models(&bytes).expect("parses");
        assert_eq!(read, vec![kind.clone(), sentiment.clone()]);
        let (first, second) = read.split_at_mut(1);
        let joint = JointWeights::join(&mut [&mut first[0], &mut second[0]]);
        assert!(Arc::ptr_eq(&joint.table, &read[0].weights.table) && Arc::ptr_eq(&joint.table, &read[1].weights.table));
        // Joined the other way round, the weights are copied into a new table and still agree.
        let (first, second) = read.split_at_mut(1);
        let swapped = JointWeights::join(&mut [&mut second[0], &mut first[0]]);
        assert!(!Arc::ptr_eq(&swapped.table, &joint.table));
        assert_eq!(read, vec![kind, sentiment]);
    }

    #[test]
    fn damaged_model_bytes_are_refused() {
        let model = train(Task::Kind, &kinds()).expect("trains");
        let mut bytes = Vec::new();
        write_models(&[&model], &mut bytes);
        assert!(parse_models(&bytes[..bytes.len() - 3]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(parse_models(&trailing).is_err());
        let mut twice = Vec::new();
        write_models(&[&model, &model], &mut twice);
        assert!(parse_models(&twice).expect_err("two kind models").contains("two models"));
        let mut other_features = bytes.clone();
        other_features[12] ^= 0xff;
        assert!(parse_models(&other_features).expect_err("features").contains("train the model again"));
    }
}
