//! A data directory and its configuration. A data directory is a whole ledger: the chain and
//! personal data (sled's files), the payment files (in the same store), the configuration
//! (`chitra.toml`) and the API's tokens (`tokens.json`). Nothing about a particular province is
//! compiled in: the paying departments, their funding banks and the pay points' names come from
//! `chitra.toml`, parsed once here into typed settings with errors that name the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::types::{AccountNumber, BankBin, CommuneCode, Programme, ProvinceCode};
use crate::formats::reference::Reference;
use crate::ledger::checkpoints::CheckpointPolicy;

/// The configuration file's name inside a data directory.
pub const CONFIG_FILE: &str = "chitra.toml";
/// The API's token file inside a data directory.
pub const TOKENS_FILE: &str = "tokens.json";
/// Where a running `chitra serve` says it listens, so that the command line can read through
/// it instead of waiting for the store's lock.
pub const SERVER_FILE: &str = "server.json";
/// A file sled writes in every store it creates: its presence marks a ledger made before
/// `chitra init` existed.
const STORE_MARKER_FILE: &str = "conf";
/// Largest configuration file read (a province's file is a few KiB).
pub const CONFIG_BYTES_MAX: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no ledger at {path}: create one with `chitra init --data-dir {path}`, or point \
         --data-dir (or CHITRA_DATA_DIR) at an existing one"
    )]
    NoLedger { path: String },
    #[error("{path} already holds files; `chitra init` only creates a ledger in a new or empty directory")]
    NotEmpty { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than {CONFIG_BYTES_MAX} bytes")]
    TooLarge { path: String },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: {key}: {reason}")]
    Invalid {
        path: String,
        key: String,
        reason: String,
    },
}

/// A data directory that holds a ledger.
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// The ledger at `path`; refuses a path that holds none, so a command run in the wrong
    /// directory never creates an empty ledger by accident.
    pub fn existing(path: &Path) -> Result<DataDir, ConfigError> {
        let marked = path.join(CONFIG_FILE).is_file() || path.join(STORE_MARKER_FILE).is_file();
        if !marked {
            return Err(ConfigError::NoLedger {
                path: path.display().to_string(),
            });
        }
        Ok(DataDir {
            path: path.to_owned(),
        })
    }

    /// Creates a ledger's directory at `path` (absent or empty) with `config` as its
    /// `chitra.toml`, after checking that the text is a valid configuration.
    pub fn init(path: &Path, config: &str) -> Result<DataDir, ConfigError> {
        let config_path = path.join(CONFIG_FILE);
        Settings::parse(config, &config_path.display().to_string())?;
        if !crate::ledger::is_empty_dir(path) {
            return Err(ConfigError::NotEmpty {
                path: path.display().to_string(),
            });
        }
        let io = |source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        std::fs::write(&config_path, config).map_err(io)?;
        Ok(DataDir {
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn config_path(&self) -> PathBuf {
        self.path.join(CONFIG_FILE)
    }

    pub fn tokens_path(&self) -> PathBuf {
        self.path.join(TOKENS_FILE)
    }

    /// The settings in `chitra.toml`; a ledger without one (made before `chitra init`) has
    /// none, and whatever needs a setting says which key is missing.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let path = self.config_path();
        let shown = path.display().to_string();
        let io = |source| ConfigError::Io {
            path: shown.clone(),
            source,
        };
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(io(e)),
            Ok(m) if m.len() > CONFIG_BYTES_MAX => {
                return Err(ConfigError::TooLarge { path: shown })
            }
            Ok(_) => {}
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        Settings::parse(&text, &shown)
    }
}

/// A running server of this data directory, as it announced itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct RunningServer {
    /// `host:port` it listens on.
    pub addr: String,
    pub pid: u32,
}

/// Removes the announcement when the server stops.
#[derive(Debug)]
pub struct Announcement {
    path: PathBuf,
}

impl Drop for Announcement {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl DataDir {
    /// Announces a server listening on `addr` (readable by the owner only).
    pub fn announce_server(&self, addr: &str) -> Result<Announcement, ConfigError> {
        let path = self.path.join(SERVER_FILE);
        let server = RunningServer {
            addr: addr.to_owned(),
            pid: std::process::id(),
        };
        let text = serde_json::to_vec(&server).expect("serializes");
        let io = |source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io)?;
        std::io::Write::write_all(&mut file, &text).map_err(io)?;
        Ok(Announcement { path })
    }

    /// The server that owns this ledger now, if one announced itself and its process lives
    /// (an announcement left by a killed server is ignored).
    pub fn running_server(&self) -> Option<RunningServer> {
        let bytes = std::fs::read(self.path.join(SERVER_FILE)).ok()?;
        let server: RunningServer = serde_json::from_slice(&bytes).ok()?;
        let alive = Path::new("/proc").join(server.pid.to_string()).exists()
            && server.pid != std::process::id();
        alive.then_some(server)
    }
}

/// The paying department of a programme: the debtor of its bank files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub name: String,
    pub budget_unit_code: String,
    /// Where the programme's funding account is held.
    pub funding_bank: BankBin,
    /// The funding account a batch opens with when the maker names none.
    pub funding_account: Option<AccountNumber>,
}

/// What `chitra.toml` says, parsed and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The province the ledger pays in (2025 code), if configured.
    pub province: Option<ProvinceCode>,
    pub departments: BTreeMap<Programme, Department>,
    /// Names of the cash pay points, by commune; a pay point not named here is called after
    /// its commune in the reference data.
    pub pay_points: BTreeMap<CommuneCode, String>,
    /// HTTP limits that differ from the defaults, by name (`chitra serve` checks the names).
    pub limits: BTreeMap<String, u64>,
    /// When the writer signs checkpoints (`[checkpoints]`, `docs/proofs.md` §4.1).
    pub checkpoints: CheckpointPolicy,
    /// The witnesses whose cosignatures the ledger keeps, by name (`[witnesses]`, §7).
    pub witnesses: BTreeMap<String, crate::chain::cosign::CosignerKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    province: Option<String>,
    #[serde(default)]
    departments: BTreeMap<String, RawDepartment>,
    #[serde(default)]
    pay_points: BTreeMap<String, String>,
    #[serde(default)]
    limits: BTreeMap<String, u64>,
    checkpoints: Option<RawCheckpoints>,
    #[serde(default)]
    witnesses: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckpoints {
    interval_records: Option<u64>,
    interval_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    name: String,
    budget_unit_code: String,
    funding_bank: String,
    funding_account: Option<String>,
}

/// Longest budget-unit code (the State Treasury's codes are 7 digits; a prefix is allowed).
const BUDGET_UNIT_CODE_CHARS_MAX: usize = 35;

impl Settings {
    /// Parses and checks the text of a `chitra.toml`; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Settings, ConfigError> {
        let raw: RawSettings = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let bad = |key: String, reason: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            reason,
        };
        let reference = Reference::embedded();
        let province = match raw.province {
            None => None,
            Some(p) => {
                let code =
                    ProvinceCode::parse(&p).map_err(|e| bad("province".into(), e.to_string()))?;
                if reference.admin.province_2025(code).is_none() {
                    return Err(bad(
                        "province".into(),
                        format!("{p:?} is not a 2025 province code"),
                    ));
                }
                Some(code)
            }
        };
        let mut departments = BTreeMap::new();
        for (key, d) in raw.departments {
            let at = |field: &str| format!("departments.{key}.{field}");
            let programme = Programme::parse(&key)
                .map_err(|_| bad(format!("departments.{key}"), "not ncc, btxh or htxh".into()))?;
            crate::domain::text::check(&d.name, 1).map_err(|e| bad(at("name"), e.to_string()))?;
            let code = &d.budget_unit_code;
            if code.is_empty()
                || code.len() > BUDGET_UNIT_CODE_CHARS_MAX
                || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(bad(
                    at("budget_unit_code"),
                    format!(
                        "{code:?} is not 1 to {BUDGET_UNIT_CODE_CHARS_MAX} letters, digits or '-'"
                    ),
                ));
            }
            let funding_bank = BankBin::parse(&d.funding_bank)
                .map_err(|e| bad(at("funding_bank"), e.to_string()))?;
            reference
                .bank(funding_bank)
                .map_err(|e| bad(at("funding_bank"), e.to_string()))?;
            let funding_account = d
                .funding_account
                .map(|a| AccountNumber::parse(&a))
                .transpose()
                .map_err(|e| bad(at("funding_account"), e.to_string()))?;
            departments.insert(
                programme,
                Department {
                    name: d.name,
                    budget_unit_code: d.budget_unit_code,
                    funding_bank,
                    funding_account,
                },
            );
        }
        let mut pay_points = BTreeMap::new();
        for (key, name) in raw.pay_points {
            let code = CommuneCode::parse(&key)
                .map_err(|e| bad(format!("pay_points.{key}"), e.to_string()))?;
            crate::domain::text::check(&name, 1)
                .map_err(|e| bad(format!("pay_points.{key}"), e.to_string()))?;
            pay_points.insert(code, name);
        }
        let mut checkpoints = CheckpointPolicy::default();
        if let Some(c) = raw.checkpoints {
            for (key, given, into) in [
                (
                    "interval_records",
                    c.interval_records,
                    &mut checkpoints.interval_records,
                ),
                (
                    "interval_seconds",
                    c.interval_seconds,
                    &mut checkpoints.interval_seconds,
                ),
            ] {
                match given {
                    Some(0) => return Err(bad(format!("checkpoints.{key}"), "at least 1".into())),
                    Some(v) => *into = v,
                    None => {}
                }
            }
        }
        let mut witnesses = BTreeMap::new();
        for (name, key) in raw.witnesses {
            let at = format!("witnesses.{name}");
            let key = crate::chain::cosign::CosignerKey::parse(&key)
                .map_err(|e| bad(at.clone(), e.to_string()))?;
            if key.name != name {
                return Err(bad(
                    at,
                    format!("the key is {:?}'s, not {name:?}'s", key.name),
                ));
            }
            witnesses.insert(name, key);
        }
        Ok(Settings {
            province,
            departments,
            pay_points,
            limits: raw.limits,
            checkpoints,
            witnesses,
        })
    }

    /// The paying department of `programme`, or an error naming the key to add.
    pub fn department(&self, programme: Programme) -> Result<&Department, MissingSetting> {
        self.departments.get(&programme).ok_or(MissingSetting {
            key: format!("departments.{}", programme.code().to_ascii_lowercase()),
            what: "the paying department (name, budget_unit_code, funding_bank) that is the debtor of the programme's payment files",
        })
    }

    /// The name printed on a cash pay point's list.
    pub fn pay_point_name(&self, commune: CommuneCode) -> String {
        if let Some(name) = self.pay_points.get(&commune) {
            return name.clone();
        }
        match Reference::embedded().admin.commune_2025(commune) {
            Some(c) => format!("Điểm chi trả {}", c.name),
            None => format!("Điểm chi trả xã/phường {commune}"),
        }
    }
}

/// A setting something needs that `chitra.toml` does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{CONFIG_FILE} has no [{key}]: {what}")]
pub struct MissingSetting {
    pub key: String,
    pub what: &'static str,
}

/// The `chitra.toml` that `chitra init` writes for `province`: the province named, and the
/// departments left for the operator to fill in (the ledger refuses to release a programme's
/// batch until its department is there).
pub fn starter(province: Option<ProvinceCode>) -> String {
    let mut out = String::from(
        "# chitra's configuration for this ledger (docs/configuration.md).\n\
         # Checked whenever chitra starts; an error names the key.\n\n",
    );
    if let Some(code) = province {
        let name = Reference::embedded()
            .admin
            .province_2025(code)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        out.push_str(&format!("# {name}\nprovince = \"{code}\"\n\n"));
    }
    out.push_str(
        "# The paying department of each programme (ncc, btxh, htxh): the debtor of its payment\n\
         # files. A programme's batch cannot be released until its department is configured.\n\
         # [departments.ncc]\n\
         # name = \"Sở Nội vụ ...\"\n\
         # budget_unit_code = \"1234567\"\n\
         # funding_bank = \"970418\"        # the NAPAS BIN of the bank holding the funding account\n\
         # funding_account = \"...\"       # optional: used when `batch open` names none\n\n\
         # Names of cash pay points by 2025 commune code (default: after the commune).\n\
         # [pay_points]\n\
         # \"00004\" = \"Điểm chi trả phường Ba Đình\"\n\n\
         # HTTP limits that differ from the defaults (docs/http.md lists them).\n\
         # [limits]\n\
         # request_timeout_ms = 30000\n\n\
         # When the writer signs a checkpoint of the chain (with a key: `chitra key init`),\n\
         # besides after every batch release (docs/proofs.md).\n\
         # [checkpoints]\n\
         # interval_records = 100000\n\
         # interval_seconds = 60\n\n\
         # Witnesses whose cosignatures the ledger keeps (`chitra witness attach`), by name.\n\
         # [witnesses]\n\
         # \"kbnn.example/w1\" = \"kbnn.example/w1+1234abcd+BA...\"\n",
    );
    out
}
