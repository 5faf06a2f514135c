//! Witness cosignatures as C2SP tlog-cosignature/v1 with Ed25519 (`docs/proofs.md` §7): the
//! cosigner key (type 0x04, key ID `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]`) in its
//! verifier and private text forms, the signed message (`cosignature/v1`, `time <t>`, then the
//! checkpoint's note text), cosignature lines and their verification. Pure: the witness that
//! decides whether to cosign is `app::witness`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::note::{check_name, hex4, parse_typed_key_text, NoteError};

/// The signature type byte of Ed25519 cosignatures (tlog-cosignature/v1).
const COSIGNATURE_V1: u8 = 0x04;

/// `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]`.
pub fn cosigner_key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', COSIGNATURE_V1]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The message a cosignature signs: `cosignature/v1`, `time <timestamp>`, then the
/// checkpoint's note text (its body, ending in a newline, without signature lines).
pub fn cosigned_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A witness's public key: `name+keyid+base64(0x04 ‖ public key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignerKey {
    pub name: String,
    pub id: [u8; 4],
    pub public: [u8; 32],
}

impl CosignerKey {
    pub fn parse(text: &str) -> Result<CosignerKey, NoteError> {
        let (name, id, public) = parse_typed_key_text(text, COSIGNATURE_V1)?;
        if cosigner_key_id(&name, &public) != id {
            return Err(NoteError::Key("the key ID does not match the key".into()));
        }
        VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::Key("not an Ed25519 public key".into()))?;
        Ok(CosignerKey { name, id, public })
    }
}

impl std::fmt::Display for CosignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut k = vec![COSIGNATURE_V1];
        k.extend_from_slice(&self.public);
        write!(f, "{}+{}+{}", self.name, hex4(&self.id), B64.encode(k))
    }
}

/// A witness's signing key with its name.
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl Cosigner {
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<Cosigner, NoteError> {
        check_name(name)?;
        Ok(Cosigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// Parses `PRIVATE+KEY+name+keyid+base64(0x04 ‖ seed)`.
    pub fn parse(text: &str) -> Result<Cosigner, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::Key("expected PRIVATE+KEY+NAME+KEYID+BASE64".into()))?;
        let (name, id, seed) = parse_typed_key_text(rest, COSIGNATURE_V1)?;
        let c = Cosigner::new(&name, &seed)?;
        if c.verifier().id != id {
            return Err(NoteError::Key("the key ID does not match the key".into()));
        }
        Ok(c)
    }

    pub fn to_private_text(&self) -> String {
        let mut k = vec![COSIGNATURE_V1];
        k.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex4(&self.verifier().id),
            B64.encode(k)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> CosignerKey {
        let public = self.key.verifying_key().to_bytes();
        CosignerKey {
            id: cosigner_key_id(&self.name, &public),
            name: self.name.clone(),
            public,
        }
    }

    /// The cosignature line of the checkpoint whose note text is `text`, made at `timestamp`
    /// (seconds since the Epoch): `— <name> base64(key ID ‖ timestamp (u64 BE) ‖ signature)`.
    pub fn cosign(&self, text: &str, timestamp: u64) -> String {
        let sig = self
            .key
            .sign(cosigned_message(text, timestamp).as_bytes())
            .to_bytes();
        let mut blob = self.verifier().id.to_vec();
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig);
        format!("\u{2014} {} {}\n", self.name, B64.encode(blob))
    }
}

/// Splits a signed note into its text (up to and including the newline before the empty
/// line) and its signature lines.
pub fn split_note(note: &str) -> Result<(&str, Vec<&str>), NoteError> {
    let body = note
        .strip_suffix('\n')
        .ok_or_else(|| NoteError::Malformed("it does not end in a newline".into()))?;
    let split = body
        .rfind("\n\n")
        .ok_or_else(|| NoteError::Malformed("no empty line before the signatures".into()))?;
    Ok((&note[..split + 1], body[split + 2..].split('\n').collect()))
}

/// The timestamp of the cosignature by `key` on `note`, once it verifies.
pub fn verify_cosignature(note: &str, key: &CosignerKey) -> Result<u64, NoteError> {
    let (text, lines) = split_note(note)?;
    for line in lines {
        let Some((name, sig)) = line
            .strip_prefix("\u{2014} ")
            .and_then(|r| r.split_once(' '))
        else {
            continue;
        };
        let Ok(sig) = B64.decode(sig) else { continue };
        if name != key.name || sig.len() < 4 || sig[..4] != key.id {
            continue;
        }
        let bad = || NoteError::BadSignature(key.name.clone());
        if sig.len() != 4 + 8 + 64 {
            return Err(bad());
        }
        let timestamp = u64::from_be_bytes(sig[4..12].try_into().expect("8 bytes"));
        let signature: [u8; 64] = sig[12..].try_into().expect("64 bytes");
        VerifyingKey::from_bytes(&key.public)
            .map_err(|_| NoteError::Key("not an Ed25519 public key".into()))?
            .verify_strict(
                cosigned_message(text, timestamp).as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&signature),
            )
            .map_err(|_| bad())?;
        return Ok(timestamp);
    }
    Err(NoteError::NotSigned(key.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cosignature_verifies_with_its_key_only_and_not_once_the_note_changes() {
        let w = Cosigner::new("witness.example/w1", &[5; 32]).unwrap();
        let key = CosignerKey::parse(&w.verifier().to_string()).unwrap();
        assert_eq!(key, w.verifier());
        assert_eq!(
            Cosigner::parse(&w.to_private_text()).unwrap().verifier(),
            key
        );
        let note = "log.example/a\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} log.example/a AAAA\n";
        let (text, _) = split_note(note).unwrap();
        let cosigned = format!("{note}{}", w.cosign(text, 1_700_000_000));
        assert_eq!(verify_cosignature(&cosigned, &key), Ok(1_700_000_000));
        assert_eq!(
            verify_cosignature(&cosigned.replace("\n3\n", "\n4\n"), &key),
            Err(NoteError::BadSignature("witness.example/w1".into()))
        );
        let other = Cosigner::new("witness.example/w1", &[6; 32]).unwrap();
        assert_eq!(
            verify_cosignature(&cosigned, &other.verifier()),
            Err(NoteError::NotSigned("witness.example/w1".into()))
        );
        // A note key (type 0x01) is not a cosigner key.
        assert!(CosignerKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
        )
        .is_err());
    }
}
