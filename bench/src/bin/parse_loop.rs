//! Parses one reply `n` times with one of the three parsers, for
//! instruction counts under callgrind (bench/callgrind.sh runs it with two
//! values of `n` and divides the difference, so start-up cancels out).
//!
//! `parse_loop ours|stalwart|stalwart-ehlo|lettre ehlo|ok|go N`
use our_smtp_proto::{ReplyLimits, ReplyParser};
use std::hint::black_box;
use std::str::FromStr;

const EHLO: &[u8] = b"250-mail\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN PLAIN\r\n250-coremail abcdefg\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n";
const OK: &[u8] = b"250 2.1.0 Ok\r\n";
const GO: &[u8] = b"354 End data with <CR><LF>.<CR><LF>\r\n";

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let input = match a[2].as_str() {
        "ehlo" => EHLO,
        "ok" => OK,
        "go" => GO,
        other => panic!("unknown case {other}"),
    };
    let n: usize = a[3].parse().unwrap();
    match a[1].as_str() {
        "ours" => {
            let mut p = ReplyParser::new(ReplyLimits::default());
            for _ in 0..n {
                black_box(p.parse(black_box(input)).unwrap().1.unwrap());
            }
        }
        "stalwart" => {
            for _ in 0..n {
                let mut r = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
                black_box(r.parse(&mut black_box(input).iter()).unwrap());
            }
        }
        "stalwart-ehlo" => {
            for _ in 0..n {
                black_box(
                    stalwart_smtp_proto::EhloResponse::<String>::parse(&mut black_box(input).iter())
                        .unwrap(),
                );
            }
        }
        "lettre" => {
            let s = std::str::from_utf8(input).unwrap();
            for _ in 0..n {
                black_box(lettre::transport::smtp::response::Response::from_str(black_box(s)).unwrap());
            }
        }
        other => panic!("unknown parser {other}"),
    }
}
