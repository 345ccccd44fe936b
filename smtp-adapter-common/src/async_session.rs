//! The session and loop of the two async adapters (smtp-tokio and
//! smtp-asyncstd), written once against the little each of them provides:
//! a connection that reads and writes within a time limit and can start
//! TLS ([`AsyncConnection`]), and a body that fills a buffer
//! ([`AsyncBody`]). Their I/O traits differ (tokio's and futures-io's);
//! nothing else does.

use crate::{
    CHUNK, Driver, Error, Goal, IntoEnvelope, Options, READ_CHUNK, Step, TlsPlan, TlsTarget,
    body_of,
};
use smtp_proto::{Client, Config, Envelope, Event, Outcome, Stage, TransactionId, UsageError};
use std::future::Future;
use std::io;
use std::time::Duration;

/// A connection as the async loop needs it. A time limit that passes is
/// an error of kind [`io::ErrorKind::TimedOut`].
pub trait AsyncConnection {
    /// Reads what is there into `buf` (0 at the end of the stream), within
    /// `limit`.
    fn read(&mut self, buf: &mut [u8], limit: Duration) -> impl Future<Output = io::Result<usize>>;

    /// Writes all of `bytes` with one write call and flushes, within
    /// `limit`.
    fn write_all(&mut self, bytes: &[u8], limit: Duration) -> impl Future<Output = io::Result<()>>;

    /// Runs the TLS handshake on the plaintext connection within `limit`;
    /// errors name `stage`. After a failure the connection is unusable.
    /// Returns the connection's TLS exporter for channel binding (see
    /// [`crate::tls_exporter`]), when there is one.
    fn start_tls(
        &mut self,
        tls: &TlsTarget,
        limit: Duration,
        stage: Stage,
    ) -> impl Future<Output = Result<Option<[u8; 32]>, Error>>;
}

/// A message body as the async loop reads it.
pub trait AsyncBody {
    /// Reads until `buf` is full or the body ends; returns how much was
    /// read and whether the body ended.
    fn fill(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<(usize, bool)>>;

    /// The whole body at once, when it is already in memory: it is then
    /// handed to the core as it is, without going through a buffer, and
    /// the body is left empty. `None` (the default) for a body that must
    /// be read with [`AsyncBody::fill`].
    fn take_in_memory(&mut self) -> Option<&[u8]> {
        None
    }
}

impl AsyncBody for &[u8] {
    async fn fill(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let n = buf.len().min(self.len());
        let (chunk, rest) = self.split_at(n);
        buf[..n].copy_from_slice(chunk);
        *self = rest;
        Ok((n, self.is_empty()))
    }

    fn take_in_memory(&mut self) -> Option<&[u8]> {
        Some(std::mem::take(self))
    }
}

/// An open session over an [`AsyncConnection`]; the async adapters wrap it
/// in their own `Session` type.
#[derive(Debug)]
pub struct AsyncSession<C> {
    conn: C,
    pub(crate) driver: Driver,
    /// Turned into a rustls configuration only if a handshake happens.
    tls: Option<TlsPlan>,
    /// Replies are read into this ([`READ_CHUNK`] bytes).
    buf: Vec<u8>,
    /// Streamed bodies are read into this: [`CHUNK`] bytes, allocated
    /// with the first streamed body (in-memory bodies need none).
    body_buf: Vec<u8>,
}

/// No progress callback.
fn ignore(_: &Outcome) {}

impl<C: AsyncConnection> AsyncSession<C> {
    /// Opens the session on a connected stream: implicit TLS if `config`
    /// says so, then greeting, EHLO, STARTTLS, AUTH. `host` is the name the
    /// certificate must carry. Every event goes to the options' event sink,
    /// if any, as it happens, so a session that fails to open still shows
    /// its dialogue there.
    pub async fn open(
        conn: C,
        host: &str,
        config: Config,
        options: &Options,
    ) -> Result<Self, Error> {
        let implicit = config.implicit_tls;
        let tls = options.tls_plan(host, &config)?;
        let mut session = AsyncSession {
            conn,
            driver: Driver::new(config).with_sink(options.event_sink.clone()),
            tls,
            buf: vec![0; READ_CHUNK],
            body_buf: Vec::new(),
        };
        session.driver.begin()?;
        let mut opened = Ok(());
        if let (true, Some(plan)) = (implicit, session.tls.as_mut()) {
            let limit = session.driver.handshake_timeout();
            let started = match plan.target() {
                Ok(tls) => session.conn.start_tls(&tls, limit, Stage::Init).await,
                Err(e) => Err(e),
            };
            match started {
                Ok(exporter) => session.driver.set_tls_exporter(exporter),
                Err(e) => opened = Err(session.driver.tls_failed(e)),
            }
        }
        if opened.is_ok() {
            opened = session.drive(Goal::Open, no_body(), &mut ignore).await;
        }
        session.driver.finish_call(opened)?;
        Ok(session)
    }

    /// Sends one message; see the adapters' `Session::send_from`.
    pub async fn send<B: AsyncBody>(
        &mut self,
        envelope: &Envelope,
        body: B,
    ) -> Result<Outcome, Error> {
        self.driver.begin()?;
        let id = match self.driver.queue([envelope]) {
            Ok(ids) => ids[0],
            Err(e) => return Err(e).inspect_err(|_| self.driver.end()),
        };
        let driven = self
            .drive(Goal::Outcomes(&[id]), &mut [(id, body)], &mut ignore)
            .await;
        self.driver.finish_one(id, driven)
    }

    /// Sends several messages, pipelined, handing each outcome to
    /// `progress` as soon as it is known; see the adapters'
    /// `Session::send_many_with`. Envelopes given by reference are cloned
    /// for the core, owned ones moved to it.
    pub async fn send_many<E: IntoEnvelope, B: AsyncBody, P: FnMut(&Outcome)>(
        &mut self,
        messages: impl IntoIterator<Item = (E, B)>,
        mut progress: P,
    ) -> Result<Vec<Outcome>, Error> {
        self.driver.begin()?;
        let (envelopes, bodies): (Vec<E>, Vec<B>) = messages.into_iter().unzip();
        let ids = match self.driver.queue(envelopes) {
            Ok(ids) => ids,
            Err(e) => return Err(e).inspect_err(|_| self.driver.end()),
        };
        let mut sources: Vec<_> = ids.iter().copied().zip(bodies).collect();
        let driven = self
            .drive(Goal::Outcomes(&ids), &mut sources, &mut progress)
            .await;
        Ok(self.driver.finish_batch(&ids, driven, &mut progress))
    }

    /// Sends NOOP and waits for its reply (only while idle).
    pub async fn noop(&mut self) -> Result<(), Error> {
        self.simple(Driver::noop).await
    }

    /// Sends RSET and waits for its reply (only while idle).
    pub async fn rset(&mut self) -> Result<(), Error> {
        self.simple(Driver::rset).await
    }

    async fn simple(&mut self, write: fn(&mut Driver) -> Result<(), Error>) -> Result<(), Error> {
        self.driver.begin()?;
        if let Err(e) = write(&mut self.driver) {
            self.driver.end();
            return Err(e);
        }
        let driven = self.drive(Goal::Open, no_body(), &mut ignore).await;
        self.driver.finish_call(driven)
    }

    /// Ends the session with QUIT and waits for the server's reply. The
    /// session stays, so that [`AsyncSession::events`] still holds the
    /// dialogue's last events.
    pub async fn close(&mut self) -> Result<(), Error> {
        self.driver.begin()?;
        self.driver.quit();
        let closed = self.drive(Goal::Closed, no_body(), &mut ignore).await;
        self.driver.finish_call(closed)
    }

    /// Ends the session with QUIT and waits for the server's reply.
    pub async fn quit(mut self) -> Result<(), Error> {
        self.close().await
    }

    /// Reads, without waiting, whatever the server sent while the session
    /// was idle: a 421 or 221 before it closed, or the end of the stream,
    /// ends the session (the core reports it). True if the session can
    /// still take a message.
    pub async fn read_idle(&mut self) -> bool {
        if !self.driver.is_usable() {
            return false;
        }
        let stage = self.driver.stage();
        match self.conn.read(&mut self.buf, Duration::ZERO).await {
            Ok(0) => self.driver.eof(),
            Ok(n) => self.driver.input(&self.buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.driver.eof(),
            Err(e) => {
                self.driver.fail(Error::from_io(e, stage));
            }
        }
        self.driver.is_usable()
    }

    /// The core.
    pub fn client(&self) -> &Client {
        self.driver.client()
    }

    /// Drains the events other than outcomes.
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.driver.events()
    }

    /// The connection.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// The loop: performs the I/O each step of the driver names, and
    /// hands each outcome to `progress` as it arrives.
    async fn drive<B: AsyncBody, P: FnMut(&Outcome)>(
        &mut self,
        goal: Goal<'_>,
        bodies: &mut [(TransactionId, B)],
        progress: &mut P,
    ) -> Result<(), Error> {
        loop {
            self.driver.report_progress(progress);
            let stage = self.driver.stage();
            let write_timeout = self.driver.write_timeout();
            match self.driver.step(goal)? {
                Step::Write(bytes) => self
                    .conn
                    .write_all(bytes, write_timeout)
                    .await
                    .map_err(|e| Error::from_io(e, stage))?,
                Step::Read(limit) => match self.conn.read(&mut self.buf, limit).await {
                    Ok(0) => self.driver.eof(),
                    Ok(n) => self.driver.input(&self.buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.driver.eof(),
                    Err(e) => match Error::from_io(e, stage) {
                        Error::Timeout(_) => self.driver.timed_out(),
                        other => return Err(other),
                    },
                },
                Step::Body(id) => {
                    let Some(body) = body_of(bodies, id) else {
                        return Err(UsageError::NotExpectingBody.into());
                    };
                    if let Some(whole) = body.take_in_memory() {
                        self.driver.body(whole, true)?;
                        continue;
                    }
                    if self.body_buf.is_empty() {
                        self.body_buf = vec![0; CHUNK];
                    }
                    let (n, last) = body.fill(&mut self.body_buf).await.map_err(Error::Body)?;
                    self.driver.body(&self.body_buf[..n], last)?;
                }
                Step::StartTls => {
                    let plan = self.tls.as_mut().ok_or(UsageError::NotExpectingTls)?;
                    let tls = match plan.target() {
                        Ok(tls) => tls,
                        Err(e) => return Err(self.driver.tls_failed(e)),
                    };
                    let limit = self.driver.handshake_timeout();
                    match self.conn.start_tls(&tls, limit, stage).await {
                        Ok(exporter) => self.driver.set_tls_exporter(exporter),
                        Err(e) => return Err(self.driver.tls_failed(e)),
                    }
                    self.driver.tls_established()?;
                }
                Step::Done => return Ok(()),
            }
        }
    }
}

/// No body to give (opening, NOOP, RSET, QUIT).
fn no_body() -> &'static mut [(TransactionId, &'static [u8])] {
    &mut []
}

/// The verdict of a one-call `send`: the outcome when the server accepted
/// the message for at least one recipient, [`Error::Rejected`] otherwise.
pub fn delivered(outcome: Outcome) -> Result<Outcome, Error> {
    match outcome.is_delivered() {
        true => Ok(outcome),
        false => Err(Error::Rejected(Box::new(outcome))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_fill_in_chunks_and_say_when_they_end() {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut body: &[u8] = b"abcdefgh";
        let mut buf = [0u8; 5];
        let mut fill = |body: &mut &[u8], buf: &mut [u8]| {
            let fut = std::pin::pin!(body.fill(buf));
            match fut.poll(&mut cx) {
                std::task::Poll::Ready(r) => r.unwrap(),
                std::task::Poll::Pending => unreachable!(),
            }
        };
        assert_eq!(fill(&mut body, &mut buf), (5, false));
        assert_eq!(&buf, b"abcde");
        assert_eq!(fill(&mut body, &mut buf), (3, true));
        assert_eq!(&buf[..3], b"fgh");
        let mut whole: &[u8] = b"abc";
        assert_eq!(whole.take_in_memory(), Some(&b"abc"[..]));
        assert!(whole.is_empty(), "taken whole, nothing left to fill");
    }
}
