//! Sends one message with the tokio adapter (tokio + tokio-rustls).
//!
//! `cargo run -p smtp-examples --bin tokio -- [HOST] [PORT]`

use smtp_examples::{MESSAGE, envelope, options, report, target};
use smtp_tokio::Session;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (host, port) = target();
    let mut session = Session::connect(&host, port, &options()?).await?;
    println!("connected, encrypted: {}", session.client().is_encrypted());
    let outcome = session.send(&envelope(), MESSAGE).await?;
    report(&outcome);
    session.quit().await?;
    Ok(())
}
