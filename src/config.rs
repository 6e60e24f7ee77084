//! The configuration file: one TOML file, checked whole at load.
//!
//! A typo in a configuration file should stop the server, not be silently
//! ignored, so every table rejects keys it does not know and every value is
//! validated before anything starts; the error names the file and the key.
//! Command-line flags override the file ([`Config::override_with`]), and
//! every key has a default, so no file at all is a valid configuration.
//! `docs/configuration.md` documents each key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The default listen address (not PostgreSQL's 5432, so both can run).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5433";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./rustydb-data";

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a wrong type.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and line.
        message: String,
    },
    /// A value is well-formed but not acceptable.
    #[error("invalid configuration: {key}: {reason}")]
    Invalid {
        /// The dotted key (`server.max_connections`).
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[server]`
    pub server: ServerSection,
    /// `[storage]`
    pub storage: StorageSection,
    /// `[tls]`
    pub tls: TlsSection,
    /// `[auth]`
    pub auth: AuthSection,
    /// `[wasm]`
    pub wasm: WasmSection,
}

/// `[server]`: where and how many.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// `HOST:PORT` to accept clients on.
    pub listen: String,
    /// Sessions allowed at once.
    pub max_connections: usize,
    /// `HOST:PORT` for the Prometheus endpoint; none by default.
    pub metrics: Option<String>,
    /// Seconds a client may take to start up and authenticate.
    pub startup_timeout_secs: u64,
    /// Seconds running statements may continue after shutdown begins.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: DEFAULT_LISTEN.to_owned(),
            max_connections: 100,
            metrics: None,
            startup_timeout_secs: 60,
            shutdown_grace_secs: 5,
        }
    }
}

/// `[storage]`: the data directory and its durability.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The buffer pool's size, as PostgreSQL writes memory (`128MB`).
    pub buffer_pool_size: String,
    /// Whether a commit waits for its WAL record to reach the disk.
    pub synchronous_commit: bool,
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            buffer_pool_size: "128MB".to_owned(),
            synchronous_commit: true,
        }
    }
}

/// `[tls]`: both or neither.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
}

/// `[auth]`: who is trusted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// Whether loopback clients are trusted while no role has a password.
    pub trust_loopback: bool,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            trust_loopback: true,
        }
    }
}

/// `[wasm]`: the limits every routine call runs under at most (resource
/// groups may only tighten them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmSection {
    /// Instructions' worth of fuel a call may burn (54000 past it).
    pub fuel_per_call: u64,
    /// Milliseconds a call may run (57014 past it).
    pub time_per_call_ms: u64,
}

impl Default for WasmSection {
    fn default() -> Self {
        let limits = rustydb_wasm_host::Limits::default();
        WasmSection {
            fuel_per_call: limits.fuel_per_call,
            time_per_call_ms: u64::try_from(limits.time_per_call.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl WasmSection {
    /// The host's limits: these two, the rest at their defaults.
    pub fn limits(&self) -> rustydb_wasm_host::Limits {
        rustydb_wasm_host::Limits {
            fuel_per_call: self.fuel_per_call,
            time_per_call: std::time::Duration::from_millis(self.time_per_call_ms),
            ..rustydb_wasm_host::Limits::default()
        }
    }
}

/// Flags that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--listen`
    pub listen: Option<String>,
    /// `--metrics`
    pub metrics: Option<String>,
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration with the given flags in place of file values,
    /// validated again.
    pub fn override_with(mut self, flags: Overrides) -> Result<Config, ConfigError> {
        if let Some(dir) = flags.data_dir {
            self.storage.data_dir = dir;
        }
        if let Some(listen) = flags.listen {
            self.server.listen = listen;
        }
        if let Some(metrics) = flags.metrics {
            self.server.metrics = Some(metrics);
        }
        self.validate()?;
        Ok(self)
    }

    /// The buffer pool size in bytes.
    pub fn buffer_pool_bytes(&self) -> Result<u64, ConfigError> {
        parse_size(&self.storage.buffer_pool_size).map_err(|reason| ConfigError::Invalid {
            key: "storage.buffer_pool_size",
            reason,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_address("server.listen", &self.server.listen)?;
        if let Some(metrics) = &self.server.metrics {
            check_address("server.metrics", metrics)?;
        }
        if self.server.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "server.max_connections",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.wasm.fuel_per_call == 0 {
            return Err(ConfigError::Invalid {
                key: "wasm.fuel_per_call",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.wasm.time_per_call_ms == 0 {
            return Err(ConfigError::Invalid {
                key: "wasm.time_per_call_ms",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.server.startup_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "server.startup_timeout_secs",
                reason: "must be at least 1".to_owned(),
            });
        }
        let pool = self.buffer_pool_bytes()?;
        if pool < 1024 * 1024 {
            return Err(ConfigError::Invalid {
                key: "storage.buffer_pool_size",
                reason: "must be at least 1MB".to_owned(),
            });
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                key: "storage.data_dir",
                reason: "must not be empty".to_owned(),
            });
        }
        match (&self.tls.cert, &self.tls.key) {
            (Some(_), None) => Err(ConfigError::Invalid {
                key: "tls.key",
                reason: "tls.cert is set, so tls.key must be too".to_owned(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                key: "tls.cert",
                reason: "tls.key is set, so tls.cert must be too".to_owned(),
            }),
            _ => Ok(()),
        }
    }
}

fn check_address(key: &'static str, address: &str) -> Result<(), ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        key,
        reason: format!("{address:?}: {reason}"),
    };
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| invalid("expected HOST:PORT"))?;
    if host.is_empty() {
        return Err(invalid("missing host"));
    }
    port.parse::<u16>()
        .map_err(|_| invalid("the port must be a number from 0 to 65535"))?;
    Ok(())
}

/// Parses PostgreSQL's memory units: a number and `B`, `kB`, `MB`, `GB` or
/// `TB` (powers of 1024), with no unit meaning bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like \"128MB\""))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        other => return Err(format!("unknown unit {other:?} (use B, kB, MB, GB or TB)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.server.listen, DEFAULT_LISTEN);
        assert_eq!(config.buffer_pool_bytes().unwrap(), 128 << 20);
        let config = config
            .override_with(Overrides {
                listen: Some("0.0.0.0:6000".into()),
                ..Overrides::default()
            })
            .unwrap();
        assert_eq!(config.server.listen, "0.0.0.0:6000");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let e = Config::parse("[server]\nlisen = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
        assert!(Config::parse("[nope]\n").is_err());
        assert!(Config::parse("[server]\nmax_connections = 0\n").is_err());
        assert!(Config::parse("[wasm]\nfuel_per_call = 0\n").is_err());
        assert!(Config::parse("[wasm]\nfuel = 5\n").is_err());
        let wasm = Config::parse("[wasm]\nfuel_per_call = 5\ntime_per_call_ms = 250\n").unwrap();
        assert_eq!(wasm.wasm.limits().fuel_per_call, 5);
        assert_eq!(
            wasm.wasm.limits().time_per_call,
            std::time::Duration::from_millis(250)
        );
        assert!(Config::parse("[storage]\nbuffer_pool_size = \"12XB\"\n").is_err());
        assert!(Config::parse("[tls]\ncert = \"a.pem\"\n").is_err());
        assert!(Config::parse("[server]\nlisten = \"nohost\"\n").is_err());
        assert_eq!(parse_size("64kB").unwrap(), 64 * 1024);
    }
}
