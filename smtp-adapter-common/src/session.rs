//! The session engine: one SMTP session over any [`Connection`], with the
//! call semantics every adapter shares (open, send, send many pipelined,
//! NOOP, RSET, QUIT; outcomes per message; a sticky error; cancellation),
//! written once. An adapter provides the connection; the blocking one runs
//! these futures with an executor that never sees them pending.

use crate::trace::Trace;
use crate::{Cause, Connection, Dial, Error, EventSink, Options, ReadBody, TlsPlan};
use smtp_proto::{
    Client, Envelope, Event, Instant, Outcome, Output, TransactionError, TransactionId, UsageError,
};
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::time::Duration;

/// The size of the buffer streamed bodies are read into (allocated with
/// the first streamed body).
pub const CHUNK: usize = 64 * 1024;

/// The size of the buffer replies are read into: replies are short, and a
/// longer read only takes another turn.
pub const READ_CHUNK: usize = 4 * 1024;

/// The shortest time limit handed to a read or write, so that a deadline
/// reached during a call still gets a read that times out (and then fails
/// the session).
const MIN_LIMIT: Duration = Duration::from_millis(1);

/// How far a call drives the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Until nothing is in flight: open for mail, idle again after NOOP or
    /// RSET, or closed after QUIT.
    Open,
    /// Until every message of the call's batch has its outcome.
    Outcomes,
}

/// The messages of one call: consecutive ids from `first`, and their
/// outcomes as they arrive.
#[derive(Debug, Default)]
struct Batch {
    first: u64,
    outcomes: Vec<Option<Outcome>>,
    received: usize,
}

impl Batch {
    fn index(&self, id: TransactionId) -> Option<usize> {
        let at = usize::try_from(id.0.checked_sub(self.first)?).ok()?;
        (at < self.outcomes.len()).then_some(at)
    }

    /// True when `id` is one of the batch's messages, without its outcome.
    fn awaits(&self, id: TransactionId) -> bool {
        self.index(id).is_some_and(|at| self.outcomes[at].is_none())
    }

    #[inline]
    fn put(&mut self, outcome: Outcome) {
        if let Some(at) = self.index(outcome.id) {
            self.outcomes[at] = Some(outcome);
            self.received += 1;
        }
    }

    fn is_complete(&self) -> bool {
        self.received == self.outcomes.len()
    }
}

/// No bodies in memory (a call that sends none, or streams its one).
const NO_BODIES: &[&[u8]] = &[];

/// No progress callback.
fn ignore(_: &Outcome) {}

/// An open SMTP session over a [`Connection`]. Each adapter names it
/// `Session` (the blocking one wraps it in calls that block).
///
/// A session is one call at a time. When it fails, every message not yet
/// accepted is reported [`NotSent`](TransactionError::NotSent) and every
/// later call returns the same error. A call whose future is dropped
/// midway leaves the session unusable ([`Error::Interrupted`]), since what
/// the server has seen is unknown.
#[derive(Debug)]
pub struct Session<C> {
    conn: C,
    client: Client,
    /// The core's clock is time since this.
    origin: std::time::Instant,
    /// The core's clock as read after the last I/O (a read or a write):
    /// what happens between two I/O events takes no time worth a second
    /// clock read.
    clock: Instant,
    /// Turned into a rustls configuration only if a handshake happens.
    tls: Option<TlsPlan>,
    /// Replies are read into this ([`READ_CHUNK`] bytes).
    buf: Vec<u8>,
    /// Streamed bodies are read into this ([`CHUNK`] bytes, allocated with
    /// the first streamed body).
    body_buf: Vec<u8>,
    sink: Option<EventSink>,
    events: VecDeque<Event>,
    /// A call is under way, or was cancelled midway.
    busy: bool,
    /// What failed on this side, when that ended the session.
    cause: Option<Cause>,
    /// Spans and events for `tracing` (nothing without the feature).
    trace: Trace,
}

impl<C: Dial> Session<C> {
    /// Connects to `host:port`, trying each resolved address in turn with
    /// the connect timeout, and opens the session (implicit TLS on port
    /// 465 unless the options say otherwise; greeting, EHLO, STARTTLS as
    /// the TLS policy says, AUTH).
    pub async fn connect(host: &str, port: u16, options: &Options) -> Result<Self, Error> {
        let connect_error = |source| Error::Connect {
            host: host.to_owned(),
            port,
            source,
        };
        let limit = options.connect_timeout;
        let addrs = C::resolve(host, port, limit).await.map_err(connect_error)?;
        let mut last = io::Error::new(ErrorKind::NotFound, "no address found");
        for addr in addrs {
            match C::connect(addr, limit).await {
                Ok(conn) => return Session::open(conn, host, port, options).await,
                Err(e) => last = e,
            }
        }
        Err(connect_error(last))
    }
}

impl<C: Connection> Session<C> {
    /// Opens a session over a stream you connected yourself; `host` is the
    /// name the server's certificate must carry. Implicit TLS only if
    /// [`Options::implicit_tls`] says so.
    pub async fn over(stream: C::Stream, host: &str, options: &Options) -> Result<Self, Error> {
        Session::open(C::plain(stream), host, 0, options).await
    }

    /// Opens the session on a connection to `port` of `host` (0: not
    /// known): implicit TLS if the options say so for that port, then
    /// greeting, EHLO, STARTTLS, AUTH. Every event goes to the options'
    /// event sink, if any, as it happens, so a session that fails to open
    /// still shows its dialogue there.
    async fn open(conn: C, host: &str, port: u16, options: &Options) -> Result<Self, Error> {
        let mut config = options.config_for(port);
        let implicit = config.implicit_tls;
        let tls = options.tls_plan(host, &config)?;
        let trace = Trace::open(host, port, &mut config);
        let mut client = Client::new(config, Instant::from_elapsed(Duration::ZERO));
        // Fresh random bytes for every connection (SCRAM's nonce); without
        // them the core never picks SCRAM.
        let mut entropy = [0u8; 18];
        if crate::options::secure_random(&mut entropy) {
            client.set_entropy(entropy);
        }
        let mut session = Session {
            conn,
            client,
            origin: std::time::Instant::now(),
            clock: Instant::from_elapsed(Duration::ZERO),
            tls,
            buf: vec![0; READ_CHUNK],
            body_buf: Vec::new(),
            sink: options.event_sink.clone(),
            events: VecDeque::new(),
            // Cancelling the opening drops the session too.
            busy: false,
            cause: None,
            trace,
        };
        if implicit {
            session.start_tls().await?;
        }
        // The core starts out waiting for the greeting: nothing to write.
        session.simple(|_, _| Ok(())).await?;
        Ok(session)
    }

    /// Sends one message whose body is in memory. `Ok` when the server
    /// decided (see [`Outcome::is_delivered`] and [`Outcome::refused`]);
    /// `Err` when the session failed before it did.
    pub async fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        let mut outcomes = self.send_many([(envelope, body)]).await?;
        self.decided(outcomes.pop())
    }

    /// Sends one message whose body is read from `body` in 64 KiB chunks
    /// (constant memory, whatever its size).
    pub async fn send_from<R>(&mut self, envelope: &Envelope, mut body: R) -> Result<Outcome, Error>
    where
        C: ReadBody<R>,
    {
        let mut batch = self.queue(&[envelope])?;
        let driven = async {
            while self
                .drive(Goal::Outcomes, &mut batch, NO_BODIES, &mut ignore)
                .await?
                .is_some()
            {
                self.give_read_body(&mut body).await?;
            }
            Ok(())
        }
        .await;
        let mut outcomes = self.finish(batch, driven, &mut ignore);
        self.decided(outcomes.pop())
    }

    /// Sends several messages whose bodies are in memory, queued together
    /// so that the core pipelines them when the server allows. Returns one
    /// outcome per message, in order. If the session fails midway, the
    /// messages it could not finish are reported
    /// [`NotSent`](TransactionError::NotSent) and the next call returns the
    /// error. Envelopes are lent (`&envelope`, never copied) or given.
    pub async fn send_many<E: Borrow<Envelope>, B: AsRef<[u8]>>(
        &mut self,
        messages: impl IntoIterator<Item = (E, B)>,
    ) -> Result<Vec<Outcome>, Error> {
        self.send_many_with(messages, ignore).await
    }

    /// [`Session::send_many`], handing each message's outcome to
    /// `progress` as soon as it is known (in the order of the messages),
    /// while the rest of the batch is still on its way: to move a progress
    /// bar, or log each message.
    pub async fn send_many_with<E: Borrow<Envelope>, B: AsRef<[u8]>>(
        &mut self,
        messages: impl IntoIterator<Item = (E, B)>,
        mut progress: impl FnMut(&Outcome),
    ) -> Result<Vec<Outcome>, Error> {
        let (envelopes, bodies): (Vec<E>, Vec<B>) = messages.into_iter().unzip();
        let mut batch = self.queue(&envelopes)?;
        let driven = match self
            .drive(Goal::Outcomes, &mut batch, &bodies, &mut progress)
            .await
        {
            // The core asked for the body of a message not of this call.
            Ok(Some(_)) => Err(UsageError::NotExpectingBody.into()),
            driven => driven.map(drop),
        };
        Ok(self.finish(batch, driven, &mut progress))
    }

    /// Sends NOOP and waits for its reply: checks that an idle session is
    /// still alive (or keeps it so). Only while no message is in flight.
    pub async fn noop(&mut self) -> Result<(), Error> {
        self.simple(Client::noop).await
    }

    /// Sends RSET and waits for its reply. Only while no message is in
    /// flight.
    pub async fn rset(&mut self) -> Result<(), Error> {
        self.simple(Client::rset).await
    }

    /// Ends the session with QUIT and waits for the server's reply (221),
    /// keeping the session so that [`Session::events`] still yields the
    /// last events (the QUIT and 221 transcript lines). Later sends fail; a
    /// second `close` returns the same result.
    pub async fn close(&mut self) -> Result<(), Error> {
        self.simple(|client, now| {
            client.quit(now);
            Ok(())
        })
        .await
    }

    /// Ends the session with QUIT and waits for the server's reply. The
    /// events of QUIT go with the session: use [`Session::close`] (or an
    /// event sink, [`Options::on_event`]) to see them.
    pub async fn quit(mut self) -> Result<(), Error> {
        self.close().await
    }

    /// The core: its stage, the server's capabilities, whether the
    /// connection is encrypted.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Drains the events seen so far other than outcomes (greeting,
    /// capabilities, transcript lines when `Config::transcript` is on).
    /// Empty when the options have an event sink, which gets them instead.
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.collect(&mut Batch::default(), &mut ignore);
        self.events.drain(..)
    }

    /// The underlying stream (under TLS, if any); `None` after a TLS
    /// handshake failed or was cancelled.
    pub fn get_ref(&self) -> Option<&C::Stream> {
        self.conn.stream()
    }

    /// How many messages this session has taken (sent or tried).
    pub fn messages_sent(&self) -> u64 {
        self.client.messages_queued()
    }

    /// True when the session can take a message: open, idle, no error, no
    /// call left midway.
    pub fn is_usable(&self) -> bool {
        // Ready: open, so neither failed nor closed.
        !self.busy && self.client.is_idle() && self.client.stage() == smtp_proto::Stage::Ready
    }

    /// Reads, without waiting, whatever the server sent while the session
    /// was idle: a 421 or 221 before it closed, or the end of the stream,
    /// ends the session (the core reports it). True if the session can
    /// still take a message.
    pub(crate) async fn poll_idle(&mut self) -> bool {
        if !self.is_usable() {
            return false;
        }
        let read = self.conn.read(&mut self.buf, Duration::ZERO).await;
        // A failure is the session's now: it is not usable.
        let _ = self.handle_read(read);
        self.is_usable()
    }

    /// A message's outcome when the server decided on it (accepted or
    /// refused), else the error that ended the session before it did.
    pub(crate) fn decided(&self, outcome: Option<Outcome>) -> Result<Outcome, Error> {
        let Some(outcome) = outcome else {
            return Err(self.failure().unwrap_or(UsageError::SessionClosed.into()));
        };
        match &outcome.result {
            Err(TransactionError::NotSent(e)) => Err(Error::Smtp {
                error: Box::new(self.client.error().unwrap_or(e).clone()),
                cause: self.cause.clone(),
                fate_unknown: outcome.fate_unknown(),
            }),
            _ => Ok(outcome),
        }
    }

    /// Reads the core's clock, and keeps it (`clock`) until the next
    /// I/O.
    fn now(&mut self) -> Instant {
        self.clock = Instant::from_elapsed(self.origin.elapsed());
        self.clock
    }

    /// The error that ended the session, if one did.
    fn failure(&self) -> Option<Error> {
        let error = self.client.error()?;
        Some(Error::session(error, self.cause.clone()))
    }

    /// Starts a call: refused while another is under way (or was cancelled
    /// midway), and on a session that failed (with its error). The clock
    /// is read as it starts.
    fn begin(&mut self) -> Result<(), Error> {
        if self.busy {
            return Err(Error::Interrupted);
        }
        if let Some(e) = self.failure() {
            return Err(e);
        }
        self.busy = true;
        self.now();
        Ok(())
    }

    /// Starts a call that sends `envelopes`: all of them, or (if one has no
    /// recipient) none.
    fn queue<E: Borrow<Envelope>>(&mut self, envelopes: &[E]) -> Result<Batch, Error> {
        // All or none: every envelope is checked before one is queued.
        for envelope in envelopes {
            Client::check_envelope(envelope.borrow())?;
        }
        self.begin()?;
        let mut batch = Batch {
            outcomes: Vec::with_capacity(envelopes.len()),
            ..Batch::default()
        };
        for envelope in envelopes {
            match self.client.send(envelope.borrow(), self.clock) {
                Ok(id) if batch.outcomes.is_empty() => batch.first = id.0,
                Ok(_) => {}
                Err(e) => {
                    // Before the first: nothing queued (the envelopes are
                    // sound, so only the session's state refuses them).
                    self.busy = false;
                    return Err(e.into());
                }
            }
            batch.outcomes.push(None);
        }
        self.trace.queued(batch.first, batch.outcomes.len());
        Ok(batch)
    }

    /// Ends a call that sent messages: their outcomes, in order. A call
    /// that failed leaves the session failed, and the core reports every
    /// message it could not finish not sent.
    fn finish(
        &mut self,
        mut batch: Batch,
        driven: Result<(), Error>,
        progress: &mut impl FnMut(&Outcome),
    ) -> Vec<Outcome> {
        if driven.is_err() && !self.client.is_closed() {
            // A misuse midway (the core refused a body): the session cannot
            // go on with messages half sent.
            let now = self.now();
            self.client.handle_transport_error(now);
        }
        self.collect(&mut batch, progress);
        self.busy = false;
        if batch.is_complete() {
            // Every place filled (the usual case): collected in place, each
            // outcome moved once (`map_while` reuses the allocation).
            return batch.outcomes.into_iter().map_while(|o| o).collect();
        }
        let mut outcomes = Vec::with_capacity(batch.received);
        outcomes.extend(batch.outcomes.into_iter().flatten());
        outcomes
    }

    /// A call that sends no message: `write` hands the core its command
    /// (none for the opening, which the core starts by itself), then the
    /// session is driven until it is idle again (or closed).
    async fn simple(
        &mut self,
        write: impl FnOnce(&mut Client, Instant) -> Result<(), UsageError>,
    ) -> Result<(), Error> {
        self.begin()?;
        let result = match write(&mut self.client, self.clock) {
            Ok(()) => match self
                .drive(Goal::Open, &mut Batch::default(), NO_BODIES, &mut ignore)
                .await
            {
                Ok(Some(_)) => Err(UsageError::NotExpectingBody.into()),
                driven => driven.map(drop),
            },
            Err(e) => Err(e.into()),
        };
        self.busy = false;
        result
    }

    /// The loop: performs the I/O the core asks for until `goal` is
    /// reached (`None`) or the core wants a body that is not in `bodies`
    /// (`Some(id)`), handing each outcome of `batch` to `progress` as it
    /// arrives. `bodies` are the batch's, in memory (or none).
    async fn drive(
        &mut self,
        goal: Goal,
        batch: &mut Batch,
        bodies: &[impl AsRef<[u8]>],
        progress: &mut impl FnMut(&Outcome),
    ) -> Result<Option<TransactionId>, Error> {
        let write_limit = self.client.config().timeouts.data_block.max(MIN_LIMIT);
        loop {
            self.collect(batch, progress);
            match self.client.poll_output() {
                Output::Transmit(bytes) => {
                    if let Err(e) = self.conn.write_all(bytes, write_limit).await {
                        return Err(self.fail(Cause::from_io(e), false));
                    }
                    self.now();
                }
                Output::StartTls => {
                    self.start_tls().await?;
                    let now = self.now();
                    self.client.handle_tls_established(now)?;
                }
                Output::NeedBody(id) => {
                    let Some(body) = batch.index(id).and_then(|at| bodies.get(at)) else {
                        return Ok(Some(id));
                    };
                    let body = body.as_ref();
                    self.trace.body(id, body);
                    self.client.send_body(body, true, self.clock)?;
                }
                Output::Wait(_) if goal == Goal::Outcomes && batch.is_complete() => {
                    return Ok(None);
                }
                Output::Wait(deadline) => {
                    let limit = self.clock.until(deadline).max(MIN_LIMIT);
                    let read = self.conn.read(&mut self.buf, limit).await;
                    self.handle_read(read)?;
                }
                Output::Ready | Output::Closed(Ok(())) => return Ok(None),
                Output::Closed(Err(e)) => return Err(Error::session(&e, self.cause.clone())),
            }
        }
    }

    /// Hands the core what a read gave: bytes, the end of the stream, or
    /// (for a time limit) the time; any other error fails the session.
    fn handle_read(&mut self, read: io::Result<usize>) -> Result<(), Error> {
        let now = self.now();
        match read {
            Ok(0) => self.client.handle_eof(now),
            Ok(n) => self.client.handle_input(&self.buf[..n], now),
            Err(e) => match e.kind() {
                ErrorKind::UnexpectedEof => self.client.handle_eof(now),
                ErrorKind::TimedOut | ErrorKind::WouldBlock => self.client.handle_timeout(now),
                ErrorKind::Interrupted => {}
                _ => return Err(self.fail(Cause::from_io(e), false)),
            },
        }
        Ok(())
    }

    /// Reads the next chunk of a streamed body (until the buffer is full or
    /// the body ends, so that the end of data can share a write with the
    /// last chunk) and hands it to the core.
    async fn give_read_body<R>(&mut self, body: &mut R) -> Result<(), Error>
    where
        C: ReadBody<R>,
    {
        self.body_buf.resize(CHUNK, 0);
        let mut n = 0;
        while n < CHUNK {
            match C::read_body(body, &mut self.body_buf[n..]).await {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(Cause::from_io(e), true)),
            }
        }
        // Short of a full buffer only at the end.
        let last = n < CHUNK;
        let now = self.now();
        Ok(self.client.send_body(&self.body_buf[..n], last, now)?)
    }

    /// Runs the TLS handshake the core asked for (or implicit TLS's); on
    /// failure the core is told, and the session is over.
    async fn start_tls(&mut self) -> Result<(), Error> {
        let plan = self.tls.as_mut();
        let plan = plan.ok_or_else(|| Error::Config("no TLS configuration".into()));
        let target = match plan.and_then(TlsPlan::target) {
            Ok(target) => target,
            Err(e) => return Err(self.fail_tls(None, e)),
        };
        let limit = self.client.config().timeouts.tls_handshake.max(MIN_LIMIT);
        match self.conn.start_tls(&target, limit).await {
            Ok(exporter) => {
                if let Some(exporter) = exporter {
                    self.client.set_tls_exporter(exporter);
                }
                Ok(())
            }
            Err(e) => Err(self.fail_tls(Some(Cause::from_io(e)), UsageError::SessionClosed.into())),
        }
    }

    /// Tells the core the handshake failed: because of `cause` (then the
    /// session's error is returned), or before it could start (then
    /// `error`, which says why).
    fn fail_tls(&mut self, cause: Option<Cause>, error: Error) -> Error {
        let now = self.now();
        if self.client.handle_tls_failed(now).is_err() {
            // No handshake was due: the connection is given up all the same.
            self.client.handle_transport_error(now);
        }
        let Some(cause) = cause else {
            return self.trace.failed(error);
        };
        self.cause = Some(cause);
        self.trace.failed(self.failure().unwrap_or(error))
    }

    /// The connection failed on this side (`body`: reading the caller's
    /// body did): the core ends the session, unless it had already ended
    /// it for a reason of its own (a reply, a deadline, the server
    /// closing), which then stands, so that a failed polite QUIT does not
    /// hide why. Returns the session's error.
    fn fail(&mut self, cause: Cause, body: bool) -> Error {
        if self.client.error().is_none() && !self.client.is_closed() {
            let now = self.now();
            if !body || self.client.handle_body_error(now).is_err() {
                self.client.handle_transport_error(now);
            }
            self.cause = Some(cause);
        }
        self.trace
            .failed(self.failure().unwrap_or(UsageError::SessionClosed.into()))
    }

    /// Moves the core's events out: each to the sink if there is one, each
    /// outcome of `batch` into it (and to `progress`), the others to the
    /// event queue unless a sink took them.
    fn collect(&mut self, batch: &mut Batch, progress: &mut impl FnMut(&Outcome)) {
        while let Some(event) = self.client.poll_event() {
            if !self.trace.event(&event, &self.client) {
                continue;
            }
            if let Some(sink) = &self.sink {
                sink.emit(&event);
            }
            match event {
                Event::Outcome(outcome) if batch.awaits(outcome.id) => {
                    progress(&outcome);
                    batch.put(outcome);
                }
                event if self.sink.is_none() => self.events.push_back(event),
                _ => {}
            }
        }
    }
}
