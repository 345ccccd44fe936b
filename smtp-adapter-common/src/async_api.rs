//! The public methods of the async adapters' `Session`, written once: each
//! adapter's `Session<S>` wraps an [`AsyncSession`](crate::AsyncSession)
//! and differs from the other only in its `AsyncRead` trait.

/// Writes the methods of an async adapter's `Session<S>` (a tuple struct
/// around an [`AsyncSession`](crate::AsyncSession)) that only forward to
/// it: `send`, `send_from`, `send_many`, `send_many_with`, `noop`, `rset`,
/// `close`, `quit`, `client` and `events`. `$read` is the adapter's
/// `AsyncRead` trait and `$body` its wrapper turning such a reader into an
/// [`AsyncBody`](crate::AsyncBody).
#[macro_export]
macro_rules! async_session_methods {
    ($read:path, $body:ident) => {
        /// Sends one message whose body is in memory. `Ok` when the server
        /// decided (see [`Outcome::is_delivered`] and [`Outcome::refused`]);
        /// `Err` when the session failed before it did.
        pub async fn send(
            &mut self,
            envelope: &$crate::smtp_proto::Envelope,
            body: &[u8],
        ) -> Result<$crate::smtp_proto::Outcome, $crate::Error> {
            self.0.send(envelope, body).await
        }

        /// Sends one message whose body is read from `body` in 64 KiB
        /// chunks (constant memory, whatever its size).
        pub async fn send_from<R: $read + Unpin>(
            &mut self,
            envelope: &$crate::smtp_proto::Envelope,
            body: R,
        ) -> Result<$crate::smtp_proto::Outcome, $crate::Error> {
            self.0.send(envelope, $body(body)).await
        }

        /// Sends several messages, queued together so that the core
        /// pipelines them when the server allows. Returns one outcome per
        /// message, in order. If the session fails midway, the messages it
        /// could not finish are reported
        /// [`NotSent`](smtp_proto::TransactionError::NotSent) and the next
        /// call returns the error. Envelopes are given by reference
        /// (cloned) or owned (moved, no clone).
        pub async fn send_many<E: $crate::IntoEnvelope, R: $read + Unpin>(
            &mut self,
            messages: impl IntoIterator<Item = (E, R)>,
        ) -> Result<Vec<$crate::smtp_proto::Outcome>, $crate::Error> {
            self.send_many_with(messages, |_| {}).await
        }

        /// [`Session::send_many`], handing each message's outcome to
        /// `progress` as soon as it is known (in the order of the
        /// messages), while the rest of the batch is still on its way: to
        /// move a progress bar, or log each message.
        pub async fn send_many_with<E: $crate::IntoEnvelope, R: $read + Unpin>(
            &mut self,
            messages: impl IntoIterator<Item = (E, R)>,
            progress: impl FnMut(&$crate::smtp_proto::Outcome),
        ) -> Result<Vec<$crate::smtp_proto::Outcome>, $crate::Error> {
            let messages = messages.into_iter().map(|(e, r)| (e, $body(r)));
            self.0.send_many(messages, progress).await
        }

        /// Sends NOOP and waits for its reply: checks that an idle session
        /// is still alive (or keeps it so). Only while no message is in
        /// flight.
        pub async fn noop(&mut self) -> Result<(), $crate::Error> {
            self.0.noop().await
        }

        /// Sends RSET and waits for its reply. Only while no message is in
        /// flight.
        pub async fn rset(&mut self) -> Result<(), $crate::Error> {
            self.0.rset().await
        }

        /// Ends the session with QUIT and waits for the server's reply,
        /// keeping the session so that [`Session::events`] still yields the
        /// last events (the QUIT and 221 transcript lines). Later sends
        /// fail; a second `close` returns the same result.
        pub async fn close(&mut self) -> Result<(), $crate::Error> {
            self.0.close().await
        }

        /// Ends the session with QUIT and waits for the server's reply. The
        /// events of QUIT go with the session: use [`Session::close`] (or
        /// an event sink, [`Options::on_event`]) to see them.
        pub async fn quit(self) -> Result<(), $crate::Error> {
            self.0.quit().await
        }

        /// The core: its stage, the server's capabilities, whether the
        /// connection is encrypted.
        pub fn client(&self) -> &$crate::smtp_proto::Client {
            self.0.client()
        }

        /// Drains the events seen so far other than outcomes (greeting,
        /// capabilities, transcript lines when `Config::transcript` is on).
        /// Empty when the options have an event sink, which gets them
        /// instead.
        pub fn events(&mut self) -> impl Iterator<Item = $crate::smtp_proto::Event> + '_ {
            self.0.events()
        }
    };
}

/// Writes an async adapter's [`PoolRuntime`](crate::PoolRuntime): a unit
/// struct named `$runtime` (with the attributes given, its docs among
/// them) whose sessions are the adapter's `Session::connect` over its
/// `TcpStream` and whose sleep is `$sleep` (a closure from a `Duration` to
/// a future). Expanded where `Session`, `Connection` and `TcpStream` are
/// the adapter's.
#[macro_export]
macro_rules! async_pool_runtime {
    ($(#[$meta:meta])* $runtime:ident, $sleep:expr) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $runtime;

        impl $crate::PoolRuntime for $runtime {
            type Connection = Connection<TcpStream>;

            async fn connect(
                host: &str,
                port: u16,
                options: &$crate::Options,
            ) -> Result<$crate::AsyncSession<Self::Connection>, $crate::Error> {
                Ok(Session::connect(host, port, options).await?.0)
            }

            async fn sleep(duration: std::time::Duration) {
                ($sleep)(duration).await;
            }
        }
    };
}
