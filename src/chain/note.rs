//! Signed checkpoints as text (`docs/proofs.md` §4): C2SP tlog-checkpoint bodies (origin line,
//! tree size, base64 root) in C2SP signed-note form with Ed25519 (signature type `0x01`), note
//! verifier keys (`name+keyid+base64(0x01 ‖ public key)`), and the private key's text form
//! (`PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)`, as Go's `golang.org/x/mod/sumdb/note` writes
//! it). Pure functions over text and bytes; keeping the key in a file is `ledger::keys`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// The signature type byte of Ed25519 in signed notes.
const ED25519: u8 = 0x01;
/// Most signature lines a note may carry before it is refused (the spec asks for at least 16).
pub const NOTE_SIGNATURES_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("malformed key: {0}")]
    Key(String),
    #[error("the note carries no signature by {0}")]
    NotSigned(String),
    #[error(
        "the signature by {0} does not verify: the note was altered or not signed by this key"
    )]
    BadSignature(String),
}

fn malformed(why: impl Into<String>) -> NoteError {
    NoteError::Malformed(why.into())
}

/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]`: the key ID of an Ed25519 note key.
pub fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

pub(super) fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::Key(format!(
            "a key name must be non-empty, without spaces or `+`: {name:?}"
        )));
    }
    Ok(())
}

pub(super) fn hex4(id: &[u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// `name+keyid+base64(0x01 ‖ key)`, the text form of verifier and private keys.
fn parse_key_text(text: &str) -> Result<(String, [u8; 4], [u8; 32]), NoteError> {
    parse_typed_key_text(text, ED25519)
}

/// `name+keyid+base64(kind ‖ key)` for a 32-byte key of signature type `kind` (Ed25519 note
/// keys are 0x01, Ed25519 cosigner keys 0x04).
pub(super) fn parse_typed_key_text(
    text: &str,
    kind: u8,
) -> Result<(String, [u8; 4], [u8; 32]), NoteError> {
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(NoteError::Key("expected NAME+KEYID+BASE64".into()));
    };
    check_name(name)?;
    let id: [u8; 4] = (id.len() == 8)
        .then(|| u32::from_str_radix(id, 16).ok())
        .flatten()
        .map(u32::to_be_bytes)
        .ok_or_else(|| NoteError::Key(format!("the key ID {id:?} is not 8 hex digits")))?;
    let bytes = B64
        .decode(key)
        .map_err(|e| NoteError::Key(format!("the key is not base64: {e}")))?;
    match bytes.split_first() {
        Some((&k0, k)) if k0 == kind && k.len() == 32 => {
            Ok((name.to_owned(), id, k.try_into().expect("32 bytes")))
        }
        _ => Err(NoteError::Key(format!(
            "expected an Ed25519 key of type {kind:#04x} (32 bytes)"
        ))),
    }
}

/// A note verifier key: who signs, and the Ed25519 public key to check it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub id: [u8; 4],
    pub public: [u8; 32],
}

impl VerifierKey {
    /// Parses `name+keyid+base64(0x01 ‖ public key)`, checking the key ID.
    pub fn parse(text: &str) -> Result<VerifierKey, NoteError> {
        let (name, id, public) = parse_key_text(text)?;
        if key_id(&name, &public) != id {
            return Err(NoteError::Key("the key ID does not match the key".into()));
        }
        VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::Key("not an Ed25519 public key".into()))?;
        Ok(VerifierKey { name, id, public })
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut k = vec![ED25519];
        k.extend_from_slice(&self.public);
        write!(f, "{}+{}+{}", self.name, hex4(&self.id), B64.encode(k))
    }
}

/// A signing key with its name.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer for `name` from a 32-byte Ed25519 seed.
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// Parses `PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)`.
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::Key("expected PRIVATE+KEY+NAME+KEYID+BASE64".into()))?;
        let (name, id, seed) = parse_key_text(rest)?;
        let signer = NoteSigner::new(&name, &seed)?;
        if signer.verifier().id != id {
            return Err(NoteError::Key("the key ID does not match the key".into()));
        }
        Ok(signer)
    }

    /// The private key's text form (keep it secret).
    pub fn to_private_text(&self) -> String {
        let mut k = vec![ED25519];
        k.extend_from_slice(self.key.as_bytes());
        let v = self.verifier();
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex4(&v.id),
            B64.encode(k)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> VerifierKey {
        let public = self.key.verifying_key().to_bytes();
        VerifierKey {
            id: key_id(&self.name, &public),
            name: self.name.clone(),
            public,
        }
    }

    /// `text` (ending in a newline) as a signed note with this key's signature line.
    pub fn sign(&self, text: &str) -> String {
        note_with_signature(text, &self.name, &self.signature(text))
    }

    /// The key ID and the Ed25519 signature of `text`, as a signature line carries them in
    /// base64 (what a recorded checkpoint keeps, `docs/proofs.md` §4.1).
    pub fn signature(&self, text: &str) -> Vec<u8> {
        let sig = self.key.sign(text.as_bytes()).to_bytes();
        let mut blob = self.verifier().id.to_vec();
        blob.extend_from_slice(&sig);
        blob
    }
}

/// The signed note of `text` with one signature line by `name`: `signature` is the key ID and
/// the signature (`NoteSigner::signature`), so a recorded checkpoint gives back its note.
pub fn note_with_signature(text: &str, name: &str, signature: &[u8]) -> String {
    format!("{text}\n\u{2014} {name} {}\n", B64.encode(signature))
}

/// The text of a signed note once a signature by `key` verifies on it; signatures by other
/// keys are ignored, as the spec requires.
pub fn open<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str, NoteError> {
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed("control characters"));
    }
    let body = note
        .strip_suffix('\n')
        .ok_or_else(|| malformed("it does not end in a newline"))?;
    let split = body
        .rfind("\n\n")
        .ok_or_else(|| malformed("no empty line before the signatures"))?;
    let text = &note[..split + 1];
    let lines: Vec<&str> = body[split + 2..].split('\n').collect();
    if lines.len() > NOTE_SIGNATURES_MAX {
        return Err(malformed(format!(
            "more than {NOTE_SIGNATURES_MAX} signatures"
        )));
    }
    let mut found = false;
    for line in lines {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| malformed(format!("not a signature line: {line:?}")))?;
        let (name, sig) = rest
            .split_once(' ')
            .ok_or_else(|| malformed(format!("not a signature line: {line:?}")))?;
        let sig = B64
            .decode(sig)
            .map_err(|_| malformed(format!("a signature of {name} is not base64")))?;
        if name != key.name || sig.len() < 4 || sig[..4] != key.id {
            continue;
        }
        found = true;
        let signature: [u8; 64] = sig[4..]
            .try_into()
            .map_err(|_| NoteError::BadSignature(key.name.clone()))?;
        let vk = VerifyingKey::from_bytes(&key.public)
            .map_err(|_| NoteError::Key("not an Ed25519 public key".into()))?;
        vk.verify_strict(
            text.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&signature),
        )
        .map_err(|_| NoteError::BadSignature(key.name.clone()))?;
    }
    match found {
        true => Ok(text),
        false => Err(NoteError::NotSigned(key.name.clone())),
    }
}

/// A checkpoint: the origin naming the log, a tree size and its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The C2SP tlog-checkpoint body: each line ends in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint body (extension lines after the root are allowed and ignored).
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty());
        let size = lines.next().and_then(|s| {
            (s == "0" || !s.starts_with('0'))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        });
        let root = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| <[u8; 32]>::try_from(r).ok());
        match (origin, size, root) {
            (Some(origin), Some(size), Some(root)) => Ok(Checkpoint {
                origin: origin.to_owned(),
                size,
                root,
            }),
            _ => Err(malformed(
                "a checkpoint is an origin line, a decimal size and a base64 SHA-256 root",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of C2SP signed-note.
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn the_spec_example_verifies_and_an_altered_one_does_not() {
        let key = VerifierKey::parse(SPEC_VKEY).unwrap();
        assert_eq!(key.to_string(), SPEC_VKEY);
        assert_eq!(open(SPEC_NOTE, &key), Ok("This is an example message.\n"));
        let altered = SPEC_NOTE.replace("an example", "a forged");
        assert_eq!(
            open(&altered, &key),
            Err(NoteError::BadSignature("example.com/foo".into()))
        );
        let mut other = key.clone();
        other.name = "example.com/bar".into();
        assert_eq!(
            open(SPEC_NOTE, &other),
            Err(NoteError::NotSigned("example.com/bar".into()))
        );
    }

    #[test]
    fn a_checkpoint_signed_here_opens_with_its_verifier_key_only() {
        let signer = NoteSigner::new("chitra.example/db", &[7; 32]).unwrap();
        let again = NoteSigner::parse(&signer.to_private_text()).unwrap();
        assert_eq!(again.verifier(), signer.verifier());
        let c = Checkpoint {
            origin: "chitra.example/db".into(),
            size: 12,
            root: [9; 32],
        };
        let note = signer.sign(&c.body());
        let vkey = VerifierKey::parse(&signer.verifier().to_string()).unwrap();
        assert_eq!(Checkpoint::parse(open(&note, &vkey).unwrap()), Ok(c));
        let stranger = NoteSigner::new("chitra.example/db", &[8; 32]).unwrap();
        assert!(open(&note, &stranger.verifier()).is_err());
        assert!(open(&note.replace("\n12\n", "\n13\n"), &vkey).is_err());
        assert!(
            VerifierKey::parse("a+00000000+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").is_err()
        );
    }

    #[test]
    fn keys_round_trip_through_text_even_when_their_base64_holds_a_plus() {
        let mut pluses = 0;
        for b in 0..=255u8 {
            let signer = NoteSigner::new("a.example/k", &[b; 32]).unwrap();
            let private = signer.to_private_text();
            let public = signer.verifier().to_string();
            pluses += usize::from(private[12..].matches('+').count() > 2);
            assert_eq!(
                NoteSigner::parse(&private).unwrap().verifier(),
                signer.verifier()
            );
            assert_eq!(VerifierKey::parse(&public).unwrap(), signer.verifier());
        }
        assert!(pluses > 0, "some keys' base64 holds a `+`");
    }
}
