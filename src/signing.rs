//! The receipt signing key: an Ed25519 key in a PKCS#8 PEM file (mode 0600), generated on
//! first start, its public half published in the database so that every instance serves
//! every key that ever signed. Rotation writes a new file and retires the old key id; the
//! old private key is not kept (nobody should be able to sign as the old key again), its
//! public key stays published for the receipts it signed.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use crate::clock::Clock;
use crate::domain::receipt::{self, PublicKey, ReceiptClaims};
use crate::store::{self, Db};

/// The key this instance signs receipts with.
pub struct ReceiptSigner {
    key: SigningKey,
    public: PublicKey,
}

impl std::fmt::Debug for ReceiptSigner {
    // Never print the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("key_id", &self.public.key_id)
            .finish()
    }
}

impl ReceiptSigner {
    /// Loads the key file, creating it on first start, and publishes the public key.
    pub async fn open(path: &Path, db: &Db, clock: &Clock) -> anyhow::Result<Self> {
        let key = match read_key(path)? {
            Some(key) => key,
            None => {
                let key = generate();
                write_key(path, &key)?;
                tracing::info!("receipt signing key created");
                key
            }
        };
        let signer = ReceiptSigner::from_key(key);
        store::signing_keys::register(db, &signer.public.key_id, &signer.public.x(), clock.now())
            .await
            .context("cannot publish the receipt signing key")?;
        Ok(signer)
    }

    pub fn from_key(key: SigningKey) -> Self {
        let public = PublicKey::new(key.verifying_key());
        ReceiptSigner { key, public }
    }

    pub fn key_id(&self) -> &str {
        &self.public.key_id
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The claims as a compact JWS.
    pub fn sign(&self, claims: &ReceiptClaims) -> String {
        receipt::sign(claims, &self.key)
    }
}

/// Replaces the key file with a new key and retires the old key id. Returns (old, new) ids.
pub async fn rotate(
    path: &Path,
    db: &Db,
    clock: &Clock,
) -> anyhow::Result<(Option<String>, String)> {
    let old = read_key(path)?.map(|k| receipt::key_id(&k.verifying_key()));
    let key = generate();
    let new = ReceiptSigner::from_key(key.clone());
    // Publish first: a receipt signed by the new key must never lack its public key.
    store::signing_keys::register(db, new.key_id(), &new.public.x(), clock.now()).await?;
    write_key(path, &key)?;
    if let Some(old) = &old {
        store::signing_keys::retire(db, old, clock.now()).await?;
    }
    Ok((old, new.key_id().to_owned()))
}

fn generate() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

fn read_key(path: &Path) -> anyhow::Result<Option<SigningKey>> {
    let pem = match std::fs::read_to_string(path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the signing key {}", path.display()));
        }
    };
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
        anyhow::anyhow!(
            "{}: not an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)",
            path.display()
        )
    })?;
    Ok(Some(key))
}

/// Writes the key with mode 0600 through a temporary file, so a crash leaves the old key or
/// the new one, never half a file.
fn write_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| anyhow::anyhow!("cannot encode the signing key"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(pem.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    });
    if let Err(e) = written {
        // A full disk leaves half a temporary file: remove it (the old key, if any, stays).
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write the signing key {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing-key.pem");
        let key = generate();
        write_key(&path, &key).unwrap();
        assert_eq!(read_key(&path).unwrap().unwrap().to_bytes(), key.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_key_file_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key.pem");
        std::fs::write(&path, "not a key").unwrap();
        let err = read_key(&path).unwrap_err().to_string();
        assert!(err.contains("signing-key.pem"), "{err}");
    }
}
