//! The session and the pool for blocking code: the engine's own, each
//! call run to completion with a blocking executor. With a blocking
//! [`Connection`] (smtp-blocking's) every I/O future is ready at its first
//! poll; only a pool waiting for a free place parks the thread, until
//! another thread frees one.

use crate::{Connection, Dial, Error, Options, Pool, PoolConfig, PoolStats, ReadBody, Session};
use futures_lite::future::block_on;
use smtp_proto::{Client, Envelope, Event, Outcome};

/// An open SMTP session whose calls block: [`Session`]'s, each run to
/// completion. smtp-blocking names it `Session`.
#[derive(Debug)]
pub struct BlockingSession<C>(Session<C>);

impl<C: Dial> BlockingSession<C> {
    /// Connects to `host:port`, trying each resolved address in turn with
    /// the connect timeout, and opens the session (greeting, EHLO,
    /// STARTTLS or implicit TLS, AUTH).
    pub fn connect(host: &str, port: u16, options: &Options) -> Result<Self, Error> {
        block_on(Session::connect(host, port, options)).map(BlockingSession)
    }
}

impl<C: Connection> BlockingSession<C> {
    /// Opens a session over a stream you connected yourself; `host` is the
    /// name the server's certificate must carry. Implicit TLS only if
    /// [`Options::implicit_tls`] says so.
    pub fn over(stream: C::Stream, host: &str, options: &Options) -> Result<Self, Error> {
        block_on(Session::over(stream, host, options)).map(BlockingSession)
    }

    /// Sends one message whose body is in memory: see
    /// [`Session::send`].
    pub fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        block_on(self.0.send(envelope, body))
    }

    /// Sends one message whose body is read from `body` in 64 KiB chunks
    /// (constant memory, whatever its size).
    pub fn send_from<R>(&mut self, envelope: &Envelope, body: R) -> Result<Outcome, Error>
    where
        C: ReadBody<R>,
    {
        block_on(self.0.send_from(envelope, body))
    }

    /// Sends several messages, pipelined: see
    /// [`Session::send_many`].
    pub fn send_many<E: std::borrow::Borrow<smtp_proto::Envelope>, B: AsRef<[u8]>>(
        &mut self,
        messages: impl IntoIterator<Item = (E, B)>,
    ) -> Result<Vec<Outcome>, Error> {
        block_on(self.0.send_many(messages))
    }

    /// [`BlockingSession::send_many`], handing each message's outcome to
    /// `progress` as soon as it is known.
    pub fn send_many_with<E: std::borrow::Borrow<smtp_proto::Envelope>, B: AsRef<[u8]>>(
        &mut self,
        messages: impl IntoIterator<Item = (E, B)>,
        progress: impl FnMut(&Outcome),
    ) -> Result<Vec<Outcome>, Error> {
        block_on(self.0.send_many_with(messages, progress))
    }

    /// Sends NOOP and waits for its reply (only while idle).
    pub fn noop(&mut self) -> Result<(), Error> {
        block_on(self.0.noop())
    }

    /// Sends RSET and waits for its reply (only while idle).
    pub fn rset(&mut self) -> Result<(), Error> {
        block_on(self.0.rset())
    }

    /// Ends the session with QUIT and waits for the 221, keeping the
    /// session so that [`Session::events`] still yields the last events.
    pub fn close(&mut self) -> Result<(), Error> {
        block_on(self.0.close())
    }

    /// Ends the session with QUIT and waits for the 221.
    pub fn quit(self) -> Result<(), Error> {
        block_on(self.0.quit())
    }

    /// The core: its stage, the server's capabilities, whether the
    /// connection is encrypted.
    pub fn client(&self) -> &Client {
        self.0.client()
    }

    /// Drains the events seen so far other than outcomes.
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.0.events()
    }

    /// The underlying stream (under TLS, if any); `None` only after a TLS
    /// handshake failed.
    pub fn get_ref(&self) -> Option<&C::Stream> {
        self.0.get_ref()
    }
}

/// A bounded pool of sessions to one server, shared by cloning (across
/// threads): the engine's [`Pool`], each call run to
/// completion on the calling thread.
#[derive(Debug)]
pub struct BlockingPool<C: Dial>(Pool<C>);

impl<C: Dial> Clone for BlockingPool<C> {
    fn clone(&self) -> Self {
        BlockingPool(self.0.clone())
    }
}

impl<C: Dial> BlockingPool<C> {
    /// A pool of sessions to `host:port`, each opened with `options`.
    /// Opens nothing yet.
    pub fn new(host: &str, port: u16, options: Options, config: PoolConfig) -> Self {
        BlockingPool(Pool::new(host, port, options, config))
    }

    /// A pool for the server a URL names, with the default limits.
    pub fn from_url(url: &str) -> Result<Self, crate::UrlError> {
        Ok(Self::builder(url)?.build())
    }

    /// A builder for a pool to the server a URL names.
    pub fn builder(url: &str) -> Result<crate::PoolBuilder<Self>, crate::UrlError> {
        crate::PoolBuilder::from_url(url)
    }

    /// The pool's configuration.
    pub fn config(&self) -> PoolConfig {
        self.0.config()
    }

    /// Sends one message on a session of the pool, waiting for a place
    /// when every session is busy.
    pub fn send(&self, envelope: &Envelope, body: impl AsRef<[u8]>) -> Result<Outcome, Error> {
        block_on(self.0.send(envelope, body))
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> PoolStats {
        self.0.stats()
    }

    /// Closes the sessions idle for longer than the idle timeout; returns
    /// how many.
    pub fn close_idle(&self) -> usize {
        block_on(self.0.close_idle())
    }

    /// Closes every idle session with QUIT; later sends fail.
    pub fn close(&self) {
        block_on(self.0.close())
    }

    /// Starts a thread that closes idle sessions on time, until the pool
    /// is closed or dropped.
    pub fn spawn_reaper(&self) -> std::thread::JoinHandle<()>
    where
        Pool<C>: Send,
    {
        let pool = self.0.clone();
        std::thread::spawn(move || {
            // The reaper holds the pool weakly: it ends when the pool goes.
            let reaper = pool.reaper();
            drop(pool);
            block_on(reaper)
        })
    }
}
