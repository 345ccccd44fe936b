//! One interface over the adapters, so each suite is written once and run
//! against every adapter. Async adapters block on their runtime inside each
//! call.

use smtp_blocking::{Envelope, Error, Options, Outcome};

/// An open session of some adapter.
pub trait Session {
    /// Sends one message.
    fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error>;
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
