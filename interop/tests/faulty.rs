//! The failure suite, for every adapter: one test per fault of
//! `interop/servers/faulty_server.py`, over 127.0.0.1 and (in `ipv6`) over
//! ::1.

macro_rules! faults {
    ($adapter:expr; $($name:ident => $mode:literal,)*) => {
        fault_tests!($adapter, interop::process::Ip::V4; $($name => $mode,)*);

        /// Every fault again over ::1 (skipped where the machine has no
        /// IPv6 loopback).
        mod ipv6 {
            fault_tests!($adapter, interop::process::Ip::V6; $($name => $mode,)*);
        }

        /// Every mode the server knows has a test here.
        #[test]
        fn every_mode_is_covered() {
            let covered = [$($mode),*];
            for mode in interop::faulty::MODES {
                assert!(covered.contains(mode), "no test for mode {mode}");
            }
        }
    };
}

macro_rules! fault_tests {
    ($adapter:expr, $ip:expr; $($name:ident => $mode:literal,)*) => {
        $(
            #[test]
            fn $name() {
                interop::faulty::run(&$adapter, $ip, $mode);
            }
        )*

        /// The checks catch a password sent in plaintext.
        #[test]
        fn self_check() {
            interop::faulty::self_check(&$adapter, $ip);
        }
    };
}

macro_rules! faulty_for {
    ($module:ident, $adapter:expr) => {
        mod $module {
            faults! { $adapter;
                ok => "ok",
                garbage_greeting => "garbage-greeting",
                no_greeting => "no-greeting",
                cut_reply => "cut-reply",
                long_line => "long-line",
                million_line_ehlo => "million-line-ehlo",
                bare_lf => "bare-lf",
                code_2x0 => "code-2x0",
                code_99 => "code-99",
                code_600 => "code-600",
                mixed_codes => "mixed-codes",
                greylist => "greylist",
                no_starttls => "no-starttls",
                starttls_454 => "starttls-454",
                starttls_inject => "starttls-inject",
                ehlo_500 => "ehlo-500",
                rcpt2_reject => "rcpt2-reject",
                close_after_body => "close-after-body",
                trickle_greeting => "trickle-greeting",
                stall_after_354 => "stall-after-354",
                double_reply => "double-reply",
                early_reply => "early-reply",
                bdat_refuse_first => "bdat-refuse-first",
                bdat_552 => "bdat-552",
                bdat_refuse_middle => "bdat-refuse-middle",
                bdat_close_after_chunk => "bdat-close-after-chunk",
                reject_421_greeting => "reject-421-greeting",
                reject_421_ehlo => "reject-421-ehlo",
                reject_421_auth => "reject-421-auth",
                reject_421_mail => "reject-421-mail",
                reject_421_rcpt => "reject-421-rcpt",
                reject_421_data => "reject-421-data",
                reject_421_eod => "reject-421-eod",
                reject_450_greeting => "reject-450-greeting",
                reject_450_ehlo => "reject-450-ehlo",
                reject_450_auth => "reject-450-auth",
                reject_450_mail => "reject-450-mail",
                reject_450_rcpt => "reject-450-rcpt",
                reject_450_data => "reject-450-data",
                reject_450_eod => "reject-450-eod",
                reject_550_greeting => "reject-550-greeting",
                reject_550_ehlo => "reject-550-ehlo",
                reject_550_auth => "reject-550-auth",
                reject_550_mail => "reject-550-mail",
                reject_550_rcpt => "reject-550-rcpt",
                reject_550_data => "reject-550-data",
                reject_550_eod => "reject-550-eod",
            }
        }
    };
}

faulty_for!(blocking, interop::adapters::Blocking);
faulty_for!(tokio, interop::adapters::Tokio);
faulty_for!(async_std, interop::adapters::AsyncStd);
faulty_for!(smol, interop::adapters::Smol);

/// The server's own list of modes matches the suite's.
#[test]
fn server_modes_match_the_suite() {
    let out = std::process::Command::new(interop::process::PYTHON)
        .arg(interop::process::servers_dir().join("faulty_server.py"))
        .arg("--list")
        .output();
    let Ok(out) = out else {
        interop::skip::skip("server_modes_match_the_suite", "no /usr/bin/python3");
        return;
    };
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let mut suite: Vec<String> = interop::faulty::MODES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    suite.sort();
    assert_eq!(listed_sorted, suite);
}
