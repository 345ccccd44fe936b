//! Sends one message with the blocking adapter (std::net + rustls).
//!
//! `cargo run -p smtp-examples --bin blocking -- [HOST] [PORT]`

use smtp_blocking::Session;
use smtp_examples::{MESSAGE, envelope, options, report, target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (host, port) = target();
    let mut session = Session::connect(&host, port, &options()?)?;
    println!("connected, encrypted: {}", session.client().is_encrypted());
    let outcome = session.send(&envelope(), MESSAGE)?;
    report(&outcome);
    session.quit()?;
    Ok(())
}
