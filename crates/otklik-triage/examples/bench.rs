//! Throughput of `Triage::classify` on one thread over every text of the project's corpus, and
//! the time the shipped model takes to load at first use. Run it optimised:
//! `cargo run --release -p otklik-triage --example bench`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use otklik_triage::{Input, Triage, corpus};

/// Long enough for a steady figure, short enough to run on a shared two-core machine.
const MEASURE_FOR: Duration = Duration::from_secs(3);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let triage = Triage::shipped();
    let training = started.elapsed();
    let texts: Vec<String> = corpus()?.into_iter().map(|row| row.text).collect();
    let average_length = texts.iter().map(|text| text.chars().count()).sum::<usize>() / texts.len();

    for text in &texts {
        black_box(triage.classify(&Input::new(text)));
    }
    let mut classified = 0u64;
    let started = Instant::now();
    while started.elapsed() < MEASURE_FOR {
        for text in &texts {
            let input = Input {
                text,
                public: classified.is_multiple_of(3),
                followers: Some(classified % 20_000),
                ..Input::default()
            };
            black_box(triage.classify(black_box(&input)));
            classified += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("shipped model loaded in {:.0} ms (first use)", training.as_secs_f64() * 1000.0);
    println!("texts: {} (average {average_length} characters)", texts.len());
    println!(
        "classify: {classified} messages in {elapsed:.2} s on one thread = {:.0} messages/s ({:.1} µs each)",
        classified as f64 / elapsed,
        elapsed * 1e6 / classified as f64
    );
    Ok(())
}
