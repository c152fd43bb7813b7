//! Sending mail over SMTP with a few connections kept open and reused, built on lettre's
//! connection. lettre's own pooled transport writes a mail's body and its closing `.` in two
//! writes on a socket without `TCP_NODELAY`, so every mail waits out the peer's delayed ACK
//! (about 40 ms on Linux); these connections set `TCP_NODELAY`, which is what lets one node hand
//! over a thousand mails a second (docs/benchmarks.md).

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::{Mutex, Semaphore};

/// How long connecting, and then one mail, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where mail is sent, and how.
pub(crate) struct SmtpPool {
    host: String,
    port: u16,
    /// `smtps://`: TLS from the first byte; else STARTTLS when the server offers it.
    implicit_tls: bool,
    tls: TlsParameters,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    /// At most this many mails (and connections) at once.
    permits: Semaphore,
}

impl SmtpPool {
    pub(crate) fn new(
        host: String,
        port: u16,
        implicit_tls: bool,
        tls: TlsParameters,
        credentials: Option<Credentials>,
        hello: ClientId,
        connections: u32,
    ) -> SmtpPool {
        SmtpPool {
            host,
            port,
            implicit_tls,
            tls,
            credentials,
            hello,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(connections.max(1) as usize),
        }
    }

    /// Sends one mail over a kept connection, or a new one; a kept connection that turns out
    /// broken is replaced once.
    pub(crate) async fn send(&self, envelope: &Envelope, mail: &[u8]) -> Result<(), String> {
        let _permit = self.permits.acquire().await.map_err(|_| "the SMTP pool is closed".to_owned())?;
        let kept = self.idle.lock().await.pop();
        let (mut connection, fresh) = match kept {
            Some(connection) => (connection, false),
            None => (self.connect().await?, true),
        };
        match tokio::time::timeout(TIMEOUT, connection.send(envelope, mail)).await {
            Ok(Ok(_)) => {
                self.idle.lock().await.push(connection);
                Ok(())
            }
            // The server refused this mail (a wrong address): the connection is still good.
            Ok(Err(error)) if error.is_permanent() && !connection.has_broken() => {
                self.idle.lock().await.push(connection);
                Err(format!("SMTP: {error}"))
            }
            Ok(Err(_)) | Err(_) if !fresh => {
                // A kept connection the server had closed: once more on a new one.
                connection.abort().await;
                let mut connection = self.connect().await?;
                match tokio::time::timeout(TIMEOUT, connection.send(envelope, mail)).await {
                    Ok(Ok(_)) => {
                        self.idle.lock().await.push(connection);
                        Ok(())
                    }
                    Ok(Err(error)) => Err(format!("SMTP: {error}")),
                    Err(_) => Err("SMTP: the server did not answer within 30 s".to_owned()),
                }
            }
            Ok(Err(error)) => {
                connection.abort().await;
                Err(format!("SMTP: {error}"))
            }
            Err(_) => Err("SMTP: the server did not answer within 30 s".to_owned()),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let server = format!("{}:{}", self.host, self.port);
        let connecting = async {
            let mut connection = if self.implicit_tls {
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(TIMEOUT),
                    &self.hello,
                    Some(self.tls.clone()),
                    None,
                )
                .await
                .map_err(|error| format!("SMTP {server}: {error}"))?
            } else {
                let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(|error| format!("SMTP {server}: {error}"))?;
                tcp.set_nodelay(true).map_err(|error| format!("SMTP {server}: {error}"))?;
                let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(|error| format!("SMTP {server}: {error}"))?;
                if connection.can_starttls() {
                    connection
                        .starttls(self.tls.clone(), &self.hello)
                        .await
                        .map_err(|error| format!("SMTP {server}: STARTTLS: {error}"))?;
                }
                connection
            };
            if let Some(credentials) = &self.credentials {
                connection
                    .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(|error| format!("SMTP {server}: login: {error}"))?;
            }
            Ok(connection)
        };
        tokio::time::timeout(TIMEOUT, connecting).await.map_err(|_| format!("SMTP {server}: no answer within 30 s"))?
    }
}
