//! Uses the core's API without std; see Cargo.toml for why this proves it.
#![no_std]

extern crate alloc;

use smtp_proto::{Address, Client, Config, Envelope, Instant, Output};

/// Drives a client far enough to touch the parser, the table and the output.
pub fn smoke() -> usize {
    let now = Instant::ZERO;
    let mut client = Client::new(Config::default(), now);
    if let (Ok(from), Ok(to)) = (Address::new("a@b.example"), Address::new("c@d.example")) {
        let _ = client.send(Envelope::new(from, [to]), now);
    }
    client.handle_input(b"220 ok\r\n", now);
    match client.poll_output() {
        Output::Transmit(bytes) => bytes.len(),
        _ => 0,
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
