//! The IO-free half of every adapter's loop: the core, its clock, the
//! outcomes collected so far, and one [`Driver::step`] that says what I/O to
//! do next. An adapter only performs the I/O each [`Step`] names.

use crate::{Error, EventSink};
use smtp_proto::{
    Client, Config, Envelope, ErrorKind, Event, Instant, Outcome, Output, Stage, TransactionError,
    TransactionId, UsageError,
};
use std::collections::VecDeque;
use std::time::Duration;

/// The size of the buffer adapters read streamed body chunks into
/// (allocated with the first streamed body).
pub const CHUNK: usize = 64 * 1024;

/// The size of the buffer adapters read replies into: replies are short,
/// and a longer read only takes another turn.
pub const READ_CHUNK: usize = 4 * 1024;

/// The shortest read timeout handed out, so that a deadline reached during a
/// call still gets a read that times out (and then fails the session).
const MIN_READ: Duration = Duration::from_millis(1);

/// Maps the adapter's monotonic clock to the core's [`Instant`]: time
/// elapsed since the connection started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: std::time::Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Self {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// The core's `now`.
    pub fn now(&self) -> Instant {
        Instant::from_elapsed(self.origin.elapsed())
    }

    /// The std instant of a core instant.
    pub fn to_std(&self, at: Instant) -> std::time::Instant {
        self.origin + at.elapsed()
    }
}

/// An envelope as the sending calls take it: by reference (cloned for
/// the core, which keeps its own) or owned (moved to the core, no clone).
pub trait IntoEnvelope {
    /// The envelope.
    fn envelope(&self) -> &Envelope;
    /// The envelope, owned.
    fn into_envelope(self) -> Envelope;
}

impl IntoEnvelope for Envelope {
    fn envelope(&self) -> &Envelope {
        self
    }
    fn into_envelope(self) -> Envelope {
        self
    }
}

impl IntoEnvelope for &Envelope {
    fn envelope(&self) -> &Envelope {
        self
    }
    fn into_envelope(self) -> Envelope {
        self.clone()
    }
}

/// How far a call drives the session.
#[derive(Debug, Clone, Copy)]
pub enum Goal<'a> {
    /// Until the session is open for mail (greeting, EHLO, STARTTLS, AUTH
    /// done), or idle again (after NOOP or RSET).
    Open,
    /// Until every one of these messages has its outcome.
    Outcomes(&'a [TransactionId]),
    /// Until the session is over (after [`Driver::quit`]).
    Closed,
}

/// The next I/O an adapter must perform.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Write all these bytes with one write call (they may hold several
    /// pipelined commands), then step again. Use
    /// [`Driver::write_timeout`].
    Write(&'a [u8]),
    /// Run the TLS handshake on the connection, then call
    /// [`Driver::tls_established`] (or [`Driver::fail`]).
    StartTls,
    /// Read the next chunk of this message's body (at most [`CHUNK`]
    /// bytes: until the buffer is full or the body ends) and give it to
    /// [`Driver::body`]. (A body already in memory can be given whole,
    /// as its last chunk, without a copy.)
    Body(TransactionId),
    /// Read from the connection with this timeout; give what arrives to
    /// [`Driver::input`], end of stream to [`Driver::eof`], a timeout to
    /// [`Driver::timed_out`].
    Read(Duration),
    /// The goal is reached.
    Done,
}

/// The core plus what every adapter keeps beside it.
#[derive(Debug)]
pub struct Driver {
    client: Client,
    clock: Clock,
    /// Outcomes not yet taken, each with whether the call's progress
    /// callback has seen it.
    outcomes: Vec<(Outcome, bool)>,
    unreported: usize,
    /// The ids handed out by the last [`Driver::queue`] (consecutive:
    /// only `queue` calls the core's `send`), first and count.
    batch: (u64, usize),
    /// How many outcomes of that batch arrived: every queued message yields
    /// exactly one, so the batch is complete when this reaches its length.
    received: usize,
    events: VecDeque<Event>,
    sink: Option<EventSink>,
    busy: bool,
    /// When the last call ended.
    last_used: Instant,
    /// The clock as last read: once per I/O event (a read, a handshake, a
    /// body chunk, a call that queues or writes), not at every step.
    now: Instant,
    failure: Option<Error>,
}

impl Driver {
    /// A driver for a connection that has just been opened.
    pub fn new(config: Config) -> Self {
        let clock = Clock::start();
        let now = clock.now();
        let mut client = Client::new(config, now);
        // Fresh random bytes for every connection (SCRAM's nonce); without
        // them the core never picks SCRAM.
        let mut entropy = [0u8; 18];
        if crate::options::secure_random(&mut entropy) {
            client.set_entropy(entropy);
        }
        Driver {
            client,
            last_used: now,
            now,
            clock,
            outcomes: Vec::new(),
            unreported: 0,
            batch: (0, 0),
            received: 0,
            events: VecDeque::new(),
            sink: None,
            busy: false,
            failure: None,
        }
    }

    /// Sends every event to `sink` as it happens instead of keeping the
    /// events other than outcomes for [`Driver::events`] (see
    /// [`EventSink`]).
    pub fn with_sink(mut self, sink: Option<EventSink>) -> Self {
        self.sink = sink;
        self
    }

    /// The core, to ask its stage, capabilities or whether it is encrypted.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where the dialogue is.
    pub fn stage(&self) -> Stage {
        self.client.stage()
    }

    /// How long one write may take: the core's data-block timeout.
    pub fn write_timeout(&self) -> Duration {
        self.client.config().timeouts.data_block
    }

    /// How long a TLS handshake (STARTTLS or implicit TLS) may take: the
    /// core's [`tls_handshake`](smtp_proto::Timeouts::tls_handshake)
    /// timeout.
    pub fn handshake_timeout(&self) -> Duration {
        self.client.config().timeouts.tls_handshake
    }

    /// How long the session has been idle (no call in progress, nothing
    /// in flight) since the last call ended; zero while busy.
    pub fn idle_for(&self) -> Duration {
        match self.busy {
            true => Duration::ZERO,
            false => self.last_used.until(self.clock.now()),
        }
    }

    /// True when the session can take a message: open, idle, no error, no
    /// call left midway.
    pub fn is_usable(&self) -> bool {
        !self.busy
            && self.failure.is_none()
            && !self.client.is_closed()
            && self.client.is_idle()
            && self.client.stage() == Stage::Ready
    }

    /// Marks the start of a call. Fails with [`Error::Interrupted`] if an
    /// earlier call never reached [`Driver::end`] (its future was dropped),
    /// and hands out once the error that broke the session, if one did.
    pub fn begin(&mut self) -> Result<(), Error> {
        if self.busy {
            return Err(Error::Interrupted);
        }
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        self.busy = true;
        Ok(())
    }

    /// Marks the end of a call begun with [`Driver::begin`].
    pub fn end(&mut self) {
        self.busy = false;
        // The call's last I/O event has just read the clock.
        self.last_used = self.now;
    }

    /// Reads the clock (at an I/O event) and keeps the reading.
    fn tick(&mut self) -> Instant {
        self.now = self.clock.now();
        self.now
    }

    /// True when `ids` are exactly the ids of the last [`Driver::queue`].
    fn is_batch(&self, ids: &[TransactionId]) -> bool {
        let (first, count) = self.batch;
        count > 0
            && ids.len() == count
            && ids[0].0 == first
            && ids[count - 1].0 == first + (count as u64 - 1)
    }

    /// Moves the core's events out: outcomes to the outcome list, every
    /// event to the sink if there is one, the others to the event queue
    /// otherwise.
    fn collect(&mut self) {
        while let Some(event) = self.client.poll_event() {
            if let Some(sink) = &self.sink {
                sink.emit(&event);
            }
            match event {
                Event::Outcome(outcome) => {
                    let (first, count) = self.batch;
                    if outcome.id.0.wrapping_sub(first) < count as u64 {
                        self.received += 1;
                    }
                    self.outcomes.push((outcome, false));
                    self.unreported += 1;
                }
                _ if self.sink.is_some() => {}
                other => self.events.push_back(other),
            }
        }
    }

    /// Hands each outcome that arrived since the last call to `progress`,
    /// in the order they arrived. Adapters call it in their loop so that a
    /// batch reports each message as soon as its fate is known.
    pub fn report_progress(&mut self, progress: &mut dyn FnMut(&Outcome)) {
        self.collect();
        if self.unreported == 0 {
            return;
        }
        // The outcomes not yet seen are the last ones (each arrives at the
        // end, unseen; every call that marks some marks all).
        let from = self.outcomes.len() - self.unreported;
        for (outcome, seen) in &mut self.outcomes[from..] {
            *seen = true;
            progress(outcome);
        }
        self.unreported = 0;
    }

    /// What to do next to reach `goal`.
    pub fn step(&mut self, goal: Goal<'_>) -> Result<Step<'_>, Error> {
        self.collect();
        let reached = match goal {
            // The ids of the last `queue` (what every adapter asks for):
            // their outcomes were counted as they came.
            Goal::Outcomes(ids) if self.is_batch(ids) => self.received == ids.len(),
            Goal::Outcomes(ids) => ids
                .iter()
                .all(|id| self.outcomes.iter().any(|(o, _)| o.id == *id)),
            Goal::Open | Goal::Closed => false,
        };
        // The clock is read only when a read is to be timed.
        let now = &mut self.now;
        let clock = &self.clock;
        Ok(match self.client.poll_output() {
            Output::Transmit(bytes) => Step::Write(bytes),
            Output::StartTls => Step::StartTls,
            Output::NeedBody(id) => Step::Body(id),
            Output::Wait(_) if reached => Step::Done,
            Output::Wait(deadline) => {
                *now = clock.now();
                Step::Read(now.until(deadline).max(MIN_READ))
            }
            Output::Ready | Output::Closed(Ok(())) => Step::Done,
            Output::Closed(Err(e)) => return Err(e.into()),
        })
    }

    /// Bytes read from the server.
    pub fn input(&mut self, bytes: &[u8]) {
        let now = self.tick();
        self.client.handle_input(bytes, now);
    }

    /// The server closed the connection.
    pub fn eof(&mut self) {
        let now = self.tick();
        self.client.handle_eof(now);
    }

    /// A read timed out (the core fails the session if its deadline passed).
    pub fn timed_out(&mut self) {
        let now = self.tick();
        self.client.handle_timeout(now);
    }

    /// Gives the core the connection's TLS exporter (after a handshake),
    /// for SCRAM-SHA-256-PLUS.
    pub fn set_tls_exporter(&mut self, exporter: Option<[u8; 32]>) {
        if let Some(exporter) = exporter {
            self.client.set_tls_exporter(exporter);
        }
    }

    /// The TLS handshake asked for by [`Step::StartTls`] succeeded.
    pub fn tls_established(&mut self) -> Result<(), Error> {
        let now = self.tick();
        Ok(self.client.handle_tls_established(now)?)
    }

    /// A TLS handshake failed (or took too long): STARTTLS's, or implicit
    /// TLS's before the greeting. The session is over, every message not
    /// yet accepted is reported not sent with
    /// [`TlsFailed`](smtp_proto::ErrorKind::TlsFailed), and `error` (which
    /// says why) is returned to be reported.
    pub fn tls_failed(&mut self, error: Error) -> Error {
        let now = self.tick();
        if self.client.handle_tls_failed(now).is_err() {
            // No handshake was due (the TLS plan failed before one): the
            // connection is given up all the same.
            self.client.handle_transport_error(now);
        }
        error
    }

    /// A chunk of the body asked for by [`Step::Body`]; `last` ends it.
    /// (Reading until the buffer is full or the body ends, and passing
    /// `last` with the final chunk, lets the end of data share a write with
    /// it.)
    pub fn body(&mut self, chunk: &[u8], last: bool) -> Result<(), Error> {
        let now = self.tick();
        Ok(self.client.send_body(chunk, last, now)?)
    }

    /// The connection failed on this side (a read or write error, a write
    /// timeout, a body that could not be read): the session is over, and
    /// every message not yet accepted is reported not sent with
    /// [`TransportFailed`](smtp_proto::ErrorKind::TransportFailed) (or
    /// [`BodySourceFailed`](smtp_proto::ErrorKind::BodySourceFailed) for a
    /// body that could not be read).
    /// Returns the error to report: `error`, unless the core had already
    /// ended the session for a reason of its own (a reply, a deadline, the
    /// server closing), which is then returned instead, so that a failed
    /// polite QUIT does not hide why.
    pub fn fail(&mut self, error: Error) -> Error {
        match self.client.error().map(smtp_proto::Error::kind) {
            Some(ErrorKind::TransportFailed | ErrorKind::TlsFailed) => return error,
            Some(_) => return self.client.error().cloned().map_or(error, Error::from),
            None => {}
        }
        if matches!(error, Error::Body(_)) {
            let now = self.tick();
            if self.client.handle_body_error(now).is_err() {
                // The core no longer wanted that body: end the session all the
                // same, since part of it may be out.
                self.client.handle_transport_error(now);
            }
        } else {
            let now = self.tick();
            self.client.handle_transport_error(now);
        }
        error
    }

    /// Ends a call that sends no message (opening, NOOP, RSET, QUIT):
    /// on failure the session is over (see [`Driver::fail`]).
    pub fn finish_call(&mut self, driven: Result<(), Error>) -> Result<(), Error> {
        let result = driven.map_err(|e| self.fail(e));
        self.collect();
        self.end();
        result
    }

    /// Queues messages: all of them, or (if one has no recipient) none.
    /// Envelopes given by reference are cloned for the core; owned ones
    /// are moved to it.
    pub fn queue<E: IntoEnvelope>(
        &mut self,
        envelopes: impl IntoIterator<Item = E>,
    ) -> Result<Vec<TransactionId>, Error> {
        let envelopes: Vec<E> = envelopes.into_iter().collect();
        if envelopes.iter().any(|e| e.envelope().recipients.is_empty()) {
            return Err(UsageError::NoRecipients.into());
        }
        let now = self.tick();
        self.collect();
        let mut ids = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            ids.push(self.client.send(envelope.into_envelope(), now)?);
        }
        if let Some(first) = ids.first() {
            self.batch = (first.0, ids.len());
            self.received = 0;
        }
        Ok(ids)
    }

    /// Asks for the session to end with QUIT once every message is done.
    pub fn quit(&mut self) {
        let now = self.tick();
        self.client.quit(now);
    }

    /// Writes NOOP (only while the session is idle); drive to
    /// [`Goal::Open`] for its reply.
    pub fn noop(&mut self) -> Result<(), Error> {
        let now = self.tick();
        Ok(self.client.noop(now)?)
    }

    /// Writes RSET (only while the session is idle); drive to
    /// [`Goal::Open`] for its reply.
    pub fn rset(&mut self) -> Result<(), Error> {
        let now = self.tick();
        Ok(self.client.rset(now)?)
    }

    /// Removes and returns the outcomes of `ids`, in that order. (Any
    /// outcome not yet handed to [`Driver::report_progress`] no longer
    /// will be.)
    pub fn take_outcomes(&mut self, ids: &[TransactionId]) -> Vec<Outcome> {
        self.collect();
        self.unreported = 0;
        for (_, seen) in &mut self.outcomes {
            *seen = true;
        }
        let Some(first) = ids.first().map(|id| id.0) else {
            return Vec::new();
        };
        let consecutive = ids
            .iter()
            .enumerate()
            .all(|(i, id)| id.0.wrapping_sub(first) == i as u64);
        if !consecutive {
            return ids
                .iter()
                .filter_map(|id| {
                    let at = self.outcomes.iter().position(|(o, _)| o.id == *id)?;
                    Some(self.outcomes.remove(at).0)
                })
                .collect();
        }
        // One pass: the outcomes of the range are taken (in the order they
        // arrived, which is nearly always id order), the others stay; the
        // outcome list keeps its memory.
        let mut taken = Vec::with_capacity(ids.len());
        let mut kept = Vec::new();
        for (outcome, seen) in self.outcomes.drain(..) {
            match outcome.id.0.wrapping_sub(first) < ids.len() as u64 {
                true => taken.push(outcome),
                false => kept.push((outcome, seen)),
            }
        }
        self.outcomes.append(&mut kept);
        // One outcome per id: in id order, they are in the order of `ids`.
        if !taken.is_sorted_by_key(|o: &Outcome| o.id) {
            taken.sort_by_key(|o| o.id);
        }
        taken
    }

    /// Ends a batch of messages: the outcomes of `ids` in order when the
    /// drive succeeded, or when it failed (the failure kept for the next
    /// call) with every message the session could not finish reported
    /// [`NotSent`](smtp_proto::TransactionError::NotSent). Outcomes that
    /// `progress` has not seen yet are handed to it first.
    pub fn finish_batch(
        &mut self,
        ids: &[TransactionId],
        driven: Result<(), Error>,
        progress: &mut dyn FnMut(&Outcome),
    ) -> Vec<Outcome> {
        let driven = driven.map_err(|e| self.fail(e));
        self.report_progress(progress);
        let outcomes = self.take_outcomes(ids);
        if let Err(e) = driven {
            self.failure = Some(e);
        }
        self.end();
        outcomes
    }

    /// Ends a one-message call: its outcome when the server decided on it
    /// (accepted or refused), else the error that broke the session.
    pub fn finish_one(
        &mut self,
        id: TransactionId,
        driven: Result<(), Error>,
    ) -> Result<Outcome, Error> {
        match self.finish_batch(&[id], driven, &mut |_| {}).pop() {
            Some(o) if !is_not_sent(&o) => Ok(o),
            Some(Outcome {
                result: Err(TransactionError::NotSent(e)),
                ..
            }) => Err(self.failure.take().unwrap_or(e.into())),
            _ => Err(self
                .failure
                .take()
                .unwrap_or(UsageError::SessionClosed.into())),
        }
    }

    /// Takes the error that broke the session, kept by
    /// [`Driver::finish_batch`] for the next call, if there is one.
    pub fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    /// The events other than outcomes (greeting, capabilities, AUTH done,
    /// transcript lines), oldest first. They are kept until drained, unless
    /// a sink takes them (see [`Driver::with_sink`]).
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.collect();
        self.events.drain(..)
    }
}

/// The body of message `id` among a call's bodies, each given with its id:
/// found by position when they are in id order, one after the other (as a
/// batch's are), else searched for.
pub fn body_of<B>(bodies: &mut [(TransactionId, B)], id: TransactionId) -> Option<&mut B> {
    let at = bodies
        .first()
        .and_then(|(first, _)| usize::try_from(id.0.wrapping_sub(first.0)).ok())
        .filter(|&at| bodies.get(at).is_some_and(|(i, _)| *i == id))
        .or_else(|| bodies.iter().position(|(i, _)| *i == id))?;
    Some(&mut bodies[at].1)
}

fn is_not_sent(o: &Outcome) -> bool {
    matches!(o.result, Err(TransactionError::NotSent(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::Address;

    fn envelope() -> Envelope {
        let a = Address::new("a@example.org").unwrap();
        Envelope::new(a.clone(), [a])
    }

    /// Runs the driver against scripted replies, as an adapter would.
    fn run(
        driver: &mut Driver,
        goal: Goal<'_>,
        replies: &mut Vec<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        let mut wire = Vec::new();
        for _ in 0..100 {
            match driver.step(goal)? {
                Step::Write(b) => wire.extend_from_slice(b),
                Step::Body(_) => driver.body(b"Subject: x\r\n\r\nhi\r\n", true)?,
                Step::Read(_) if replies.is_empty() => driver.eof(),
                Step::Read(_) => driver.input(replies.remove(0)),
                Step::StartTls => unreachable!(),
                Step::Done => return Ok(wire),
            }
        }
        panic!("no progress")
    }

    #[test]
    fn drives_open_then_a_message_then_quit() {
        let mut d = Driver::new(Config::default());
        let mut replies: Vec<&[u8]> = vec![
            b"220 hi\r\n",
            b"250-x\r\n250 PIPELINING\r\n",
            b"250 ok\r\n250 ok\r\n354 go\r\n",
            b"250 queued\r\n",
            b"221 bye\r\n",
        ];
        run(&mut d, Goal::Open, &mut replies).unwrap();
        assert_eq!(d.stage(), Stage::Ready);
        d.begin().unwrap();
        let ids = d.queue([&envelope()]).unwrap();
        let wire = run(&mut d, Goal::Outcomes(&ids), &mut replies).unwrap();
        assert!(wire.starts_with(b"MAIL FROM:<a@example.org>\r\nRCPT"));
        let outcome = d.finish_one(ids[0], Ok(())).unwrap();
        assert!(outcome.is_delivered());
        d.quit();
        assert_eq!(
            run(&mut d, Goal::Closed, &mut replies).unwrap(),
            b"QUIT\r\n"
        );
        assert!(d.client().is_closed());
        assert!(matches!(d.events().next(), Some(Event::Greeting(_))));
    }

    #[test]
    fn a_broken_session_reports_not_sent_and_then_its_error_once() {
        let mut d = Driver::new(Config::default());
        let mut replies: Vec<&[u8]> = vec![b"220 hi\r\n", b"250 x\r\n"];
        run(&mut d, Goal::Open, &mut replies).unwrap();
        d.begin().unwrap();
        let ids = d.queue([&envelope(), &envelope()]).unwrap();
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let mut seen = Vec::new();
        let failed = Err(Error::from_io(io, Stage::SetFrom));
        let outcomes = d.finish_batch(&ids, failed, &mut |o| seen.push(o.id));
        assert_eq!(
            seen, ids,
            "each outcome handed to the progress callback once"
        );
        assert_eq!(outcomes.len(), 2);
        assert!(
            outcomes
                .iter()
                .all(|o| not_sent_kind(o) == Some(&ErrorKind::TransportFailed))
        );
        assert!(matches!(
            d.begin(),
            Err(Error::Io {
                stage: Stage::SetFrom,
                ..
            })
        ));
        // The core is closed now: later calls say so.
        assert!(matches!(d.queue([&envelope()]), Err(Error::Usage(_))));
    }

    fn not_sent_kind(o: &Outcome) -> Option<&ErrorKind> {
        match &o.result {
            Err(TransactionError::NotSent(e)) => Some(e.kind()),
            _ => None,
        }
    }

    #[test]
    fn a_failed_handshake_reports_messages_in_flight_not_sent_with_tls_failed() {
        let mut d = Driver::new(Config::default());
        let mut replies: Vec<&[u8]> = vec![
            b"220 hi\r\n",
            b"250-x\r\n250 STARTTLS\r\n",
            b"220 go ahead\r\n",
        ];
        // Queued before the session is open: in flight when the handshake fails.
        let ids = d.queue([&envelope()]).unwrap();
        d.begin().unwrap();
        let mut wire = Vec::new();
        let mut driven = Ok(());
        for _ in 0..10 {
            match d.step(Goal::Outcomes(&ids)) {
                Ok(Step::Write(b)) => wire.extend_from_slice(b),
                Ok(Step::Read(_)) => d.input(replies.remove(0)),
                Ok(Step::StartTls) => {
                    let bad =
                        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
                    let e = d.tls_failed(Error::Tls {
                        stage: d.stage(),
                        source: bad,
                    });
                    driven = Err(e);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(wire, b"EHLO localhost\r\nSTARTTLS\r\n");
        let outcomes = d.finish_batch(&ids, driven, &mut |_| {});
        assert_eq!(
            not_sent_kind(&outcomes[0]),
            Some(&ErrorKind::TlsFailed),
            "{outcomes:?}"
        );
        // The adapter's error (with rustls's reason) is the one kept.
        assert!(matches!(
            d.begin(),
            Err(Error::Tls {
                stage: Stage::TlsHandshake,
                ..
            })
        ));
    }

    #[test]
    fn the_sink_gets_every_event_and_progress_each_outcome_as_it_comes() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let sink = EventSink::new(move |e| sink.lock().unwrap().push(e.clone()));
        let mut d = Driver::new(Config::default()).with_sink(Some(sink));
        let mut replies: Vec<&[u8]> = vec![
            b"220 hi\r\n",
            b"250-x\r\n250 PIPELINING\r\n",
            b"250 ok\r\n250 ok\r\n354 go\r\n",
            b"250 one\r\n250 ok\r\n250 ok\r\n354 go\r\n",
            b"250 two\r\n",
        ];
        run(&mut d, Goal::Open, &mut replies).unwrap();
        d.begin().unwrap();
        let ids = d.queue([&envelope(), &envelope()]).unwrap();
        let mut progress = Vec::new();
        for _ in 0..100 {
            // Each outcome with how many replies were still to come.
            let left = replies.len();
            d.report_progress(&mut |o| progress.push((o.id, left)));
            match d.step(Goal::Outcomes(&ids)).unwrap() {
                Step::Write(_) => {}
                Step::Body(_) => d.body(b"x\r\n", true).unwrap(),
                Step::Read(_) => d.input(replies.remove(0)),
                Step::StartTls => unreachable!(),
                Step::Done => break,
            }
        }
        let outcomes = d.finish_batch(&ids, Ok(()), &mut |o| progress.push((o.id, 0)));
        // The first outcome was reported while the second was in flight.
        assert_eq!(progress, [(ids[0], 1), (ids[1], 0)]);
        assert!(outcomes.iter().all(Outcome::is_delivered));
        assert_eq!(d.events().count(), 0, "the sink took them");
        let seen = seen.lock().unwrap();
        assert!(matches!(seen[0], Event::Greeting(_)), "{seen:?}");
        assert_eq!(
            seen.iter()
                .filter(|e| matches!(e, Event::Outcome(_)))
                .count(),
            2
        );
    }

    #[test]
    fn outcomes_are_taken_by_id_whatever_the_order_asked() {
        let mut d = Driver::new(Config::default());
        let mut replies: Vec<&[u8]> = vec![
            b"220 hi\r\n",
            b"250-x\r\n250 PIPELINING\r\n",
            b"250 ok\r\n250 ok\r\n354 go\r\n",
            b"250 one\r\n250 ok\r\n250 ok\r\n354 go\r\n",
            b"250 two\r\n250 ok\r\n250 ok\r\n354 go\r\n",
            b"250 three\r\n",
        ];
        run(&mut d, Goal::Open, &mut replies).unwrap();
        // Owned envelopes go to the core without a clone.
        let ids = d.queue([envelope(), envelope(), envelope()]).unwrap();
        // A goal that is not the whole batch is still checked by id.
        run(&mut d, Goal::Outcomes(&ids[..1]), &mut replies).unwrap();
        run(&mut d, Goal::Outcomes(&ids), &mut replies).unwrap();
        assert!(replies.is_empty());
        let ids_of = |o: Vec<Outcome>| o.iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(ids_of(d.take_outcomes(&[ids[2], ids[0]])), [ids[2], ids[0]]);
        assert_eq!(ids_of(d.take_outcomes(&ids)), [ids[1]]);
        assert!(d.take_outcomes(&ids).is_empty());
    }

    #[test]
    fn bodies_are_found_by_position_or_searched_for() {
        let id = TransactionId;
        let mut batch = [(id(7), 'a'), (id(8), 'b'), (id(9), 'c')];
        assert_eq!(body_of(&mut batch, id(9)), Some(&mut 'c'));
        assert_eq!(body_of(&mut batch, id(6)), None);
        let mut shuffled = [(id(9), 'c'), (id(7), 'a')];
        assert_eq!(body_of(&mut shuffled, id(7)), Some(&mut 'a'));
        assert_eq!(body_of::<char>(&mut [], id(7)), None);
    }

    #[test]
    fn noop_and_rset_need_an_idle_open_session() {
        let mut d = Driver::new(Config::default());
        assert!(matches!(d.noop(), Err(Error::Usage(UsageError::Busy))));
        let mut replies: Vec<&[u8]> =
            vec![b"220 hi\r\n", b"250 x\r\n", b"250 ok\r\n", b"421 bye\r\n"];
        run(&mut d, Goal::Open, &mut replies).unwrap();
        assert!(d.is_usable());
        d.noop().unwrap();
        assert_eq!(run(&mut d, Goal::Open, &mut replies).unwrap(), b"NOOP\r\n");
        d.rset().unwrap();
        let err = run(&mut d, Goal::Open, &mut replies).unwrap_err();
        assert_eq!(err.stage(), Some(Stage::Reset), "{err}");
        assert!(!d.is_usable());
    }

    #[test]
    fn a_call_that_never_ended_poisons_the_session() {
        let mut d = Driver::new(Config::default());
        d.begin().unwrap();
        assert!(matches!(d.begin(), Err(Error::Interrupted)));
        assert!(matches!(
            d.queue([&Envelope::new(Address::null(), [])]),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn read_timeouts_are_never_zero_and_deadlines_fail_the_session() {
        let config = Config {
            timeouts: smtp_proto::Timeouts::uniform(Duration::ZERO),
            ..Config::default()
        };
        let mut d = Driver::new(config);
        assert_eq!(d.step(Goal::Open).unwrap(), Step::Read(MIN_READ));
        d.timed_out();
        let err = d.step(Goal::Open).unwrap_err();
        assert!(
            err.is_timeout() && err.stage() == Some(Stage::Init),
            "{err}"
        );
    }
}
