//! `--dkim-key`, `--dkim-selector`, `--dkim-domain`: the signer, and the
//! prepared message signed with it.

use crate::cli::Args;
use crate::compose::{Body, InputError, MAX_INPUT, Prepared, read_limited};
use smtp_dkim::{DkimError, DkimSigner};

/// The most octets read from a key file: a 4096-bit RSA key in PEM is
/// about 3.3 KiB.
const MAX_KEY: u64 = 64 << 10;

/// The signer the options ask for, if any (the options were checked to
/// come all three or none).
pub fn signer(args: &Args) -> Result<Option<DkimSigner>, InputError> {
    let (Some(path), Some(selector), Some(domain)) =
        (&args.dkim_key, &args.dkim_selector, &args.dkim_domain)
    else {
        return Ok(None);
    };
    let key_error = |why: String| InputError::Key {
        path: path.clone(),
        why,
    };
    let pem = match read_limited(path, MAX_KEY) {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|_| key_error("it is not PEM text".into()))?
        }
        Err(InputError::TooLarge(_)) => {
            return Err(key_error(format!(
                "it is over {} KiB: not a key",
                MAX_KEY >> 10
            )));
        }
        Err(e) => return Err(e),
    };
    match DkimSigner::from_pkcs8_pem(&pem, domain.as_str(), selector.as_str()) {
        Ok(signer) => Ok(Some(signer)),
        Err(e @ (DkimError::InvalidDomain(_) | DkimError::InvalidSelector(_))) => {
            Err(InputError::Usage(e.to_string()))
        }
        Err(e) => Err(key_error(e.to_string())),
    }
}

/// The message with its DKIM-Signature, in memory (a `--data` file is read
/// whole), its line ends made CRLF as the signer signs and the client sends
/// them; SIZE declares exactly these octets.
pub fn sign(prepared: Prepared, signer: &DkimSigner) -> Result<Prepared, InputError> {
    let Prepared {
        mut envelope,
        body,
        message_id,
    } = prepared;
    let bytes = match body {
        Body::Memory(bytes) => bytes,
        Body::File(path) => read_limited(&path, MAX_INPUT)?,
    };
    let signed = signer.sign(&bytes).map_err(InputError::Sign)?;
    envelope.size = Some(signed.len() as u64);
    Ok(Prepared {
        envelope,
        body: Body::Memory(signed),
        message_id,
    })
}
