//! Killing the server while it collects and sends mail loses no inbound mail and sends no
//! outbound mail twice: the real `otklik` binary, collecting a full mailbox from Dovecot and
//! acknowledging each mail through OpenSMTPD (`scripts/mail-servers`), is killed with SIGKILL
//! several times mid-way and started again. In the end every mail is exactly one case, and every
//! customer got at most one acknowledgement: the ones a killed node may have been sending are
//! marked failed for a person to look at, never sent again.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use otklik_core::{Channel, OutboxStatus};

#[path = "../../otklik-server/tests/support/mail.rs"]
mod mail;

const BINARY: &str = env!("CARGO_BIN_EXE_otklik");
const MAILS: usize = 600;

/// How many mails a mailbox holds, and how many of them are seen.
async fn counted(server: &str, user: &str) -> (usize, usize) {
    let mut session = mail::imap(server, user).await;
    let all = session.search("ALL").await.unwrap().len();
    let seen = session.search("SEEN").await.unwrap().len();
    let _ = session.logout().await;
    (all, seen)
}

/// Starts the server; what it logs is added to `log`.
fn serve(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start otklik serve")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_collecting_and_sending_it_loses_nothing_and_sends_nothing_twice() {
    let Some((imap_server, smtp_server)) = mail::servers() else { return };
    let run = format!("{:08x}", rand::random::<u32>());
    let support = format!("support-{run}@otklik.test");
    let customer = |n: usize| format!("customer-{run}-{n}@example.test");
    {
        let mut session = mail::imap(&imap_server, &support).await;
        for n in 0..MAILS {
            let mail = format!(
                "From: {}\r\nTo: {support}\r\nSubject: Заказ {n}\r\nMessage-ID: <restart-{n}-{run}@example.test>\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\nЗаказ {n} привезли холодным, курьер нагрубил. Верните деньги.\r\n",
                customer(n)
            );
            session.append("INBOX", None, None, mail.as_bytes()).await.unwrap();
        }
        let _ = session.logout().await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("otklik.toml");
    let log = dir.path().join("server.log");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\noutbox_lease_seconds = 2\n\n[email]\nimap_url = \"imap://{}:secret@{imap_server}/INBOX\"\n\
             smtp_url = \"smtp://{smtp_server}\"\nfrom = \"Otklik <{support}>\"\npoll_seconds = 1\n",
            dir.path().display(),
            support.replace('@', "%40")
        ),
    )
    .unwrap();

    // Killed three times while it works, at different moments.
    for pause in [450, 650, 850] {
        let mut server = serve(&config, &log);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.kill().expect("SIGKILL the server");
        server.wait().unwrap();
    }
    let mut server = serve(&config, &log);
    let store = otklik_store::open(
        &format!("sqlite://{}", dir.path().join("otklik.db").display()),
        &otklik_store::OpenOptions::default(),
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let outbox = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (all, seen) = counted(&imap_server, &support).await;
        let outbox = store.outbox_counts().await.unwrap();
        let open = outbox.iter().any(|(_, status, _)| matches!(status, OutboxStatus::Pending | OutboxStatus::Sending));
        let cases = store.case_count().await.unwrap();
        if all == MAILS && seen == MAILS && cases == MAILS as i64 && !open {
            break outbox;
        }
        if Instant::now() > deadline {
            let logged = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = logged.lines().rev().take(40).collect();
            panic!(
                "not done in 120 s: {seen} of {all} mails seen, {cases} cases, outbox {outbox:?}\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    };
    server.kill().unwrap();
    server.wait().unwrap();

    // Every mail is exactly one case.
    assert_eq!(store.case_count().await.unwrap(), MAILS as i64);
    let count = |wanted: OutboxStatus| {
        outbox
            .iter()
            .filter(|(channel, status, _)| *channel == Channel::Email && *status == wanted)
            .map(|(_, _, n)| *n as usize)
            .sum::<usize>()
    };
    let (sent, failed) = (count(OutboxStatus::Sent), count(OutboxStatus::Failed));
    assert_eq!(sent + failed, MAILS, "{outbox:?}");
    // Nobody got an acknowledgement twice, and each one sent arrived (one marked failed may
    // have left just before the kill: then it arrived too, once).
    let customers: Vec<String> = (0..MAILS).map(customer).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut received = 0;
        let mut counts =
            futures_util::stream::iter(customers.iter().map(|address| counted(&imap_server, address))).buffered(8);
        while let Some((all, _)) = counts.next().await {
            assert!(all <= 1, "a customer got {all} acknowledgements");
            received += all;
        }
        assert!(received <= sent + failed, "received {received}, sent {sent}, failed {failed}");
        if received >= sent {
            break;
        }
        assert!(Instant::now() < deadline, "only {received} of {sent} acknowledgements arrived");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("{MAILS} mails: {sent} acknowledged once, {failed} marked failed after a kill mid-send");
}
