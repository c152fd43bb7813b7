//! `otklik bench`: benchmark commands that print figures (not tests). `intake` POSTs realistic
//! feedback to a running server; `search` fills a database with a generated corpus and times
//! ranked searches on it; `pages` fills it the same way and times the workspace's pages (the inbox
//! and case pages) served over HTTP by an in-process server. docs/benchmarks.md records the
//! figures and the exact commands.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use hdrhistogram::Histogram;
use otklik_core::{CaseFilter, Channel, Kind};
use otklik_server::Config;
use otklik_server::auth::mint_link_secret;
use otklik_store::Stamp;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;

use crate::corpus;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// POST realistic ru/uk/en feedback to a running server and print throughput and latency.
    Intake {
        /// A server's base URL, e.g. http://127.0.0.1:8080; repeat it to spread the load over
        /// several nodes on one database.
        #[arg(long, required = true)]
        url: Vec<String>,
        /// An API token (any role may submit feedback).
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Fill the configured database up to `--cases` generated cases, then time searches on it.
    Search {
        #[arg(long, default_value_t = 100_000)]
        cases: i64,
        #[arg(long, default_value_t = 1_000)]
        queries: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Fill the configured database up to `--cases` generated cases spread over `--days` days
    /// back from today, then time the reports (a period's aggregates and the period before's,
    /// summarised, as `GET /api/v1/reports/summary` computes them) over a week, a month, a
    /// quarter and the whole span, and a streamed export of a month's cases.
    Reports {
        #[arg(long, default_value_t = 1_000_000)]
        cases: i64,
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Times each report is run; the median and the slowest are printed.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Fill the configured database up to `--cases` generated cases, then time the workspace's
    /// pages (inbox queues and case pages) as a signed-in manager, rendered and served over HTTP.
    Pages {
        #[arg(long, default_value_t = 100_000)]
        cases: i64,
        #[arg(long, default_value_t = 2_000)]
        requests: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Fill a fresh mailbox on an IMAP server with `--messages` customers' mails, time how fast
    /// the e-mail channel makes them cases (into the configured database), then time the outbox
    /// sending their acknowledgements to an SMTP server over reused connections. The servers of
    /// `scripts/mail-servers` take any user with the password `secret`.
    Mail {
        /// The IMAP server, `host:port` (plain IMAP).
        #[arg(long, default_value = "127.0.0.1:1143")]
        imap: String,
        /// The SMTP server, `host:port`.
        #[arg(long, default_value = "127.0.0.1:2525")]
        smtp: String,
        /// The mailbox user's password.
        #[arg(long, default_value = "secret")]
        password: String,
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// SMTP connections used at once.
        #[arg(long, default_value_t = 8)]
        connections: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub async fn run(command: BenchCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        BenchCommand::Intake { url, token, concurrency, requests, seed } => {
            intake(&url, &token, concurrency.max(1), requests, seed).await
        }
        BenchCommand::Search { cases, queries, seed } => search(config, cases, queries, seed).await,
        BenchCommand::Pages { cases, requests, seed } => pages(config, cases, requests, seed).await,
        BenchCommand::Reports { cases, days, runs, seed } => {
            reports(config, cases, days.max(1), runs.max(1), seed).await
        }
        BenchCommand::Mail { imap, smtp, password, messages, connections, seed } => {
            mail(config, &imap, &smtp, &password, messages, connections, seed).await
        }
    }
}

async fn mail(
    config: &Config,
    imap: &str,
    smtp: &str,
    password: &str,
    messages: usize,
    connections: u32,
    seed: u64,
) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let run = format!("{:08x}", rand::random::<u32>());
    let user = format!("bench-{run}@otklik.test");
    // The mailbox, filled before the clock starts.
    let started = Instant::now();
    let tcp = tokio::net::TcpStream::connect(imap).await.with_context(|| format!("cannot reach IMAP at {imap}"))?;
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await?.context("the IMAP server closed the connection")?;
    let mut session = client.login(&user, password).await.map_err(|(error, _)| error)?;
    for n in 0..messages {
        let item = corpus::feedback(&mut rng);
        let mail = format!(
            "From: Customer {n} <customer-{n}-{run}@example.test>\r\nTo: {user}\r\nSubject: {n}\r\n\
             Message-ID: <bench-{n}-{run}@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            item.text.replace('\n', "\r\n")
        );
        session.append("INBOX", None, None, mail.as_bytes()).await?;
    }
    let _ = session.logout().await;
    println!("mailbox {user}: {messages} mails appended in {:.1} s", started.elapsed().as_secs_f64());

    let mut config = config.clone();
    config.listen = "127.0.0.1:0".parse()?;
    config.email = Some(otklik_channels::email::Settings {
        imap_url: Some(format!("imap://{}:{password}@{imap}/INBOX", user.replace('@', "%40"))),
        smtp_url: Some(format!("smtp://{smtp}")),
        from: Some(format!("Otklik bench <{user}>")),
        poll_seconds: Some(1),
        smtp_connections: Some(connections),
        ..Default::default()
    });
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let application = otklik_server::Application::build(&config).await?;
    let state = application.state().clone();
    let before = state.store().case_count().await?;
    let email = Arc::new(
        otklik_channels::email::Email::new(config.email.as_ref().expect("set above"))
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sink: Arc<dyn otklik_channels::Sink> =
        Arc::new(otklik_server::inbound::ChannelSink::new(state.clone(), Channel::Email));
    let started = Instant::now();
    let receiving = {
        let email = email.clone();
        tokio::spawn(async move { otklik_channels::Inbound::run(&*email, sink, stopped).await })
    };
    let target = before + messages as i64;
    loop {
        let count = state.store().case_count().await?;
        if count >= target {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "only {} of {messages} mails became cases",
            count - before
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let _ = receiving.await;
    println!(
        "intake ({} database): {messages} mails became cases in {took:.2} s = {:.0} mails/s",
        state.store().backend(),
        messages as f64 / took
    );

    // Every new case owes its customer an acknowledgement: the outbox sends them.
    let runner = application.runner();
    let started = Instant::now();
    let mut sent = 0;
    loop {
        let pass = runner.send_outbox().await?;
        anyhow::ensure!(pass.undelivered == 0, "{} messages were not delivered", pass.undelivered);
        if pass.sent == 0 {
            break;
        }
        sent += pass.sent;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "outbox: {sent} acknowledgements sent to {smtp} over {connections} connections in {took:.2} s = {:.0} messages/s",
        sent as f64 / took
    );
    Ok(())
}

fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn print_latency(histogram: &Histogram<u64>) {
    println!(
        "  latency: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        millis(histogram.value_at_quantile(0.50)),
        millis(histogram.value_at_quantile(0.95)),
        millis(histogram.value_at_quantile(0.99)),
        millis(histogram.max()),
    );
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

async fn intake(urls: &[String], token: &str, concurrency: usize, requests: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let bodies: Vec<Vec<u8>> = (0..requests)
        .map(|n| {
            let item = corpus::feedback(&mut rng);
            serde_json::to_vec(&serde_json::json!({
                "text": item.text,
                "channel": item.channel,
                "location": item.location,
                "product": item.product,
                "public": item.public,
                "customer": { "email": format!("bench-{}@example.com", n % 5000), "name": "Bench" },
            }))
            .expect("JSON of plain values")
        })
        .collect();
    let bodies = Arc::new(bodies);
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let endpoints: Vec<String> =
        urls.iter().map(|url| format!("{}/api/v1/feedback", url.trim_end_matches('/'))).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let endpoint = endpoints[worker % endpoints.len()].clone();
        let (client, bodies, next) = (client.clone(), bodies.clone(), next.clone());
        let authorization = format!("Bearer {token}");
        workers.push(tokio::spawn(async move {
            let mut histogram = new_histogram();
            let (mut created, mut failed) = (0usize, 0usize);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else { break };
                let sent = Instant::now();
                let response = client
                    .post(&endpoint)
                    .header("authorization", &authorization)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status() == reqwest::StatusCode::CREATED => {
                        let _ = response.bytes().await;
                        created += 1;
                        let _ = histogram.record(sent.elapsed().as_micros() as u64);
                    }
                    _ => failed += 1,
                }
            }
            (histogram, created, failed)
        }));
    }
    let mut histogram = new_histogram();
    let (mut created, mut failed) = (0, 0);
    for worker in workers {
        let (part, worker_created, worker_failed) = worker.await?;
        histogram.add(&part).context("merging histograms")?;
        created += worker_created;
        failed += worker_failed;
    }
    let elapsed = started.elapsed();
    println!("intake: {requests} requests to {}, concurrency {concurrency}", endpoints.join(" and "));
    println!("  acknowledged (201): {created}, failed: {failed}, wall time {:.2} s", elapsed.as_secs_f64());
    println!("  throughput: {:.0} acknowledged creates/s", created as f64 / elapsed.as_secs_f64());
    print_latency(&histogram);
    anyhow::ensure!(failed == 0, "{failed} requests were not acknowledged");
    Ok(())
}

/// Opens the configured database and fills it up to `cases` generated cases.
async fn filled(config: &Config, cases: i64, rng: &mut SmallRng) -> anyhow::Result<Arc<dyn otklik_store::Store>> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store = otklik_store::open(&config.database_url(), &config.open_options()).await?;
    let existing = store.case_count().await?;
    if existing < cases {
        let started = Instant::now();
        let mut missing = cases - existing;
        println!("generating {missing} cases into the {} database…", store.backend());
        while missing > 0 {
            let batch_size = missing.min(10_000);
            let batch = (0..batch_size).map(|_| (corpus::feedback(rng), mint_link_secret())).collect();
            let stamp = Stamp { at: OffsetDateTime::now_utc(), actor: "bench".into() };
            store.import_feedback(batch, stamp).await?;
            missing -= batch_size;
        }
        println!("  generated in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(store)
}

async fn reports(config: &Config, cases: i64, days: i64, runs: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(seed);
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store = otklik_store::open(&config.database_url(), &config.open_options()).await?;
    let now = OffsetDateTime::now_utc();
    let existing = store.case_count().await?;
    if existing < cases {
        let started = Instant::now();
        let missing = cases - existing;
        println!("generating {missing} cases over {days} days into the {} database…", store.backend());
        let per_day = (missing + days - 1) / days;
        let mut left = missing;
        // Oldest day first, so ids grow with time as they do in use.
        for day in (0..days).rev() {
            let mut today = per_day.min(left);
            while today > 0 {
                let batch_size = today.min(10_000);
                let batch = (0..batch_size).map(|_| (corpus::feedback(&mut rng), mint_link_secret())).collect();
                let at = now - time::Duration::days(day) - time::Duration::minutes(rng.random_range(0..600));
                store.import_feedback(batch, Stamp { at, actor: "bench".into() }).await?;
                today -= batch_size;
                left -= batch_size;
            }
        }
        println!("  generated in {:.1} s", started.elapsed().as_secs_f64());
    }
    let total = store.case_count().await?;
    println!("reports over {total} cases on {} ({runs} runs each; median and slowest):", store.backend());
    let day = time::Duration::days(1);
    for (name, span) in [("a week", 7), ("a month", 30), ("a quarter", 91), ("the whole span", days)] {
        let (from, to) = (now - time::Duration::days(span), now + day);
        let mut times = Vec::with_capacity(runs);
        let mut figures = None;
        for _ in 0..runs {
            let started = Instant::now();
            // As `App::report` reads them: the four at once.
            let sample = otklik_core::report::TOPIC_SAMPLE as u32;
            let earlier = from - time::Duration::days(span);
            let (rows, before, now_texts, before_texts) = tokio::join!(
                store.report_rows(from, to),
                store.report_rows(earlier, from),
                store.complaint_texts(from, to, sample),
                store.complaint_texts(earlier, from, sample),
            );
            let (rows, before, now_texts, before_texts) = (rows?, before?, now_texts?, before_texts?);
            let current = otklik_core::report::summarize(&rows, otklik_core::report::ICEBERG_FACTOR);
            let _ = otklik_core::report::summarize(&before, otklik_core::report::ICEBERG_FACTOR);
            let _ = otklik_core::report::weak_spots(&rows);
            let _ = otklik_core::report::rising_topics(&now_texts, &before_texts);
            times.push(started.elapsed());
            figures = Some(current.cases);
        }
        times.sort_unstable();
        println!(
            "  summary of {name:<15} ({:>7} cases): median {:>7.1} ms, slowest {:>7.1} ms",
            figures.unwrap_or(0),
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0
        );
    }
    let (from, to) = (now - time::Duration::days(30), now + day);
    let started = Instant::now();
    let (mut after, mut exported) = (0i64, 0usize);
    loop {
        let page = store.export_cases(from, to, after, 2_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        exported += page.len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "  export of a month's cases: {exported} cases read in {elapsed:.2} s ({:.0} cases/s)",
        exported as f64 / elapsed
    );
    Ok(())
}

async fn search(config: &Config, cases: i64, queries: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let store = filled(config, cases, &mut rng).await?;
    let total = store.case_count().await?;
    let mut histogram = new_histogram();
    let mut found = 0usize;
    let mut by_query: Vec<Vec<u64>> = vec![Vec::new(); corpus::QUERIES.len()];
    let started = Instant::now();
    for n in 0..queries {
        let query = corpus::QUERIES[n % corpus::QUERIES.len()];
        let mut filter = CaseFilter { query: Some(query.into()), limit: 20, ..CaseFilter::default() };
        // A third of the searches also filter, as an agent narrowing a search would.
        match rng.random_range(0..6) {
            0 => filter.channel = Some(Channel::Telegram),
            1 => filter.kind = Some(Kind::Unclassified),
            _ => {}
        }
        let sent = Instant::now();
        let page = store.list_cases(&filter).await?;
        let micros = sent.elapsed().as_micros().max(1) as u64;
        let _ = histogram.record(micros);
        by_query[n % corpus::QUERIES.len()].push(micros);
        found += page.items.len();
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    println!("search: {queries} ranked queries (first page of 20) over {total} cases on {}", store.backend());
    println!(
        "  throughput: {:.0} queries/s, {:.1} results per page on average",
        queries as f64 / elapsed.as_secs_f64(),
        found as f64 / queries as f64
    );
    print_latency(&histogram);
    println!("  median by query:");
    for (query, mut times) in corpus::QUERIES.iter().zip(by_query) {
        times.sort_unstable();
        if let Some(median) = times.get(times.len() / 2) {
            println!("    {:>8.2} ms  {query}", *median as f64 / 1000.0);
        }
    }
    Ok(())
}

async fn pages(config: &Config, cases: i64, requests: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let store = filled(config, cases, &mut rng).await?;
    let total = store.case_count().await?;
    // A server of this build on a free port, over the same database.
    let mut served = config.clone();
    served.listen = "127.0.0.1:0".parse()?;
    let application =
        otklik_server::Application::build_with(&served, store.clone(), Arc::new(otklik_server::SystemClock)).await?;
    let base = format!("http://{}", application.local_addr());
    tokio::spawn(application.run_until_stopped(std::future::pending()));
    // A manager to sign in as, made once.
    let (username, password) = ("bench-pages", otklik_server::auth::mint_password());
    let hash = otklik_server::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    if store.user_by_name(username).await?.is_none() {
        store.create_user(username, None, otklik_core::Role::Manager, &hash, OffsetDateTime::now_utc()).await?;
    } else {
        store.set_password(username, &hash, None).await?;
    }
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let signed_in = client
        .post(format!("{base}/login"))
        .header("Origin", &base)
        .form(&[("username", username), ("password", password.as_str())])
        .send()
        .await?;
    let cookie = signed_in
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("signing in set no cookie")?
        .to_owned();
    const INBOXES: [&str; 7] = [
        "/inbox",
        "/inbox?sort=priority",
        "/inbox?risk=later&sort=due",
        "/inbox?risk=breached",
        "/inbox?kind=unclassified&channel=telegram",
        "/inbox?q=доставка",
        "/inbox?all=1",
    ];
    let mut inbox = new_histogram();
    let mut by_queue: Vec<Vec<u64>> = vec![Vec::new(); INBOXES.len()];
    let mut case = new_histogram();
    let (mut heaviest_inbox, mut heaviest_case) = (0usize, 0usize);
    let started = Instant::now();
    for n in 0..requests {
        let is_case = n % 2 == 1;
        let path = if is_case {
            format!("/cases/{}", rng.random_range(1..=total))
        } else {
            INBOXES[(n / 2) % INBOXES.len()].to_owned()
        };
        let sent = Instant::now();
        let response = client.get(format!("{base}{path}")).header("Cookie", &cookie).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let micros = sent.elapsed().as_micros().max(1) as u64;
        anyhow::ensure!(status == reqwest::StatusCode::OK, "{path} answered {status}");
        if is_case {
            let _ = case.record(micros);
            heaviest_case = heaviest_case.max(body.len());
        } else {
            let _ = inbox.record(micros);
            by_queue[(n / 2) % INBOXES.len()].push(micros);
            heaviest_inbox = heaviest_inbox.max(body.len());
        }
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    println!("pages: {requests} page views over {total} cases on {}, one at a time", store.backend());
    println!("  throughput: {:.0} pages/s", requests as f64 / elapsed.as_secs_f64());
    println!("  inbox ({} queues, 50 rows), heaviest {:.1} KB:", INBOXES.len(), heaviest_inbox as f64 / 1024.0);
    print_latency(&inbox);
    for (queue, mut times) in INBOXES.iter().zip(by_queue) {
        times.sort_unstable();
        if let Some(median) = times.get(times.len() / 2) {
            println!("    {:>8.2} ms median  {queue}", *median as f64 / 1000.0);
        }
    }
    println!("  case page (a random case), heaviest {:.1} KB:", heaviest_case as f64 / 1024.0);
    print_latency(&case);
    Ok(())
}
