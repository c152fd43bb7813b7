//! The loopback mail servers of `scripts/mail-servers` (Dovecot for IMAP, OpenSMTPD for SMTP;
//! any user, password `secret`), for the tests that talk to them: the server's channel tests and
//! the `otklik` binary's kill test.
#![allow(dead_code)]

/// `(IMAP, SMTP)` as `host:port`, or none outside CI when the servers were not started.
pub fn servers() -> Option<(String, String)> {
    match (std::env::var("OTKLIK_TEST_IMAP"), std::env::var("OTKLIK_TEST_SMTP")) {
        (Ok(imap), Ok(smtp)) => Some((imap, smtp)),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("OTKLIK_TEST_IMAP and OTKLIK_TEST_SMTP are required under CI (scripts/mail-servers)")
        }
        _ => {
            eprintln!("skipped: no mail servers (run scripts/mail-servers)");
            None
        }
    }
}

pub type Imap = async_imap::Session<tokio::net::TcpStream>;

/// `user`'s INBOX, logged in and selected.
pub async fn imap(server: &str, user: &str) -> Imap {
    let tcp = tokio::net::TcpStream::connect(server).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap().unwrap();
    let mut session = client.login(user, "secret").await.map_err(|(error, _)| error).unwrap();
    session.select("INBOX").await.unwrap();
    session
}
