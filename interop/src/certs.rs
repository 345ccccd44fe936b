//! The test CA and the server certificate for localhost / 127.0.0.1 / ::1, made
//! once per machine by `interop/certs.sh` (openssl) and shared by every test
//! process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Paths of the test certificates.
#[derive(Debug, Clone)]
pub struct Certs {
    /// The directory holding them.
    pub dir: PathBuf,
}

impl Certs {
    /// The CA certificate a client must trust (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    /// The CA certificate (DER), to trust it alone.
    pub fn ca_der(&self) -> smtp_blocking::rustls::pki_types::CertificateDer<'static> {
        use smtp_blocking::rustls::pki_types::pem::PemObject;
        smtp_blocking::rustls::pki_types::CertificateDer::from_pem_file(self.ca())
            .expect("the test CA")
    }
    /// The server's leaf certificate followed by the CA (PEM).
    pub fn chain(&self) -> PathBuf {
        self.dir.join("server-chain.pem")
    }
    /// The server's private key (PEM).
    pub fn key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
}

fn complete(dir: &Path) -> bool {
    ["ca.pem", "server.pem", "server.key", "server-chain.pem"]
        .iter()
        .all(|f| std::fs::metadata(dir.join(f)).is_ok_and(|m| m.len() > 0))
}

fn fresh(dir: &Path) -> bool {
    // The certificates are valid for 10 days; renew after 5.
    std::fs::metadata(dir.join("ca.pem"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(5 * 24 * 3600))
}

fn make() -> Result<Certs, String> {
    let dir = std::env::temp_dir().join("smtp-interop-certs");
    if complete(&dir) && fresh(&dir) {
        return Ok(Certs { dir });
    }
    // Generate into a private directory, then move it into place in one
    // rename, so that concurrent test processes never mix two CAs.
    let tmp = std::env::temp_dir().join(format!("smtp-interop-certs.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() || !complete(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!(
            "{} failed (is openssl installed?): {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if dir.exists() && !(complete(&dir) && fresh(&dir)) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another process won the race; use its certificates.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if complete(&dir) {
        Ok(Certs { dir })
    } else {
        Err(format!("no complete certificate set in {}", dir.display()))
    }
}

/// The certificates, made on first use.
pub fn get() -> Result<&'static Certs, String> {
    static CERTS: OnceLock<Result<Certs, String>> = OnceLock::new();
    CERTS.get_or_init(make).as_ref().map_err(Clone::clone)
}
