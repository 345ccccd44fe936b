//! Runs a `Client` the way an adapter does, and checks the session
//! invariants after every step:
//!
//! - every `poll_output` drain ends within [`MAX_DRAIN_STEPS`] steps;
//! - everything written passes the [`Model`]'s wire checks;
//! - a body is asked for only for a queued message, never again after its
//!   last chunk, and `send_body` then succeeds;
//! - each queued message gets exactly one `Outcome`, consistent with the
//!   wire (delivered only after a 2xx to its end of data), by the time the
//!   session is closed;
//! - `Ready` never comes after `quit()`; `Closed` is sticky and nothing is
//!   written after it; a timeout past the awaited deadline closes the
//!   session, and so does end-of-stream;
//! - no credential appears in a transcript line; `Authenticated` only over
//!   TLS (or with `allow_plaintext_auth`).

use crate::model::{Ctx, Model};
use smtp_proto::{
    Address, BodyType, Client, Config, Credentials, Direction, Envelope, Error, Event, Instant,
    Output, Protocol, RecipientPolicy, TlsPolicy, TransactionId, UsageError,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// Set `SMTP_FUZZ_TRACE=1` to print the dialogue (when replaying an input).
pub fn trace() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("SMTP_FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($t:tt)*) => { if trace() { eprintln!($($t)*) } };
}

/// The most `poll_output` calls one drain may take.
pub const MAX_DRAIN_STEPS: usize = 10_000;

/// The user name and password (or token) the targets configure.
pub const USER: &str = "fuzz-user@example.org";
pub const PASSWORD: &str = "pa55-w0rd-FUZZ";
pub const TOKEN: &str = "ya29.fuzz-token";

/// A message to queue: its body, how the harness cuts it, how many
/// recipients.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Must not start with `B` (the model tells a DATA body from BDAT by it).
    pub body: Vec<u8>,
    /// The size of each chunk given to `send_body` (0: all at once).
    pub chunk: usize,
    /// 1 or more.
    pub rcpts: usize,
    pub body_type: BodyType,
}

struct MsgState {
    msg: Msg,
    id: TransactionId,
    offset: usize,
    started: bool,
    last_given: bool,
    outcome: bool,
}

/// Where a drain stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Wait(Instant),
    Ready,
    /// Only when `auto_tls` is off.
    StartTls,
    Closed,
}

enum Out {
    Transmit(Vec<u8>),
    NeedBody(TransactionId),
    StartTls,
    Wait(Instant),
    Ready,
    Closed(Result<(), Error>),
}

fn own(o: Output<'_>) -> Out {
    match o {
        Output::Transmit(b) => Out::Transmit(b.to_vec()),
        Output::NeedBody(id) => Out::NeedBody(id),
        Output::StartTls => Out::StartTls,
        Output::Wait(d) => Out::Wait(d),
        Output::Ready => Out::Ready,
        Output::Closed(r) => Out::Closed(r),
    }
}

/// The byte strings that must not leak for these credentials.
pub fn secrets(creds: &Option<Credentials>) -> Vec<Vec<u8>> {
    let b64 = crate::b64;
    match creds {
        None => vec![],
        Some(Credentials::Password { user, password }) => {
            let p = password.expose().as_bytes();
            let plain = [b"\0", user.as_bytes(), b"\0", p].concat();
            vec![p.to_vec(), b64(p), b64(user.as_bytes()), b64(&plain)]
        }
        Some(Credentials::OAuth2 { user, token }) => {
            let t = token.expose().as_bytes();
            let x = [
                b"user=",
                user.as_bytes(),
                b"\x01auth=Bearer ",
                t,
                b"\x01\x01",
            ]
            .concat();
            vec![t.to_vec(), b64(t), b64(&x)]
        }
    }
}

pub struct Harness {
    pub client: Client,
    pub model: Model,
    pub now: Instant,
    /// Run the TLS handshake as soon as the client asks (else `drain`
    /// stops at `Stop::StartTls`).
    pub auto_tls: bool,
    pub encrypted: bool,
    pipelining_cfg: bool,
    allow_plaintext_auth: bool,
    quit_called: bool,
    closed: Option<Result<(), Error>>,
    last_wait: Option<Instant>,
    msgs: Vec<MsgState>,
    ids: BTreeMap<u64, usize>,
    timeouts: smtp_proto::Timeouts,
}

impl Harness {
    pub fn new(config: Config) -> Self {
        let model = Model::new(
            config.reply_limits,
            config.protocol == Protocol::Lmtp,
            config.recipient_policy == RecipientPolicy::AllOrNothing,
            config.allow_plaintext_auth,
            config.tls_policy() == TlsPolicy::Required && !config.implicit_tls,
            secrets(&config.credentials),
        );
        let mut client = Client::new(config.clone(), Instant::ZERO);
        // Entropy and a channel binding, so SCRAM and SCRAM-PLUS are used
        // where offered.
        client.set_entropy([0x5a; 18]);
        client.set_tls_exporter([0x33; 32]);
        let mut h = Harness {
            encrypted: config.implicit_tls,
            pipelining_cfg: config.pipelining,
            allow_plaintext_auth: config.allow_plaintext_auth,
            client,
            model,
            now: Instant::ZERO,
            auto_tls: true,
            quit_called: false,
            closed: None,
            last_wait: None,
            msgs: Vec::new(),
            ids: BTreeMap::new(),
            timeouts: config.timeouts,
        };
        h.drain();
        h
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Queues message number `msgs.len()`.
    pub fn send(&mut self, msg: Msg) -> Stop {
        self.last_wait = None;
        assert!(msg.rcpts > 0 && msg.body.first() != Some(&b'B'));
        let k = self.msgs.len();
        let from = Address::new(&format!("s{k}@example.org")).unwrap();
        let to = (0..msg.rcpts).map(|i| Address::new(&format!("r{k}.{i}@example.org")).unwrap());
        let mut env = Envelope::new(from, to);
        env.body_type = msg.body_type;
        match self.client.send(env, self.now) {
            Ok(id) => {
                assert!(
                    self.closed.is_none() && !self.quit_called,
                    "send() accepted a message after close or quit()"
                );
                if let Some(prev) = self.msgs.last() {
                    assert!(id > prev.id, "transaction ids not increasing");
                }
                self.model.add_tx(
                    msg.body.clone(),
                    msg.rcpts,
                    msg.body_type == BodyType::BinaryMime,
                );
                self.ids.insert(id.0, k);
                self.msgs.push(MsgState {
                    msg,
                    id,
                    offset: 0,
                    started: false,
                    last_given: false,
                    outcome: false,
                });
            }
            Err(UsageError::SessionClosed) => {
                // (A session that failed may still be waiting for the reply
                // to its polite QUIT: not closed yet, but over.)
                assert!(
                    self.closed.is_some() || self.quit_called || self.client.error().is_some(),
                    "send() refused an open session"
                );
            }
            Err(e) => panic!("send() failed: {e:?}"),
        }
        self.drain()
    }

    pub fn quit(&mut self) -> Stop {
        self.last_wait = None;
        self.client.quit(self.now);
        if self.closed.is_none() {
            self.quit_called = true;
        }
        self.drain()
    }

    pub fn noop(&mut self, rset: bool) -> Stop {
        self.last_wait = None;
        let r = if rset {
            self.client.rset(self.now)
        } else {
            self.client.noop(self.now)
        };
        if r.is_ok() {
            assert!(
                self.closed.is_none() && !self.quit_called,
                "NOOP/RSET accepted when closed"
            );
        }
        self.drain()
    }

    /// Bytes from the server.
    pub fn deliver(&mut self, bytes: &[u8]) -> Stop {
        self.last_wait = None;
        trace!("S: {:?}", String::from_utf8_lossy(bytes));
        if self.closed.is_none() {
            self.model.now = self.now;
            self.model.server(bytes);
        }
        self.client.handle_input(bytes, self.now);
        self.drain()
    }

    /// The server closed the connection.
    pub fn eof(&mut self) -> Stop {
        trace!("S: <eof>");
        self.last_wait = None;
        self.client.handle_eof(self.now);
        let s = self.drain();
        assert_eq!(s, Stop::Closed, "the session goes on after end-of-stream");
        s
    }

    /// Time passes; the harness then reports the timer.
    pub fn advance(&mut self, by: Duration) -> Stop {
        trace!("time +{by:?}");
        self.now = self.now + by;
        let waited = self.last_wait.take();
        self.client.handle_timeout(self.now);
        let s = self.drain();
        if waited.is_some_and(|deadline| deadline <= self.now) {
            assert_eq!(
                s,
                Stop::Closed,
                "the deadline passed and the session goes on"
            );
        }
        s
    }

    /// A TLS handshake the client did not ask for.
    pub fn spurious_tls(&mut self) -> Stop {
        self.last_wait = None;
        let r = self.client.handle_tls_established(self.now);
        assert_eq!(
            r,
            Err(UsageError::NotExpectingTls),
            "TLS established accepted while not asked for"
        );
        self.drain()
    }

    /// Completes a handshake asked for with `Stop::StartTls`.
    pub fn tls(&mut self) -> Stop {
        self.last_wait = None;
        self.client
            .handle_tls_established(self.now)
            .expect("handshake asked for, yet refused");
        self.encrypted = true;
        self.model.tls_established();
        self.drain()
    }

    fn pipelined(&self) -> bool {
        self.pipelining_cfg && self.client.capabilities().is_some_and(|c| c.pipelining)
    }

    /// Drains `poll_output` (and events) until the client waits.
    pub fn drain(&mut self) -> Stop {
        for _ in 0..MAX_DRAIN_STEPS {
            let pipelined = self.pipelined();
            let _ = self.client.stage();
            let out = own(self.client.poll_output());
            if let Some(prev) = &self.closed {
                match &out {
                    Out::Closed(r) => assert_eq!(r, prev, "Closed is not sticky"),
                    _ => panic!("the client goes on after Closed"),
                }
            }
            match out {
                Out::Transmit(bytes) => {
                    assert!(!bytes.is_empty(), "Transmit of nothing");
                    trace!("C: {:?}", String::from_utf8_lossy(&bytes));
                    self.events();
                    let ctx = Ctx {
                        encrypted: self.encrypted,
                        pipelined,
                    };
                    self.model.now = self.now;
                    self.model.client(&bytes, ctx);
                }
                Out::NeedBody(id) => {
                    self.events();
                    self.give_body(id);
                }
                Out::StartTls => {
                    self.events();
                    assert!(
                        !self.encrypted,
                        "STARTTLS handshake on an encrypted connection"
                    );
                    if !self.auto_tls {
                        return Stop::StartTls;
                    }
                    self.client
                        .handle_tls_established(self.now)
                        .expect("handshake asked for, yet refused");
                    assert!(self.client.is_encrypted());
                    assert!(
                        self.client.capabilities().is_none(),
                        "capabilities kept across STARTTLS"
                    );
                    self.encrypted = true;
                    self.model.tls_established();
                }
                Out::Wait(d) => {
                    self.events();
                    assert!(
                        self.model.unanswered().next().is_some(),
                        "Wait, yet every command on the wire was answered"
                    );
                    // Per-command deadlines (RFC 5321 section 4.5.3.2): the
                    // oldest awaited reply's own timeout, counted from when
                    // its command was written or the reply before it came,
                    // neither cut short by the commands before it nor
                    // stretched by bytes that trickle in. (Once the session
                    // has failed the client no longer waits for what the
                    // model still expects.)
                    if self.client.error().is_none() {
                        if let Some((e, since)) = self.model.front() {
                            let want = since + e.timeout(&self.timeouts);
                            assert_eq!(
                                d, want,
                                "the deadline for {e:?} is {d:?}, want {want:?} (its timeout from {since:?})"
                            );
                        }
                    }
                    self.last_wait = Some(d);
                    return Stop::Wait(d);
                }
                Out::Ready => {
                    self.events();
                    let awaited: Vec<_> = self.model.unanswered().collect();
                    assert!(
                        awaited.is_empty(),
                        "Ready, yet replies are due to {awaited:?}"
                    );
                    assert!(
                        !self.quit_called,
                        "Ready after quit(): the session is stuck"
                    );
                    return Stop::Ready;
                }
                Out::Closed(r) => {
                    trace!("closed: {r:?}");
                    self.events();
                    if self.closed.is_none() {
                        self.on_closed(&r);
                        self.closed = Some(r);
                    }
                    return Stop::Closed;
                }
            }
        }
        panic!("poll_output did not settle within {MAX_DRAIN_STEPS} steps");
    }

    fn on_closed(&mut self, r: &Result<(), Error>) {
        if let Err(e) = r {
            let _ = e.to_string();
            let _ = (e.stage(), e.kind(), e.reply(), e.is_transient());
        }
        assert!(self.client.is_closed(), "Closed but is_closed() is false");
        if r.is_ok() {
            assert!(self.model.quit_sent(), "closed cleanly without QUIT");
        }
        for m in &self.msgs {
            assert!(m.outcome, "message {:?} closed without an Outcome", m.id);
        }
        self.model.finish();
        assert!(self.client.is_idle(), "closed with messages in the queue");
    }

    fn give_body(&mut self, id: TransactionId) {
        let k = *self
            .ids
            .get(&id.0)
            .expect("NeedBody for a message never queued");
        let m = &mut self.msgs[k];
        assert!(!m.outcome, "NeedBody for a message already finished");
        assert!(!m.last_given, "NeedBody again after the last chunk");
        if !m.started {
            m.started = true;
            self.model.begin_body(k);
        }
        let m = &mut self.msgs[k];
        let chunk = if m.msg.chunk == 0 {
            usize::MAX
        } else {
            m.msg.chunk
        };
        let end = m.msg.body.len().min(m.offset.saturating_add(chunk));
        let last = end == m.msg.body.len();
        let r = self
            .client
            .send_body(&m.msg.body[m.offset..end], last, self.now);
        r.expect("send_body refused right after NeedBody");
        m.offset = end;
        m.last_given = last;
    }

    fn events(&mut self) {
        while let Some(ev) = self.client.poll_event() {
            match ev {
                Event::Outcome(o) => {
                    trace!("outcome: {o:?}");
                    let k = *self
                        .ids
                        .get(&o.id.0)
                        .expect("Outcome for a message never queued");
                    let m = &mut self.msgs[k];
                    assert!(!m.outcome, "two Outcomes for message {k}");
                    m.outcome = true;
                    if let Err(e) = &o.result {
                        let _ = e.to_string();
                    }
                    let _ = o.refused().count();
                    for r in &o.recipients {
                        let _ = r.reply().map(ToString::to_string);
                    }
                    self.model.check_outcome(k, &o);
                }
                Event::Transcript(t) => {
                    let shown = t.to_string();
                    // (a server may echo anything; only our lines count)
                    let ours = t.direction == Direction::Client;
                    for s in self.model.secrets.iter().filter(|_| ours) {
                        assert!(
                            !crate::contains(&t.text, s) && !crate::contains(shown.as_bytes(), s),
                            "a credential appears in the transcript: {shown}"
                        );
                    }
                }
                Event::Authenticated => {
                    assert!(
                        self.encrypted || self.allow_plaintext_auth,
                        "authenticated on an unencrypted connection"
                    );
                }
                Event::Greeting(r) => {
                    let _ = r.to_string();
                }
                Event::Capabilities => {
                    assert!(self.client.capabilities().is_some());
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }
}
