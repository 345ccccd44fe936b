//! Sends two messages with smtp-asyncstd under smol: the first from
//! memory, the second streamed from a reader.
//!
//! `cargo run -p smtp-examples --bin smol -- [HOST] [PORT]`

use smtp_asyncstd::Session;
use smtp_examples::{MESSAGE, envelope, options, report, target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(async {
        let (host, port) = target();
        let mut session = Session::connect(&host, port, &options()?).await?;
        println!("connected, encrypted: {}", session.client().is_encrypted());
        let (one, two) = (envelope(), envelope());
        let first = session.send(&one, MESSAGE).await?;
        // Any futures-io AsyncRead works as a body: a file, a pipe, a slice.
        let second = smol::io::Cursor::new(MESSAGE.to_vec());
        let outcomes = [first, session.send_from(&two, second).await?];
        outcomes.iter().for_each(report);
        session.quit().await?;
        Ok(())
    })
}
