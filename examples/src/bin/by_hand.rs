//! Drives the sans-IO core over a std `TcpStream` with no adapter: the
//! whole drain loop in one function. Plaintext only (TLS policy off): for
//! TLS, run the handshake where the loop meets `Output::StartTls`, as the
//! adapters do.
//!
//! `cargo run -p smtp-examples --bin by_hand -- [HOST] [PORT]`

use smtp_examples::{MESSAGE, config, envelope, report, target};
use smtp_proto::{Client, Event, Instant, Output, TlsPolicy};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (host, port) = target();
    let mut stream = TcpStream::connect((host.as_str(), port))?;
    stream.set_nodelay(true)?;

    // The core has no clock: it is told the time as elapsed since the start.
    let start = std::time::Instant::now();
    let now = || Instant::from_elapsed(start.elapsed());

    let mut config = config();
    config.tls = Some(TlsPolicy::Off);
    config.transcript = true;
    let mut client = Client::new(config, now());
    client.send(envelope(), now())?;
    client.quit(now());

    let mut buf = [0u8; 4096];
    let result = loop {
        match client.poll_output() {
            // One write per transmit: it may hold several pipelined commands.
            // A failed write ends the session: the core reports every
            // message not yet accepted as not sent.
            Output::Transmit(bytes) => {
                if stream.write_all(bytes).is_err() {
                    client.handle_transport_error(now());
                }
            }
            // The whole body in one chunk; a large one would go in pieces.
            Output::NeedBody(_) => client.send_body(MESSAGE, true, now())?,
            Output::Wait(deadline) => {
                let left = now().until(deadline);
                if left.is_zero() {
                    client.handle_timeout(now());
                    continue;
                }
                stream.set_read_timeout(Some(left))?;
                match stream.read(&mut buf) {
                    Ok(0) => client.handle_eof(now()),
                    Ok(n) => client.handle_input(&buf[..n], now()),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        client.handle_timeout(now())
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => client.handle_transport_error(now()),
                }
            }
            Output::StartTls => unreachable!("the TLS policy is off"),
            Output::Ready => unreachable!("QUIT was asked for, so the client never idles"),
            Output::Closed(result) => break result,
        }
        while let Some(event) = client.poll_event() {
            match event {
                Event::Transcript(line) => println!("{line}"),
                Event::Outcome(outcome) => report(&outcome),
                _ => {}
            }
        }
    };
    result?;
    Ok(())
}
