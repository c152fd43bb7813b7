//! The `otklik` command: `serve`, `migrate`, `token create`, `user create`, `model` and `bench`. It parses
//! flags, loads the configuration once and hands over to the server or the store.

mod bench;
mod corpus;
mod model;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use otklik_core::Role;
use otklik_server::auth::{hash_password, mint_password, mint_token};
use otklik_server::{Application, Config};
use otklik_store::{SqliteSync, Store};
use time::OffsetDateTime;

/// mimalloc: the server allocates and frees many small buffers per request (HTTP, JSON, triage
/// features), where it spends less time than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "otklik", version, about = "Customer feedback and complaint resolution in one binary.")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings every command that touches the database shares.
#[derive(Args)]
struct GlobalArgs {
    /// A TOML config file (settings as in the README's table).
    #[arg(long, global = true, env = "OTKLIK_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the SQLite database and local state [default: ./otklik-data].
    #[arg(long, global = true, env = "OTKLIK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL; SQLite under the data directory when unset.
    #[arg(long, global = true, env = "OTKLIK_DATABASE_URL")]
    database_url: Option<String>,
    /// SQLite commit durability: `full` or `normal` [default: full].
    #[arg(long, global = true, env = "OTKLIK_SQLITE_SYNCHRONOUS")]
    sqlite_synchronous: Option<SqliteSync>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply the database migrations and exit (the server also applies them at start-up).
    Migrate,
    /// Manage API tokens for integrations.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage people who sign in to the web workspace.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the business's locations and their public complaint books (`/f/{slug}`).
    #[command(subcommand)]
    Location(LocationCommand),
    /// Bring in feedback collected elsewhere.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Evaluate and train the triage models.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Show or check playbooks, deadlines and approval limits.
    #[command(subcommand)]
    Playbooks(PlaybooksCommand),
    /// Take a consistent copy of the SQLite database while the server runs (PostgreSQL: pg_dump,
    /// docs/operations.md).
    Backup {
        /// Where to write the copy (never overwritten).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into an empty data directory (or an empty PostgreSQL database), migrating
    /// an older one to the current schema.
    Restore { file: std::path::PathBuf },
    /// Copy everything into another, empty database (SQLite to PostgreSQL or back), keeping ids,
    /// and verify each table's rows and digest.
    Move {
        /// The target database: `postgres://…` or `sqlite://PATH`.
        #[arg(long)]
        to: String,
        /// The schema Otklik's tables are in on the PostgreSQL side (the connection's default
        /// when none).
        #[arg(long)]
        postgres_schema: Option<String>,
    },
    /// A customer's personal data: export it, or erase it.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Check the history: every case's chain of events.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Measure throughput and latency (prints figures; see docs/benchmarks.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Subcommand)]
enum CustomerCommand {
    /// Print everything stored about a customer as JSON.
    Export { id: i64 },
    /// Erase a customer's personal data (name, identities, and the personal data in their
    /// cases), keeping the cases and the figures; recorded as done by `otklik customer erase`.
    Erase { id: i64 },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every case's chain of events; exits 1 naming the first event that does not match.
    Verify,
}

#[derive(Subcommand)]
enum PlaybooksCommand {
    /// Print the built-in playbook file, a documented starting point for the business's own
    /// (`playbooks_file` in the configuration).
    Show,
    /// Check a playbook file; prints every mistake with its line, or a summary.
    Check { file: std::path::PathBuf },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "OTKLIK_LISTEN")]
    listen: Option<SocketAddr>,
    /// The URL customers and agents reach the server at [default: http://<listen>].
    #[arg(long, env = "OTKLIK_PUBLIC_URL")]
    public_url: Option<String>,
    /// The largest request body accepted, in bytes [default: 1048576].
    #[arg(long, env = "OTKLIK_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it once (only its digest is stored).
    Create {
        /// A name that says who uses it, e.g. `website-form`; recorded on what it does.
        #[arg(long)]
        name: String,
        /// admin, manager, agent, executor, sales or intake (may only submit feedback).
        #[arg(long)]
        role: Role,
        /// The person the token belongs to (a username from `otklik user create`): it acts as
        /// them, owns their tasks and reads their notifications. Without it the token is an
        /// integration, which has neither.
        #[arg(long)]
        user: Option<String>,
    },
    /// List every token: id, name, role, person, created and revoked (never the secret).
    List,
    /// Revoke a token by its id (from `token list`); it stops working within 10 seconds on
    /// every node.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A review site's export: a JSON array of social items (docs/channels.md) or CSV with the
    /// header `source,external_id,url,author,handle,followers,rating,text`. Each review opens a
    /// public case on the `review` channel; reviews seen before are skipped.
    Reviews {
        /// The export file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum LocationCommand {
    /// Add a location; prints the address of its complaint book.
    Add {
        /// What customers and staff call it, e.g. "Тверская, 12".
        #[arg(long)]
        name: String,
        /// Its address in links (`/f/{slug}`): lowercase Latin letters, digits, inner hyphens.
        #[arg(long)]
        slug: String,
        /// Its street address.
        #[arg(long)]
        address: Option<String>,
        /// Its IANA time zone [default: the business's].
        #[arg(long)]
        time_zone: Option<String>,
        /// Its working hours, e.g. "mon-fri 09:00-18:00; sat 10:00-16:00" [default: the
        /// business's]; its cases' deadlines count in them.
        #[arg(long)]
        hours: Option<String>,
    },
    /// List every location: slug, name, time zone, active, and its complaint book's address.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints a generated password unless one is given on standard input, or
    /// with `--link` a one-time link for them to set their own (valid 72 hours).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "link")]
        password_stdin: bool,
        /// Print a one-time link to set the password instead of a password.
        #[arg(long)]
        link: bool,
    },
}

impl GlobalArgs {
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            config.database_url = Some(url.clone());
        }
        if let Some(mode) = self.sqlite_synchronous {
            config.sqlite_synchronous = mode;
        }
        config.validate()?;
        Ok(config)
    }
}

pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    }
    otklik_store::open(&config.database_url(), &config.open_options()).await.context("cannot open the database")
}

/// What a backup, a restore or a move holds, a line per table.
fn print_snapshot(what: &str, snapshot: &otklik_store::maintenance::Snapshot) {
    println!("{what}: schema version {}", snapshot.schema_version);
    for table in &snapshot.tables {
        println!("  {:<22} {:>10} rows  {}", table.table, table.rows, table.digest);
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Logs go to stderr as text, or one JSON object a line with `OTKLIK_LOG_FORMAT=json` (for a
    // log collector); `OTKLIK_LOG` filters them (docs/operations.md).
    let filter =
        || tracing_subscriber::EnvFilter::try_from_env("OTKLIK_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    match std::env::var("OTKLIK_LOG_FORMAT").as_deref() {
        Ok("json") => {
            tracing_subscriber::fmt().json().with_env_filter(filter()).with_writer(std::io::stderr).init();
        }
        Ok("text") | Err(_) => {
            tracing_subscriber::fmt().with_env_filter(filter()).with_writer(std::io::stderr).init();
        }
        Ok(other) => anyhow::bail!("OTKLIK_LOG_FORMAT: `{other}` is not `text` or `json`"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let mut config = cli.global.config()?;
            if let Some(listen) = args.listen {
                config.listen = listen;
            }
            if let Some(url) = args.public_url {
                config.public_url = Some(url);
            }
            if let Some(bytes) = args.max_body_bytes {
                config.max_body_bytes = bytes;
            }
            serve(config).await
        }
        Command::Backup { out } => {
            let config = cli.global.config()?;
            let snapshot = otklik_store::maintenance::backup(&config.database_url(), &out).await?;
            print_snapshot(&format!("backup written to {}", out.display()), &snapshot);
            Ok(())
        }
        Command::Restore { file } => {
            let config = cli.global.config()?;
            if config.database_url.is_none() {
                std::fs::create_dir_all(&config.data_dir)
                    .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
            }
            let snapshot =
                otklik_store::maintenance::restore(&file, &config.database_url(), &config.open_options()).await?;
            print_snapshot(&format!("{} restored", file.display()), &snapshot);
            Ok(())
        }
        Command::Move { to, postgres_schema } => {
            let config = cli.global.config()?;
            let mut options = config.open_options();
            options.postgres_schema = postgres_schema;
            let snapshot = otklik_store::maintenance::move_database(&config.database_url(), &to, &options).await?;
            print_snapshot("moved; every table's rows and digest match", &snapshot);
            eprintln!("start the nodes with database_url = \"{to}\" to carry on there");
            Ok(())
        }
        Command::Customer(command) => {
            let config = cli.global.config()?;
            let app = otklik_server::app_for(&config, open_store(&config).await?)?;
            let admin = otklik_app::Actor {
                name: "otklik customer erase".into(),
                role: Role::Admin,
                scope: "cli".into(),
                person: None,
            };
            match command {
                CustomerCommand::Export { id } => {
                    let export = app.export_customer(&admin, id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("{}", otklik_server::customer_export_json(&app, export)?);
                }
                CustomerCommand::Erase { id } => {
                    let erased = app.erase_customer(&admin, id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!(
                        "customer {id} erased: {} records, {} identities, {} cases, {} values that held their personal data",
                        erased.customers, erased.identities, erased.cases, erased.values
                    );
                }
            }
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let store = open_store(&cli.global.config()?).await?;
            // What the clock work would have sealed by now, sealed first (not the newest
            // seconds': a transaction may still be writing an event before them).
            let before = OffsetDateTime::now_utc() - otklik_server::jobs::SEAL_AFTER;
            while store.seal_events(before, 1_000).await? == 1_000 {}
            let report = store.verify_events().await?;
            println!(
                "{} cases, {} events: {} verified, {} not sealed yet, {} cases whose chain breaks",
                report.cases, report.events, report.sealed, report.unsealed, report.mismatched_cases
            );
            if let Some((case, event, problem)) = report.first_mismatch {
                println!("first mismatch: case {case}, event {event}: {problem}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Migrate => {
            let config = cli.global.config()?;
            let store = open_store(&config).await?;
            println!("migrations applied to the {} database", store.backend());
            Ok(())
        }
        Command::Token(TokenCommand::Create { name, role, user }) => {
            let store = open_store(&cli.global.config()?).await?;
            let (token, digest) = mint_token();
            store.create_token(&name, role, user.as_deref(), &digest, OffsetDateTime::now_utc()).await?;
            println!("{token}");
            let whose = user.map_or_else(|| "an integration".to_owned(), |user| format!("belongs to `{user}`"));
            eprintln!("token `{name}` with role `{role}` created ({whose}); it is shown only now");
            Ok(())
        }
        Command::Token(TokenCommand::List) => {
            let store = open_store(&cli.global.config()?).await?;
            println!("{:>5}  {:<24} {:<9} {:<16} {:<20} revoked", "id", "name", "role", "person", "created");
            for token in store.tokens().await? {
                let record = &token.record;
                let revoked = token.revoked_at.map_or_else(|| "-".to_owned(), |at| at.date().to_string());
                println!(
                    "{:>5}  {:<24} {:<9} {:<16} {:<20} {revoked}",
                    record.id,
                    record.name,
                    record.role.as_str(),
                    record.user.as_deref().unwrap_or("-"),
                    token.created_at.date().to_string(),
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let store = open_store(&cli.global.config()?).await?;
            if store.revoke_token(id, OffsetDateTime::now_utc()).await? {
                eprintln!("token {id} revoked; it stops working within 10 seconds on every node");
            } else {
                eprintln!("token {id} was revoked already");
            }
            Ok(())
        }
        Command::User(UserCommand::Create { username, role, display_name, link: true, .. }) => {
            let config = cli.global.config()?;
            let app = otklik_server::app_for(&config, open_store(&config).await?)?;
            let admin = otklik_app::Actor {
                name: "otklik user create".into(),
                role: Role::Admin,
                scope: "cli".into(),
                person: None,
            };
            let created =
                app.create_person(&admin, &username, display_name, role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "user `{}` created with role `{role}`; send them this link to set their password (one use, 72 hours):",
                created.user.username
            );
            println!("{}/password/{}", app.public_url(), created.link_secret);
            Ok(())
        }
        Command::User(UserCommand::Create { username, role, display_name, password_stdin, link: false }) => {
            let store = open_store(&cli.global.config()?).await?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                let line = line.trim_end_matches(['\r', '\n']).to_owned();
                anyhow::ensure!(line.chars().count() >= 10, "the password must have at least 10 characters");
                line
            } else {
                mint_password()
            };
            let hash = hash_password(&password).map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
            store.create_user(&username, display_name.as_deref(), role, &hash, OffsetDateTime::now_utc()).await?;
            if password_stdin {
                println!("user `{username}` created with role `{role}`");
            } else {
                println!("user `{username}` created with role `{role}`; password: {password}");
            }
            Ok(())
        }
        Command::Import(ImportCommand::Reviews { file }) => {
            let config = cli.global.config()?;
            let content = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let items = otklik_channels::social::read_export(&file.to_string_lossy(), &content)
                .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
            let app = otklik_server::app_for(&config, open_store(&config).await?)?;
            let importer = otklik_app::Actor {
                name: "otklik import reviews".into(),
                role: Role::Intake,
                scope: "channel:review".into(),
                person: None,
            };
            let (mut opened, mut continued, mut seen, mut refused) = (0, 0, 0, 0);
            for (index, item) in items.into_iter().enumerate() {
                let taken = match item.into_incoming() {
                    Ok(incoming) => app.receive(&importer, incoming).await.map_err(|error| error.to_string()),
                    Err(reason) => Err(reason),
                };
                match taken {
                    Ok(otklik_app::Received::Opened(_)) => opened += 1,
                    // (A review answers no survey: surveys go by e-mail, SMS and Telegram.)
                    Ok(otklik_app::Received::Continued { .. } | otklik_app::Received::Answered { .. }) => {
                        continued += 1
                    }
                    Ok(otklik_app::Received::Redelivered { .. }) => seen += 1,
                    Err(reason) => {
                        refused += 1;
                        eprintln!("review {}: {reason}", index + 1);
                    }
                }
            }
            println!("{opened} opened, {continued} added to open cases, {seen} seen before, {refused} refused");
            anyhow::ensure!(refused == 0, "{refused} reviews were refused");
            Ok(())
        }
        Command::Location(command) => {
            let config = cli.global.config()?;
            let app = otklik_server::app_for(&config, open_store(&config).await?)?;
            let admin = otklik_app::Actor {
                name: "otklik location".into(),
                role: Role::Admin,
                scope: "cli".into(),
                person: None,
            };
            match command {
                LocationCommand::Add { name, slug, address, time_zone, hours } => {
                    let new = otklik_app::locations::NewLocation { slug, name, address, time_zone, hours };
                    let location = app.create_location(&admin, new).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    eprintln!("location `{}` added; its complaint book:", location.slug);
                    println!("{}/f/{}", app.public_url(), location.slug);
                }
                LocationCommand::List => {
                    println!("{:<24} {:<32} {:<16} {:<7} form", "slug", "name", "time zone", "active");
                    for location in app.locations(&admin).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                        println!(
                            "{:<24} {:<32} {:<16} {:<7} {}/f/{}",
                            location.slug,
                            location.name,
                            location.time_zone.as_deref().unwrap_or("-"),
                            if location.active { "yes" } else { "no" },
                            app.public_url(),
                            location.slug
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Bench(command) => bench::run(command, &cli.global.config()?).await,
        Command::Playbooks(PlaybooksCommand::Show) => {
            print!("{}", otklik_core::Workflow::builtin_toml());
            Ok(())
        }
        Command::Playbooks(PlaybooksCommand::Check { file }) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            match otklik_core::Workflow::from_toml(&text) {
                Ok(workflow) => {
                    let actions: usize =
                        otklik_core::Kind::ALL.iter().map(|kind| workflow.playbooks.get(*kind).actions.len()).sum();
                    println!(
                        "{}: fine — {} playbooks, {actions} actions, {} deadline targets",
                        file.display(),
                        otklik_core::Kind::ALL.len(),
                        workflow.deadlines.rules.len()
                    );
                    Ok(())
                }
                Err(errors) => anyhow::bail!("{} has mistakes:\n{errors}", file.display()),
            }
        }
        Command::Model(command) => model::run(command, &cli.global.config()?).await,
    }
}

/// A line for whoever started the server. A closed stdout (a supervisor that stopped reading)
/// must not stop the server, so a failed write is ignored.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(&config).await?;
    let address = app.local_addr();
    let store = app.state().store().clone();
    let public_url = app.state().app.public_url().to_owned();
    say(&format!("Otklik is listening on http://{address} ({} database)", store.backend()));
    say(&format!("Sign in at {public_url}/login"));
    if store.is_unclaimed().await? {
        let password = mint_password();
        let hash = hash_password(&password).map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
        let created =
            store.create_user("admin", Some("Administrator"), Role::Admin, &hash, OffsetDateTime::now_utc()).await;
        match created {
            Ok(_) => {}
            // Another node on the same database claimed it first.
            Err(otklik_store::StoreError::Conflict(_)) => {
                return app.run_until_stopped(otklik_server::shutdown_signal()).await;
            }
            Err(error) => return Err(error.into()),
        }
        say(&format!(
            "First start: sign in at {public_url}/login as `admin` with password `{password}` (shown only now)."
        ));
        say("For the API, create a token: otklik token create --name my-integration --role agent");
    }
    app.run_until_stopped(otklik_server::shutdown_signal()).await
}
