//! Sends one message with smtp-asyncstd under the async-std executor.
//!
//! async-std is discontinued upstream in favour of smol (see the `smol`
//! example); smtp-asyncstd serves both with the same code.
//!
//! `cargo run -p smtp-examples --bin async_std -- [HOST] [PORT]`

use smtp_asyncstd::Session;
use smtp_examples::{MESSAGE, envelope, options, report, target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    async_std::task::block_on(async {
        let (host, port) = target();
        let mut session = Session::connect(&host, port, &options()?).await?;
        println!("connected, encrypted: {}", session.client().is_encrypted());
        let outcome = session.send(&envelope(), MESSAGE).await?;
        report(&outcome);
        session.quit().await?;
        Ok(())
    })
}
