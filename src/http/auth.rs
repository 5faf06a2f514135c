//! Bearer tokens and roles.
//!
//! Tokens live in a JSON file (default `ledger-data/tokens.json`, git-ignored) as blake3 hashes
//! with the principal, role and (for a bank) BIN they stand for. A token is printed once, when it
//! is made, and never stored, logged or echoed: the server hashes what a caller presents and
//! compares it with every stored hash in constant time.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::types::{BankBin, Principal};

pub use crate::domain::access::Role;

/// One stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// blake3 of the token, hex.
    pub hash: String,
    pub principal: Principal,
    pub role: Role,
    /// The bank's NAPAS BIN, for the bank role only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<BankBin>,
    pub created_at_ms: i64,
    /// The Idempotency-Key and request digest of the API request that made it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_request: Option<(String, String)>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    tokens: Vec<TokenEntry>,
}

/// Who made a request, once their token is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub role: Role,
    pub bin: Option<BankBin>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("reading {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0} is not a token file: {1}")]
    Parse(PathBuf, serde_json::Error),
    #[error("writing {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The token store: entries in memory, written through to the file on every change.
#[derive(Debug)]
pub struct Tokens {
    path: Option<PathBuf>,
    entries: RwLock<Vec<(blake3::Hash, TokenEntry)>>,
}

/// A fresh token: `chitra_` and 64 hex digits from the operating system's randomness.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("chitra_{}", crate::chain::hex(&bytes))
}

pub fn token_hash(token: &str) -> blake3::Hash {
    blake3::hash(token.as_bytes())
}

impl Tokens {
    /// Tokens held in memory only (tests).
    pub fn in_memory(entries: Vec<TokenEntry>) -> Result<Tokens, TokenError> {
        Ok(Tokens {
            path: None,
            entries: RwLock::new(parse_entries(entries)?),
        })
    }

    /// Loads the file, or starts empty when it does not exist.
    pub fn load(path: &Path) -> Result<Tokens, TokenError> {
        let file: TokenFile = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| TokenError::Parse(path.to_path_buf(), e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TokenFile::default(),
            Err(e) => return Err(TokenError::Read(path.to_path_buf(), e)),
        };
        Ok(Tokens {
            path: Some(path.to_path_buf()),
            entries: RwLock::new(parse_entries(file.tokens)?),
        })
    }

    /// The caller a presented token stands for. Every stored hash is compared (in constant
    /// time each), so the time taken says nothing about which entry matched or how closely.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        self.authenticate_hash(&token_hash(token))
    }

    /// The caller of a token known by its hash (a dashboard session keeps the hash, not the
    /// token, and asks again on every request, so revoking the token ends its sessions).
    pub fn authenticate_hash(&self, presented: &blake3::Hash) -> Option<Caller> {
        let presented = *presented;
        let entries = self.entries.read().expect("tokens lock");
        let mut found = None;
        for (hash, entry) in entries.iter() {
            // blake3::Hash's equality is constant-time.
            if *hash == presented && found.is_none() {
                found = Some(Caller {
                    principal: entry.principal.clone(),
                    role: entry.role,
                    bin: entry.bin,
                });
            }
        }
        found
    }

    pub fn list(&self) -> Vec<TokenEntry> {
        self.entries
            .read()
            .expect("tokens lock")
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Adds a token for a new principal and returns the token (the only time it exists outside
    /// the caller's hands).
    pub fn add(
        &self,
        principal: Principal,
        role: Role,
        bin: Option<BankBin>,
        now_ms: i64,
        created_by_request: Option<(String, String)>,
    ) -> Result<String, TokenError> {
        check_entry(&principal, role, bin)?;
        let token = new_token();
        let hash = token_hash(&token);
        let entry = TokenEntry {
            hash: hash.to_hex().to_string(),
            principal,
            role,
            bin,
            created_at_ms: now_ms,
            created_by_request,
        };
        let mut entries = self.entries.write().expect("tokens lock");
        if entries.iter().any(|(_, e)| e.principal == entry.principal) {
            return Err(TokenError::Invalid(format!(
                "{} already has a token; revoke it first",
                entry.principal
            )));
        }
        entries.push((hash, entry));
        self.save(&entries)?;
        Ok(token)
    }

    /// Removes the principal's token; false when it had none.
    pub fn revoke(&self, principal: &str) -> Result<bool, TokenError> {
        let mut entries = self.entries.write().expect("tokens lock");
        let before = entries.len();
        entries.retain(|(_, e)| e.principal.as_str() != principal);
        if entries.len() == before {
            return Ok(false);
        }
        self.save(&entries)?;
        Ok(true)
    }

    fn save(&self, entries: &[(blake3::Hash, TokenEntry)]) -> Result<(), TokenError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = TokenFile {
            tokens: entries.iter().map(|(_, e)| e.clone()).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("token file serialises");
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("json.tmp");
            {
                use std::io::Write;
                let mut f = open_private(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
            }
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| TokenError::Write(path.clone(), e))
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

fn check_entry(principal: &Principal, role: Role, bin: Option<BankBin>) -> Result<(), TokenError> {
    // The principal names its role (and a bank's BIN), and the ledger decides by it: a token
    // whose stored role or BIN disagree with its principal would authorise one thing at the
    // route and another in the ledger.
    if principal.role() != role || principal.bank_bin() != bin {
        return Err(TokenError::Invalid(format!(
            "{principal}: its role and BIN must agree with the principal (role {role}, BIN {})",
            bin.map_or("none".to_owned(), |b| b.to_string())
        )));
    }
    match (role, bin) {
        (Role::Bank, None) => Err(TokenError::Invalid(format!(
            "{principal}: a bank token needs the bank's BIN"
        ))),
        (Role::Bank, Some(b)) => {
            crate::formats::reference::Reference::embedded()
                .bank(b)
                .map_err(|e| TokenError::Invalid(e.to_string()))?;
            Ok(())
        }
        (_, Some(_)) => Err(TokenError::Invalid(format!(
            "{principal}: only a bank token has a BIN"
        ))),
        (_, None) => Ok(()),
    }
}

fn parse_entries(entries: Vec<TokenEntry>) -> Result<Vec<(blake3::Hash, TokenEntry)>, TokenError> {
    entries
        .into_iter()
        .map(|e| {
            check_entry(&e.principal, e.role, e.bin)?;
            let hash = blake3::Hash::from_hex(&e.hash).map_err(|_| {
                TokenError::Invalid(format!("{}: hash is not 64 hex digits", e.principal))
            })?;
            Ok((hash, e))
        })
        .collect()
}

/// The principal name for a role and a name: `maker:hoa`; a bank's is `bank:<BIN>` (and
/// `bank:<BIN>:<name>` when a name is given).
pub fn principal_for(
    role: Role,
    name: Option<&str>,
    bin: Option<BankBin>,
) -> Result<Principal, String> {
    let text = match (role, name, bin) {
        (Role::Bank, None, Some(b)) => format!("bank:{b}"),
        (Role::Bank, Some(n), Some(b)) => format!("bank:{b}:{n}"),
        (Role::Bank, _, None) => return Err("a bank token needs --bin".into()),
        (r, Some(n), _) => format!("{}:{n}", r.name()),
        (_, None, _) => return Err("a name is needed (--name)".into()),
    };
    Principal::parse(&text).map_err(|e| e.to_string())
}

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}
