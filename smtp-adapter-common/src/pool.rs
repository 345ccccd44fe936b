//! A pool of sessions to one server, written once for every adapter over
//! what its connection provides ([`Dial`]: connect, sleep). The blocking
//! adapter runs the same futures with a blocking executor.
//!
//! What it decides is I/O-free and tested without a network: which idle
//! session to reuse and whether to check it first ([`Shelf`]); whether a
//! message may be sent again is the core's
//! ([`Outcome::is_retryable`]). The I/O (NOOP, QUIT, a
//! fresh connection) is the sessions' own.

use crate::{Dial, Error, Options, Session};
use smtp_proto::{Envelope, Outcome};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// How a pool behaves. Set its fields on [`PoolConfig::default`], or use
/// the [`PoolBuilder`](crate::PoolBuilder).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// The most sessions open at once, busy and idle together (at least 1).
    pub max_sessions: usize,
    /// An idle session is closed (with QUIT) once it has been idle this
    /// long: by [`Pool::close_idle`], which the
    /// [`reaper`](Pool::reaper) runs on time, and by every send.
    pub idle_timeout: Duration,
    /// A session idle this long or longer is checked with NOOP before a
    /// message goes on it (zero: always). (Whatever the server sent while the session was
    /// idle, a 421 or the end of the stream, is always read first, at no
    /// cost.)
    pub check_after: Duration,
    /// A session that has sent this many messages is closed (with QUIT)
    /// and a new one opened for the next: for servers that limit messages
    /// per connection. `None`: no limit.
    pub max_messages_per_session: Option<u64>,
    /// At most this many messages start per second, over the whole pool
    /// (spaced evenly), for providers that throttle. `None`: no limit.
    pub rate_limit: Option<f64>,
}

impl Default for PoolConfig {
    /// 4 sessions, closed after 60 s idle, checked with NOOP after 10 s
    /// idle (servers commonly drop idle clients after 30 s to 5 min).
    fn default() -> Self {
        PoolConfig {
            max_sessions: 4,
            idle_timeout: Duration::from_secs(60),
            check_after: Duration::from_secs(10),
            max_messages_per_session: None,
            rate_limit: None,
        }
    }
}

/// What a pool has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Sessions opened.
    pub connected: u64,
    /// Messages sent on a session that had sent one before.
    pub reused: u64,
    /// Idle sessions found closed by the server (or failing NOOP) and
    /// replaced before a message went on them.
    pub replaced: u64,
    /// Messages sent again on a fresh session after their first session
    /// died before accepting their MAIL.
    pub retried: u64,
    /// Sessions closed for having been idle too long.
    pub idle_closed: u64,
    /// Sessions closed for having sent
    /// [`PoolConfig::max_messages_per_session`] messages.
    pub retired: u64,
    /// Sessions idle in the pool now.
    pub idle: usize,
}

/// The idle sessions of a pool, most recently used last, each with when it
/// became idle. I/O-free: the pool does what its answers say.
#[derive(Debug)]
pub struct Shelf<S> {
    idle: Vec<(S, Instant)>,
}

impl<S> Default for Shelf<S> {
    fn default() -> Self {
        Shelf { idle: Vec::new() }
    }
}

impl<S> Shelf<S> {
    /// Puts a session back, idle from `now`.
    pub fn put(&mut self, session: S, now: Instant) {
        self.idle.push((session, now));
    }

    /// How many sessions are idle.
    pub fn len(&self) -> usize {
        self.idle.len()
    }

    /// True when no session is idle.
    pub fn is_empty(&self) -> bool {
        self.idle.is_empty()
    }

    /// Removes the session idle the longest, if it has been idle for
    /// `timeout` or longer at `now`, to be closed.
    pub fn pop_expired(&mut self, now: Instant, timeout: Duration) -> Option<S> {
        let (at, (_, since)) = self
            .idle
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, since))| *since)?;
        let expired = now.saturating_duration_since(*since) >= timeout;
        expired.then(|| self.idle.remove(at).0)
    }

    /// Takes the most recently used session (so that the others age out),
    /// and whether it has been idle for `check_after` or longer and must be
    /// checked with NOOP first.
    pub fn take(&mut self, now: Instant, check_after: Duration) -> Option<(S, bool)> {
        let (session, since) = self.idle.pop()?;
        Some((session, now.saturating_duration_since(since) >= check_after))
    }

    /// Removes every session.
    pub fn drain(&mut self) -> Vec<S> {
        self.idle.drain(..).map(|(s, _)| s).collect()
    }

    /// When the next session will have been idle for `timeout`.
    pub fn next_expiry(&self, timeout: Duration) -> Option<Instant> {
        self.idle.iter().map(|(_, since)| *since + timeout).min()
    }
}

/// The guarded value, also after a panic elsewhere while it was held
/// (every value the pool guards stays consistent between statements).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

struct Inner<C: Dial> {
    host: String,
    port: u16,
    options: Options,
    config: PoolConfig,
    permits: async_lock::Semaphore,
    shelf: Mutex<Shelf<Session<C>>>,
    /// What the pool has done so far; its `idle` is counted when asked.
    counts: Mutex<PoolStats>,
    closed: AtomicBool,
    /// When the next message may start, under a rate limit.
    next_start: Mutex<Instant>,
}

/// A bounded pool of sessions to one server, shared by cloning (clones
/// share the sessions). Each [`send`](Pool::send) takes an idle
/// session (or opens one, up to [`PoolConfig::max_sessions`], else waits
/// for one), sends one message on it, and puts it back.
///
/// - A session the server closed while it was idle (a 421, a 221, the end
///   of the stream) is found before a message goes on it, and replaced;
///   one idle for [`PoolConfig::check_after`] is checked with NOOP
///   first.
/// - A message is never reported sent on a dead session: if its session
///   dies before its end of data went out (so the server cannot have
///   accepted it), it is sent once more on a fresh session; otherwise
///   (its fate unknown) the failure is reported and it is never resent.
/// - Idle sessions are closed with QUIT after
///   [`PoolConfig::idle_timeout`]: run [`Pool::reaper`] on the
///   runtime for that to happen on time.
/// - A send whose future is dropped midway drops its session (whose state
///   is then unknown) and frees its place.
pub struct Pool<C: Dial> {
    inner: Arc<Inner<C>>,
}

impl<C: Dial> Clone for Pool<C> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
        }
    }
}

impl<C: Dial> std::fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("host", &self.inner.host)
            .field("port", &self.inner.port)
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<C: Dial> Pool<C> {
    /// A pool of sessions to `host:port`, each opened with `options`.
    /// Opens nothing yet.
    pub fn new(host: &str, port: u16, options: Options, mut config: PoolConfig) -> Self {
        config.max_sessions = config.max_sessions.max(1);
        Pool {
            inner: Arc::new(Inner {
                host: host.to_owned(),
                port,
                options,
                config,
                permits: async_lock::Semaphore::new(config.max_sessions),
                shelf: Mutex::new(Shelf::default()),
                counts: Mutex::default(),
                closed: AtomicBool::new(false),
                next_start: Mutex::new(Instant::now()),
            }),
        }
    }

    /// A pool for the server a URL names, with the default limits (see
    /// [`Target::from_url`](crate::Target::from_url)).
    pub fn from_url(url: &str) -> Result<Self, crate::UrlError> {
        Ok(Self::builder(url)?.build())
    }

    /// A builder for a pool to the server a URL names: trust roots,
    /// timeouts, limits, an event sink.
    pub fn builder(url: &str) -> Result<crate::PoolBuilder<Self>, crate::UrlError> {
        crate::PoolBuilder::from_url(url)
    }

    /// The pool's configuration.
    pub fn config(&self) -> PoolConfig {
        self.inner.config
    }

    /// What the pool has done so far, and how many sessions are idle.
    pub fn stats(&self) -> PoolStats {
        let idle = lock(&self.inner.shelf).len();
        PoolStats {
            idle,
            ..*lock(&self.inner.counts)
        }
    }

    /// Sends one message on a session of the pool. `Ok` when the server
    /// decided (see [`Outcome::is_delivered`]); `Err` when it was not sent
    /// (after the one retry it may get), or no session could be opened.
    ///
    /// The body is anything that holds its bytes (`&[u8]`, `Vec<u8>`,
    /// `bytes::Bytes`, ...): it is borrowed, never copied, also when the
    /// message is sent a second time.
    pub async fn send(
        &self,
        envelope: &Envelope,
        body: impl AsRef<[u8]>,
    ) -> Result<Outcome, Error> {
        let body = body.as_ref();
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(smtp_proto::UsageError::SessionClosed.into());
        }
        let _permit = self.inner.permits.acquire().await;
        self.close_expired().await;
        self.pace().await;
        let mut session = self.checkout().await?;
        let mut outcome = send_on(&mut session, envelope, body).await;
        if outcome.as_ref().is_ok_and(Outcome::is_retryable) {
            drop(session);
            lock(&self.inner.counts).retried += 1;
            session = self.connect().await?;
            outcome = send_on(&mut session, envelope, body).await;
        }
        let result = outcome.and_then(|o| session.decided(Some(o)));
        self.checkin(session).await;
        result
    }

    /// Closes (with QUIT) the idle sessions that have been idle for
    /// [`PoolConfig::idle_timeout`]; returns how many. Waits for a place
    /// in the pool first, so that a session being closed still counts
    /// towards [`PoolConfig::max_sessions`].
    pub async fn close_idle(&self) -> usize {
        let timeout = self.inner.config.idle_timeout;
        let next = lock(&self.inner.shelf).next_expiry(timeout);
        if next.is_none_or(|at| at > Instant::now()) {
            return 0;
        }
        let _permit = self.inner.permits.acquire().await;
        self.close_expired().await
    }

    /// [`Pool::close_idle`] for a caller that holds a place and no
    /// session: closes them one at a time in that place.
    async fn close_expired(&self) -> usize {
        let timeout = self.inner.config.idle_timeout;
        let mut closed = 0;
        // Each turn takes one session off the shelf: bounded by how many there are.
        loop {
            let expired = lock(&self.inner.shelf).pop_expired(Instant::now(), timeout);
            let Some(session) = expired else {
                return closed;
            };
            lock(&self.inner.counts).idle_closed += 1;
            // It is closed either way; a failing QUIT changes nothing.
            let _ = session.quit().await;
            closed += 1;
        }
    }

    /// Closes every idle session with QUIT, and each busy one when its
    /// send ends; later sends fail.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let idle = lock(&self.inner.shelf).drain();
        for session in idle {
            let _ = session.quit().await;
        }
    }

    /// A future that closes idle sessions on time (see
    /// [`PoolConfig::idle_timeout`]) until the pool is closed or every
    /// clone of it is dropped. Spawn it on the runtime (`tokio::spawn`,
    /// `smol::spawn(..).detach()`, `async_std::task::spawn`): it is `Send`
    /// when the adapter's connection is.
    pub fn reaper(&self) -> impl Future<Output = ()> + 'static {
        let weak: Weak<Inner<C>> = Arc::downgrade(&self.inner);
        let timeout = self.inner.config.idle_timeout;
        async move {
            loop {
                let wait = {
                    let Some(inner) = weak.upgrade() else { return };
                    if inner.closed.load(Ordering::Acquire) {
                        return;
                    }
                    let next = lock(&inner.shelf).next_expiry(timeout);
                    next.map_or(timeout, |at| at.saturating_duration_since(Instant::now()))
                };
                // At most a second at a time: a closed or dropped pool is
                // noticed within one (a blocking reaper thread then ends).
                let wait = wait.clamp(Duration::from_millis(1), Duration::from_secs(1));
                C::sleep(wait).await;
                let Some(inner) = weak.upgrade() else { return };
                Pool { inner }.close_idle().await;
            }
        }
    }

    async fn connect(&self) -> Result<Session<C>, Error> {
        let i = &self.inner;
        let session = Session::connect(&i.host, i.port, &i.options).await?;
        lock(&i.counts).connected += 1;
        Ok(session)
    }

    /// An idle session that is still alive, else a new one.
    async fn checkout(&self) -> Result<Session<C>, Error> {
        let check_after = self.inner.config.check_after;
        // Each turn takes one idle session away: bounded by how many there are.
        loop {
            let taken = lock(&self.inner.shelf).take(Instant::now(), check_after);
            let Some((mut session, check)) = taken else {
                return self.connect().await;
            };
            let alive = session.poll_idle().await && (!check || session.noop().await.is_ok());
            if alive {
                lock(&self.inner.counts).reused += 1;
                return Ok(session);
            }
            lock(&self.inner.counts).replaced += 1;
        }
    }

    /// Puts a session back if it can take another message; closes it if
    /// it has sent as many as a session may.
    async fn checkin(&self, mut session: Session<C>) {
        // Events no one drained would pile up for the session's lifetime.
        session.events().for_each(drop);
        if !session.is_usable() || self.inner.closed.load(Ordering::Acquire) {
            return;
        }
        let limit = self.inner.config.max_messages_per_session;
        if limit.is_some_and(|max| session.messages_sent() >= max) {
            lock(&self.inner.counts).retired += 1;
            // It is closed either way; a failing QUIT changes nothing.
            let _ = session.quit().await;
            return;
        }
        lock(&self.inner.shelf).put(session, Instant::now());
    }

    /// Under a rate limit, waits for this message's turn: turns are
    /// handed out in order, evenly spaced.
    async fn pace(&self) {
        let Some(rate) = self.inner.config.rate_limit.filter(|r| *r > 0.0) else {
            return;
        };
        let interval = Duration::from_secs_f64((1.0 / rate).min(86_400.0));
        let start = {
            let mut next = lock(&self.inner.next_start);
            let start = (*next).max(Instant::now());
            *next = start + interval;
            start
        };
        let wait = start.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            C::sleep(wait).await;
        }
    }
}

/// Sends one message; its outcome (if the session could take it).
async fn send_on<C: Dial>(
    session: &mut Session<C>,
    envelope: &Envelope,
    body: &[u8],
) -> Result<Outcome, Error> {
    let outcome = session.send_many([(envelope, body)]).await?.pop();
    outcome.ok_or(smtp_proto::UsageError::SessionClosed.into())
}
