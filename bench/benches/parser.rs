//! Reply parsers, one complete reply per iteration: ours
//! (`smtp_proto::ReplyParser`, reused as the client reuses it), Stalwart's
//! `smtp-proto` 0.2 (`ResponseReceiver`, fresh per reply as mail-send uses
//! it; and `EhloResponse::parse` for the EHLO reply) and lettre 0.11
//! (`Response::from_str`). Run with `bench/run.sh micro`.
use divan::{Bencher, black_box};
use our_smtp_proto::{ReplyLimits, ReplyParser};
use std::str::FromStr;

fn main() {
    divan::main();
}

/// The 8-line EHLO reply of the reference transcript.
pub const EHLO: &[u8] = b"250-mail\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN PLAIN\r\n250-coremail abcdefg\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n";
/// A reply to MAIL FROM.
pub const OK: &[u8] = b"250 2.1.0 Ok\r\n";
/// A reply to DATA.
pub const GO: &[u8] = b"354 End data with <CR><LF>.<CR><LF>\r\n";

const CASES: [(&str, &[u8]); 3] = [("ehlo_8_lines", EHLO), ("250_2.1.0_ok", OK), ("354_go_ahead", GO)];

#[divan::bench(args = ["ehlo_8_lines", "250_2.1.0_ok", "354_go_ahead"])]
fn ours(bencher: Bencher, case: &str) {
    let input = CASES.iter().find(|c| c.0 == case).unwrap().1;
    let mut parser = ReplyParser::new(ReplyLimits::default());
    bencher.bench_local(|| {
        let (used, reply) = parser.parse(black_box(input)).unwrap();
        debug_assert_eq!(used, input.len());
        black_box(reply.unwrap())
    });
}

#[divan::bench(args = ["ehlo_8_lines", "250_2.1.0_ok", "354_go_ahead"])]
fn stalwart_response_receiver(bencher: Bencher, case: &str) {
    let input = CASES.iter().find(|c| c.0 == case).unwrap().1;
    bencher.bench_local(|| {
        let mut receiver = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
        black_box(receiver.parse(&mut black_box(input).iter()).unwrap())
    });
}

#[divan::bench]
fn stalwart_ehlo_response(bencher: Bencher) {
    bencher.bench_local(|| {
        black_box(
            stalwart_smtp_proto::EhloResponse::<String>::parse(&mut black_box(EHLO).iter())
                .unwrap(),
        )
    });
}

#[divan::bench(args = ["ehlo_8_lines", "250_2.1.0_ok", "354_go_ahead"])]
fn lettre_from_str(bencher: Bencher, case: &str) {
    let input = std::str::from_utf8(CASES.iter().find(|c| c.0 == case).unwrap().1).unwrap();
    bencher.bench_local(|| {
        black_box(lettre::transport::smtp::response::Response::from_str(black_box(input)).unwrap())
    });
}
