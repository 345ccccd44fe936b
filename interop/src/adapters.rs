//! One interface over the adapters, so each suite is written once and run
//! against every adapter. Async adapters block on their runtime inside each
//! call.

use smtp_blocking::{Envelope, Error, Options, Outcome};

/// An open session of some adapter.
pub trait Session {
    /// Sends one message.
    fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error>;
    /// Sends one message whose body is read from a reader over `body`, in
    /// 64 KiB chunks (so with CHUNKING, one BDAT per chunk).
    fn send_streamed(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error>;
    /// Sends several messages queued together (pipelined when allowed).
    fn send_many(&mut self, messages: &[(Envelope, Vec<u8>)]) -> Result<Vec<Outcome>, Error>;
    /// Whether the session is encrypted.
    fn is_encrypted(&self) -> bool;
    /// QUIT.
    fn quit(self: Box<Self>) -> Result<(), Error>;
}

/// An adapter: how to connect.
pub trait Adapter: Sync {
    /// Its name in test output.
    fn name(&self) -> &'static str;
    /// Connects and opens a session (greeting, EHLO, TLS, AUTH).
    fn connect(&self, host: &str, port: u16, options: &Options) -> Result<Box<dyn Session>, Error>;
}

/// `smtp-blocking`.
#[derive(Debug, Clone, Copy)]
pub struct Blocking;

impl Session for smtp_blocking::Session {
    fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        smtp_blocking::Session::send(self, envelope, body)
    }
    fn send_streamed(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        smtp_blocking::Session::send_from(self, envelope, body)
    }
    fn send_many(&mut self, messages: &[(Envelope, Vec<u8>)]) -> Result<Vec<Outcome>, Error> {
        smtp_blocking::Session::send_many(self, messages.iter().map(|(e, b)| (e, &b[..])))
    }
    fn is_encrypted(&self) -> bool {
        self.client().is_encrypted()
    }
    fn quit(self: Box<Self>) -> Result<(), Error> {
        smtp_blocking::Session::quit(*self)
    }
}

impl Adapter for Blocking {
    fn name(&self) -> &'static str {
        "blocking"
    }
    fn connect(&self, host: &str, port: u16, options: &Options) -> Result<Box<dyn Session>, Error> {
        Ok(Box::new(smtp_blocking::Session::connect(
            host, port, options,
        )?))
    }
}

/// `smtp-tokio`, each call run on a current-thread runtime the session
/// owns.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

struct TokioSession {
    // Dropped before the runtime it runs on.
    session: smtp_tokio::Session,
    rt: tokio::runtime::Runtime,
}

impl Session for TokioSession {
    fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        self.rt.block_on(self.session.send(envelope, body))
    }
    fn send_streamed(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        self.rt.block_on(self.session.send_from(envelope, body))
    }
    fn send_many(&mut self, messages: &[(Envelope, Vec<u8>)]) -> Result<Vec<Outcome>, Error> {
        self.rt.block_on(
            self.session
                .send_many(messages.iter().map(|(e, b)| (e, &b[..]))),
        )
    }
    fn is_encrypted(&self) -> bool {
        self.session.client().is_encrypted()
    }
    fn quit(self: Box<Self>) -> Result<(), Error> {
        let TokioSession { session, rt } = *self;
        rt.block_on(session.quit())
    }
}

impl Adapter for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn connect(&self, host: &str, port: u16, options: &Options) -> Result<Box<dyn Session>, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let session = rt.block_on(smtp_tokio::Session::connect(host, port, options))?;
        Ok(Box::new(TokioSession { session, rt }))
    }
}

/// Which executor drives `smtp-asyncstd`.
#[derive(Debug, Clone, Copy)]
enum Executor {
    AsyncStd,
    Smol,
}

impl Executor {
    fn block_on<T>(self, fut: impl std::future::Future<Output = T>) -> T {
        match self {
            Executor::AsyncStd => async_std::task::block_on(fut),
            Executor::Smol => smol::block_on(fut),
        }
    }
}

/// `smtp-asyncstd` under async-std's executor.
#[derive(Debug, Clone, Copy)]
pub struct AsyncStd;

/// `smtp-asyncstd` under smol's executor.
#[derive(Debug, Clone, Copy)]
pub struct Smol;

struct FuturesSession {
    session: smtp_asyncstd::Session,
    executor: Executor,
}

impl Session for FuturesSession {
    fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        self.executor.block_on(self.session.send(envelope, body))
    }
    fn send_streamed(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        self.executor
            .block_on(self.session.send_from(envelope, body))
    }
    fn send_many(&mut self, messages: &[(Envelope, Vec<u8>)]) -> Result<Vec<Outcome>, Error> {
        self.executor.block_on(
            self.session
                .send_many(messages.iter().map(|(e, b)| (e, &b[..]))),
        )
    }
    fn is_encrypted(&self) -> bool {
        self.session.client().is_encrypted()
    }
    fn quit(self: Box<Self>) -> Result<(), Error> {
        let FuturesSession { session, executor } = *self;
        executor.block_on(session.quit())
    }
}

fn futures_connect(
    executor: Executor,
    host: &str,
    port: u16,
    options: &Options,
) -> Result<Box<dyn Session>, Error> {
    let session = executor.block_on(smtp_asyncstd::Session::connect(host, port, options))?;
    Ok(Box::new(FuturesSession { session, executor }))
}

impl Adapter for AsyncStd {
    fn name(&self) -> &'static str {
        "async-std"
    }
    fn connect(&self, host: &str, port: u16, options: &Options) -> Result<Box<dyn Session>, Error> {
        futures_connect(Executor::AsyncStd, host, port, options)
    }
}

impl Adapter for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }
    fn connect(&self, host: &str, port: u16, options: &Options) -> Result<Box<dyn Session>, Error> {
        futures_connect(Executor::Smol, host, port, options)
    }
}
