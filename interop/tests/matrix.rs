//! The interop matrix, for every adapter: real servers on loopback, over
//! 127.0.0.1 and over ::1.

macro_rules! matrix_for {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use interop::process::Ip;
            matrix_tests!($adapter, Ip::V4);
            /// The same over ::1 (skipped where the machine has no IPv6
            /// loopback).
            mod ipv6 {
                use interop::process::Ip;
                matrix_tests!($adapter, Ip::V6);
            }
        }
    };
}

macro_rules! matrix_tests {
    ($adapter:expr, $ip:expr) => {
        suites!($adapter, $ip;
            aiosmtpd => aiosmtpd,
            postfix => postfix,
            dovecot => dovecot,
            sink_many_messages => sink_many,
            sink_rejections => sink_rejections,
        );
    };
}

macro_rules! suites {
    ($adapter:expr, $ip:expr; $($name:ident => $suite:ident,)*) => {
        $(
            #[test]
            fn $name() {
                interop::matrix::$suite(&$adapter, $ip);
            }
        )*
    };
}

matrix_for!(blocking, interop::adapters::Blocking);
matrix_for!(tokio, interop::adapters::Tokio);
matrix_for!(async_std, interop::adapters::AsyncStd);
matrix_for!(smol, interop::adapters::Smol);
