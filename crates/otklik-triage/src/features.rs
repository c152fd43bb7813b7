//! Turns a message into the sparse, hashed feature vector that every head of the triage model
//! reads: stemmed word unigrams and bigrams, character n-grams inside words, the first word,
//! negated words, counts of sentiment-lexicon words by polarity, and markers for links, mentions,
//! emoticons, emoji and repeated punctuation. Any change to what is extracted must bump
//! `FEATURE_VERSION`, so models trained on the old features are refused.

use otklik_core::Language;
use otklik_core::text::{is_letter_or_digit, stem, words};

use crate::lexicon::{self, Polarity};

/// The version of the feature extraction a model file was trained with.
pub(crate) const FEATURE_VERSION: u32 = 3;
/// Features are hashed into `2^HASH_BITS` buckets.
pub(crate) const HASH_BITS: u32 = 18;
/// The number of hash buckets, the length of a model's weight rows.
pub(crate) const BUCKETS: usize = 1 << HASH_BITS;

/// Character n-grams of these lengths are taken inside each word (with `<` and `>` marking its
/// edges), so misspellings, slang and word forms the stemmer misses still share most features.
const CHAR_GRAM_LENGTHS: std::ops::RangeInclusive<usize> = 2..=5;
/// Longer words are cut to this many characters before taking character n-grams.
const CHAR_GRAM_WORD_LIMIT: usize = 24;

/// Which family a feature belongs to: hashed together with its text, so a word and a character
/// n-gram spelled alike do not share a bucket on purpose.
#[derive(Clone, Copy)]
enum Family {
    Word = 1,
    Bigram = 2,
    CharGram = 3,
    FirstWord = 4,
    Marker = 5,
    Emoji = 6,
    /// A word within `NEGATION_SCOPE` words after a negation («не работает», "not helpful").
    Negated = 7,
    /// How many sentiment-lexicon words of each polarity a message has (`lexicon.rs`).
    Lexicon = 8,
}

/// A message as the learner sees it: distinct hash buckets in increasing order, each with its
/// family's weight, scaled so the vector has unit length whatever the message's length.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeatureVector {
    pub(crate) buckets: Vec<u32>,
    pub(crate) values: Vec<f32>,
}

impl FeatureVector {
    /// `(bucket, value)` pairs in increasing bucket order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.buckets.iter().copied().zip(self.values.iter().copied())
    }
}

/// How much one feature of a family weighs before the vector is scaled to unit length. Words and
/// word pairs carry the meaning; a word has a dozen character n-grams, which back it up for
/// misspellings and unseen forms but would drown it at equal weight. Chosen by five-fold
/// cross-validation on the corpus's training part (the `crossval` example), as was adding the
/// negated-word and lexicon families.
fn family_weight(family: Family) -> f32 {
    match family {
        Family::Word | Family::Bigram => 2.0,
        Family::CharGram => 0.5,
        Family::FirstWord | Family::Marker | Family::Emoji | Family::Negated | Family::Lexicon => 1.0,
    }
}

/// Extracts the features of a message whose language is already known.
pub(crate) fn extract(text: &str, language: Language) -> FeatureVector {
    let mut buckets = Vec::with_capacity(text.len() * 5);
    let mut stems: Vec<String> = Vec::new();
    let mut bounded = String::new();
    let mut boundaries = Vec::new();
    let mut negated_words = 0usize;
    let mut tone = Tone::default();
    // Where the word just read is in `stems`, and its lexicon polarity, for a negation that
    // follows it.
    let mut previous_word: Option<(usize, Option<Polarity>)> = None;
    for raw in text.split_whitespace() {
        if is_link(raw) {
            buckets.push(bucket(Family::Marker, "link"));
            continue;
        }
        if raw.len() > 1 && raw.starts_with('@') {
            buckets.push(bucket(Family::Marker, "mention"));
            continue;
        }
        for word in words(raw) {
            if word.chars().all(|c| c.is_ascii_digit()) {
                stems.push("<number>".to_owned());
                continue;
            }
            push_char_grams(&word, &mut bounded, &mut boundaries, &mut buckets);
            let stemmed = stem(&word, language == Language::Uk);
            if lexicon::is_negation(&word) {
                if lexicon::is_trailing_negation(&word) {
                    // «проблем нет»: the word before, unless a negation already turned it.
                    if let Some((previous, polarity)) = previous_word.take() {
                        buckets.push(bucket(Family::Negated, &stems[previous]));
                        if let Some(polarity) = polarity {
                            tone.turn_last(polarity);
                        }
                    }
                }
                previous_word = None;
                negated_words = NEGATION_SCOPE;
            } else {
                let negated = negated_words > 0;
                if negated {
                    negated_words -= 1;
                    buckets.push(bucket(Family::Negated, &stemmed));
                }
                let polarity = lexicon::polarity(&stemmed);
                if let Some(polarity) = polarity {
                    tone.add(if negated { polarity.flipped() } else { polarity });
                }
                previous_word = (!negated).then_some((stems.len(), polarity));
            }
            stems.push(stemmed);
        }
        if raw.ends_with(['.', ',', '!', '?', ';', ':']) {
            negated_words = 0;
            previous_word = None;
        }
    }
    tone.push_markers(&mut buckets);
    push_word_features(&stems, &mut buckets);
    push_symbol_markers(text, &mut buckets);
    buckets.push(bucket(Family::Marker, length_marker(stems.len())));
    buckets.push(bucket(Family::Marker, language.as_str()));
    // By bucket, the heavier weight first (weights are positive, so their bits order like them),
    // so `dedup` keeps the heavier of two features that share a bucket.
    buckets.sort_unstable_by_key(|(bucket, weight)| (u64::from(*bucket) << 32) | u64::from(!weight.to_bits()));
    buckets.dedup_by_key(|(bucket, _)| *bucket);
    let norm = buckets.iter().map(|(_, weight)| weight * weight).sum::<f32>().sqrt();
    let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    FeatureVector {
        values: buckets.iter().map(|(_, weight)| weight * scale).collect(),
        buckets: buckets.into_iter().map(|(bucket, _)| bucket).collect(),
    }
}

/// How many words after «не», «ні» or "not" are read as negated (a punctuation mark ends it
/// sooner): «не очень удобно», "not at all helpful".
const NEGATION_SCOPE: usize = 3;

/// The lexicon words of a message, by polarity, and the polarity of the last one.
#[derive(Default)]
struct Tone {
    positive: usize,
    negative: usize,
    last: Option<Polarity>,
}

impl Tone {
    fn add(&mut self, polarity: Polarity) {
        match polarity {
            Polarity::Positive => self.positive += 1,
            Polarity::Negative => self.negative += 1,
        }
        self.last = Some(polarity);
    }

    /// Turns round the last word added, of `polarity`, when a negation after it is read.
    fn turn_last(&mut self, polarity: Polarity) {
        match polarity {
            Polarity::Positive => self.positive -= 1,
            Polarity::Negative => self.negative -= 1,
        }
        self.add(polarity.flipped());
    }

    fn push_markers(&self, buckets: &mut Vec<(u32, f32)>) {
        let mut push = |marker| buckets.push(bucket(Family::Lexicon, marker));
        match (self.positive, self.negative) {
            (0, 0) => push("none"),
            (_, 0) => push("only+"),
            (0, _) => push("only-"),
            _ => push("mixed"),
        }
        if self.positive > 0 {
            push(if self.positive >= 2 { "+2" } else { "+1" });
        }
        if self.negative > 0 {
            push(if self.negative >= 2 { "-2" } else { "-1" });
        }
        match self.last {
            Some(Polarity::Positive) => push("last+"),
            Some(Polarity::Negative) => push("last-"),
            None => {}
        }
    }
}

fn is_link(token: &str) -> bool {
    let lower = token.trim_start_matches(['(', '<', '"']);
    ["http://", "https://", "www."].iter().any(|prefix| lower.starts_with(prefix))
}

fn push_word_features(stems: &[String], buckets: &mut Vec<(u32, f32)>) {
    if let Some(first) = stems.first() {
        buckets.push(bucket(Family::FirstWord, first));
    }
    for stem in stems {
        buckets.push(bucket(Family::Word, stem));
    }
    for pair in stems.windows(2) {
        let mut hasher = Hasher::new(Family::Bigram);
        hasher.write(pair[0].as_bytes());
        hasher.write(b" ");
        hasher.write(pair[1].as_bytes());
        buckets.push(hasher.bucket());
    }
}

/// Character n-grams of one lowercase word; `bounded` and `boundaries` are scratch space reused
/// across words.
fn push_char_grams(word: &str, bounded: &mut String, boundaries: &mut Vec<usize>, buckets: &mut Vec<(u32, f32)>) {
    bounded.clear();
    bounded.push('<');
    bounded.extend(word.chars().take(CHAR_GRAM_WORD_LIMIT));
    bounded.push('>');
    boundaries.clear();
    boundaries.extend(bounded.char_indices().map(|(offset, _)| offset));
    boundaries.push(bounded.len());
    let char_count = boundaries.len() - 1;
    for length in CHAR_GRAM_LENGTHS {
        for start in 0..=char_count.saturating_sub(length) {
            if start + length > char_count {
                break;
            }
            let gram = &bounded[boundaries[start]..boundaries[start + length]];
            buckets.push(bucket(Family::CharGram, gram));
        }
    }
}

/// Markers read from punctuation and pictographs, which `words` drops: emoticons (a `)` that
/// closes no `(` is a smile in Russian and Ukrainian writing), emoji, `!!!`, `???`, `...` and
/// words in capitals.
fn push_symbol_markers(text: &str, buckets: &mut Vec<(u32, f32)>) {
    let (mut opened, mut closed) = (0usize, 0usize);
    let mut previous = ' ';
    let mut run = 0usize;
    let mut emoji = false;
    for c in text.chars() {
        run = if c == previous { run + 1 } else { 1 };
        match c {
            '(' => opened += 1,
            ')' => closed += 1,
            '!' => buckets.push(bucket(Family::Marker, if run >= 2 { "!!" } else { "!" })),
            '?' => buckets.push(bucket(Family::Marker, if run >= 2 { "??" } else { "?" })),
            '.' if run == 3 => buckets.push(bucket(Family::Marker, "...")),
            _ if is_emoji(c) => {
                emoji = true;
                let mut hasher = Hasher::new(Family::Emoji);
                hasher.write(&u32::from(c).to_le_bytes());
                buckets.push(hasher.bucket());
            }
            _ => {}
        }
        previous = c;
    }
    let smiles = [(":(", "frown"), (":-(", "frown"), (":d", "smile"), ("xd", "smile")];
    let lower = text.to_ascii_lowercase();
    for (emoticon, marker) in smiles {
        if lower.contains(emoticon) {
            buckets.push(bucket(Family::Marker, marker));
        }
    }
    if closed > opened {
        let strong = closed - opened >= 2;
        buckets.push(bucket(Family::Marker, if strong { "smile+" } else { "smile" }));
    } else if opened > closed {
        let strong = opened - closed >= 2;
        buckets.push(bucket(Family::Marker, if strong { "frown+" } else { "frown" }));
    }
    if emoji {
        buckets.push(bucket(Family::Marker, "emoji"));
    }
    let shouting = text.split_whitespace().any(|token| {
        token.len() >= 5
            && !token.chars().any(char::is_lowercase)
            && token.chars().filter(|c| is_letter_or_digit(*c) && !c.is_ascii_digit()).count() >= 5
    });
    if shouting {
        buckets.push(bucket(Family::Marker, "caps"));
    }
}

fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
}

fn length_marker(word_count: usize) -> &'static str {
    match word_count {
        0 => "len0",
        1 => "len1",
        2..=3 => "len2-3",
        4..=7 => "len4-7",
        8..=15 => "len8-15",
        16..=31 => "len16-31",
        _ => "len32+",
    }
}

fn bucket(family: Family, text: &str) -> (u32, f32) {
    let mut hasher = Hasher::new(family);
    hasher.write(text.as_bytes());
    hasher.bucket()
}

/// FNV-1a, finished with a multiplicative mix so the top bits pick the bucket. Fixed forever for
/// a given `FEATURE_VERSION`: the buckets are stored in model files.
struct Hasher(u64, Family);

impl Hasher {
    fn new(family: Family) -> Hasher {
        let mut hasher = Hasher(0xcbf2_9ce4_8422_2325, family);
        hasher.write(&[family as u8]);
        hasher
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The bucket and the weight of the hashed feature.
    fn bucket(&self) -> (u32, f32) {
        let mixed = (self.0 ^ (self.0 >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((mixed >> (64 - HASH_BITS)) as u32, family_weight(self.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_distinct_sorted_and_unit_length() {
        let features = extract("Где мой заказ? Где мой заказ???", Language::Ru);
        assert!(features.buckets.windows(2).all(|pair| pair[0] < pair[1]));
        let norm: f32 = features.values.iter().map(|value| value * value).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(features.buckets.len(), features.values.len());
        assert!(features.buckets.iter().all(|b| (*b as usize) < BUCKETS));
    }

    #[test]
    fn word_forms_share_word_features() {
        let one = extract("доставка", Language::Ru);
        let other = extract("доставку", Language::Ru);
        let (word, _) = bucket(Family::Word, &stem("доставка", false));
        assert!(one.buckets.contains(&word) && other.buckets.contains(&word));
    }

    #[test]
    fn links_and_mentions_become_markers() {
        let features = extract("@shop see https://example.com/x", Language::En);
        assert!(features.buckets.contains(&bucket(Family::Marker, "link").0));
        assert!(features.buckets.contains(&bucket(Family::Marker, "mention").0));
        assert!(!features.buckets.contains(&bucket(Family::Word, "shop").0));
    }

    #[test]
    fn unbalanced_brackets_read_as_smiles_and_frowns() {
        let smile = extract("спасибо)))", Language::Ru);
        let frown = extract("опять не работает(((", Language::Ru);
        let aside = extract("заказ (номер 5) пришел", Language::Ru);
        assert!(smile.buckets.contains(&bucket(Family::Marker, "smile+").0));
        assert!(frown.buckets.contains(&bucket(Family::Marker, "frown+").0));
        for marker in ["smile", "smile+", "frown", "frown+"] {
            assert!(!aside.buckets.contains(&bucket(Family::Marker, marker).0));
        }
    }

    #[test]
    fn words_weigh_more_than_character_grams() {
        let features = extract("ок", Language::Ru);
        let value = |family, text| {
            let (wanted, _) = bucket(family, text);
            features.entries().find(|(bucket, _)| *bucket == wanted).map(|(_, value)| value)
        };
        let stemmed = stem("ок", false);
        let word = value(Family::Word, &stemmed).expect("the word");
        let gram = value(Family::CharGram, "<о").expect("a character bigram");
        assert!((word / gram - 4.0).abs() < 1e-4);
    }

    #[test]
    fn lexicon_words_count_by_polarity_and_negation_turns_them() {
        let has =
            |text: &str, marker: &str| extract(text, Language::Ru).buckets.contains(&bucket(Family::Lexicon, marker).0);
        assert!(has("Всё отлично, спасибо!", "only+"));
        assert!(has("Ужасный сервис, кошмар", "-2"));
        assert!(has("не очень удобно", "only-"), "a negation before the word");
        assert!(has("Проблем нет.", "only+"), "a negation after the word");
        assert!(has("Спасибо, но доставка ужасная", "last-"));
        assert!(has("Где мой заказ?", "none"));
        let uk = extract("Жодних претензій", Language::Uk);
        assert!(uk.buckets.contains(&bucket(Family::Lexicon, "only+").0));
        let negated = extract("не работает", Language::Ru);
        assert!(negated.buckets.contains(&bucket(Family::Negated, &stem("работает", false)).0));
    }

    #[test]
    fn char_grams_cover_short_words() {
        let mut buckets = Vec::new();
        push_char_grams("ок", &mut String::new(), &mut Vec::new(), &mut buckets);
        // "<ок>" has 3 bigrams, 2 trigrams and 1 four-gram.
        assert_eq!(buckets.len(), 6);
    }
}
