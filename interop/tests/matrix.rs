//! The interop matrix, for every adapter: real servers on loopback.

macro_rules! matrix_for {
    ($module:ident, $adapter:expr) => {
        mod $module {
            #[test]
            fn aiosmtpd() {
                interop::matrix::aiosmtpd(&$adapter);
            }
            #[test]
            fn postfix() {
                interop::matrix::postfix(&$adapter);
            }
            #[test]
            fn dovecot() {
                interop::matrix::dovecot(&$adapter);
            }
            #[test]
            fn sink_many_messages() {
                interop::matrix::sink_many(&$adapter);
            }
            #[test]
            fn sink_rejections() {
                interop::matrix::sink_rejections(&$adapter);
            }
        }
    };
}

matrix_for!(blocking, interop::adapters::Blocking);
matrix_for!(tokio, interop::adapters::Tokio);
matrix_for!(async_std, interop::adapters::AsyncStd);
matrix_for!(smol, interop::adapters::Smol);
