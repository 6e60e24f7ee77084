//! Start-up and authentication.
//!
//! PostgreSQL's rule, which RustyDB keeps: a fresh database trusts
//! connections from the loopback interface, and the moment a role has a
//! password every connection must prove one — and a connection from anywhere
//! else must always prove one. Proof is SCRAM-SHA-256 only: no cleartext or
//! MD5, so a password never crosses the wire and the server stores only a
//! verifier (salt, iteration count, StoredKey, ServerKey — PostgreSQL's
//! `SCRAM-SHA-256$…` format, which [`PasswordVerifier`] reads and writes).
//!
//! The handshake itself is pgwire's `AuthDriver` and SCRAM mechanism; this
//! file picks the mechanism per connection, enforces the connection limit
//! (53300, after the start-up packet as PostgreSQL does), opens the session
//! once the client is authenticated, and says what ParameterStatus reports.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::Sink;
use pgwire::api::auth::mechanism::{AuthMechanism, AuthMechanismFactory, AuthState};
use pgwire::api::auth::sasl::scram::{ScramSecret, gen_salted_password};
use pgwire::api::auth::{
    AuthOutcome, AuthSource, LoginInfo, Password, ServerParameterProvider, StartupHandler,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, METADATA_APPLICATION_NAME, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::PasswordMessageFamily;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use super::backend::Backend;
use super::connection::{Connection, fatal};

/// The iteration count new verifiers use (PostgreSQL's default).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// A SCRAM-SHA-256 password verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordVerifier {
    /// The salt.
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// `SHA256(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl Debug for PasswordVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl PasswordVerifier {
    /// The verifier of `password` under `salt` — what `ALTER ROLE ...
    /// PASSWORD` stores.
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> PasswordVerifier {
        let salted = gen_salted_password(password, salt, iterations as usize);
        match ScramSecret::verifier_from_salted_password(salt.to_vec(), salted, iterations as usize)
        {
            ScramSecret::Verifier {
                salt,
                stored_key,
                server_key,
                ..
            } => PasswordVerifier {
                salt,
                iterations,
                stored_key,
                server_key,
            },
            ScramSecret::SaltedPassword { salt, .. } => PasswordVerifier {
                salt,
                iterations,
                stored_key: Vec::new(),
                server_key: Vec::new(),
            },
        }
    }

    /// PostgreSQL's text form:
    /// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    pub fn to_pg_string(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }

    /// Reads PostgreSQL's text form; `None` when it is not one.
    pub fn parse_pg(text: &str) -> Option<PasswordVerifier> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(PasswordVerifier {
            salt: STANDARD.decode(salt).ok()?,
            iterations: iterations.parse().ok().filter(|i| *i > 0)?,
            stored_key: STANDARD.decode(stored).ok()?,
            server_key: STANDARD.decode(server).ok()?,
        })
    }
}

/// What ParameterStatus tells every client after start-up.
#[derive(Debug)]
pub struct ServerParameters {
    /// `server_version`.
    pub server_version: String,
}

impl Default for ServerParameters {
    fn default() -> Self {
        ServerParameters {
            server_version: "15.0".to_owned(),
        }
    }
}

impl ServerParameterProvider for ServerParameters {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut params: HashMap<String, String> = [
            ("server_version", self.server_version.as_str()),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("TimeZone", "UTC"),
            ("is_superuser", "on"),
            ("default_transaction_read_only", "off"),
            ("in_hot_standby", "off"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let metadata = client.metadata();
        params.insert(
            "application_name".to_owned(),
            metadata
                .get(METADATA_APPLICATION_NAME)
                .cloned()
                .unwrap_or_default(),
        );
        if let Some(user) = metadata.get(METADATA_USER) {
            params.insert("session_authorization".to_owned(), user.clone());
        }
        Some(params)
    }
}

/// The backend's verifiers as pgwire's SCRAM credential source.
pub struct BackendAuthSource<B: Backend>(pub Arc<B>);

impl<B: Backend> Debug for BackendAuthSource<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackendAuthSource")
    }
}

#[async_trait]
impl<B: Backend> AuthSource for BackendAuthSource<B> {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        // Only verifiers are stored, never a recoverable password.
        Err(PgWireError::InvalidPassword(
            login.user().unwrap_or_default().to_owned(),
        ))
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().unwrap_or_default().to_owned();
        match self.0.password_verifier(&user) {
            Some(v) => Ok((
                ScramSecret::Verifier {
                    salt: v.salt,
                    iterations: v.iterations as usize,
                    stored_key: v.stored_key,
                    server_key: v.server_key,
                },
                None,
            )),
            None => Err(PgWireError::InvalidPassword(user)),
        }
    }
}

/// Trust: authenticated without a round trip.
struct Trust;

#[async_trait]
impl AuthMechanism for Trust {
    async fn begin(&mut self, _client: &(dyn ClientInfo + Send + Sync)) -> PgWireResult<AuthState> {
        Ok(AuthState::Ok {
            final_message: None,
            identity: None,
        })
    }

    async fn next(
        &mut self,
        client: &(dyn ClientInfo + Send + Sync),
        _message: PasswordMessageFamily,
    ) -> PgWireResult<AuthState> {
        Ok(AuthState::Failed(PgWireError::InvalidPassword(
            client
                .metadata()
                .get(METADATA_USER)
                .cloned()
                .unwrap_or_default(),
        )))
    }
}

impl<B: Backend> Connection<B> {
    fn mechanism(&self) -> Box<dyn AuthMechanism> {
        let trusted = self.shared.trust_loopback
            && self.peer.ip().is_loopback()
            && !self.shared.backend.passwords_enabled();
        if trusted {
            Box::new(Trust)
        } else {
            self.shared.scram.create()
        }
    }

    async fn authenticated<C>(&self, client: &mut C, outcome: AuthOutcome) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let AuthOutcome::Authenticated { final_message, .. } = outcome else {
            return Ok(());
        };
        let metadata = client.metadata();
        let user = metadata.get(METADATA_USER).cloned().unwrap_or_default();
        let database = metadata
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or_else(|| user.clone());
        let backend = Arc::clone(&self.shared.backend);
        let session = tokio::task::spawn_blocking(move || backend.connect(&user, &database))
            .await
            .map_err(|_| fatal("XX000", "opening the session panicked"))?
            .map_err(|e| fatal(&e.code, e.message))?;
        self.attach(session);
        self.shared
            .driver
            .complete_authentication(client, final_message)
            .await
    }
}

#[async_trait]
impl<B: Backend> StartupHandler for Connection<B> {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if self.over_limit {
                    self.shared.metrics.connection_rejected();
                    return Err(fatal("53300", "sorry, too many clients already"));
                }
                if !client.metadata().contains_key(METADATA_USER) {
                    return Err(fatal(
                        "28000",
                        "no PostgreSQL user name specified in startup packet",
                    ));
                }
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                let outcome = self
                    .shared
                    .driver
                    .begin_authentication(client, self.mechanism())
                    .await
                    .map_err(|e| auth_failure(e, &user))?;
                self.authenticated(client, outcome).await
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                let outcome = self
                    .shared
                    .driver
                    .advance_authentication(client, message)
                    .await
                    .map_err(|e| auth_failure(e, &user))?;
                self.authenticated(client, outcome).await
            }
            _ => Err(fatal("08P01", "unexpected message during start-up")),
        }
    }
}

/// Every failed authentication is FATAL 28P01 with PostgreSQL's wording,
/// whatever step failed, so a client learns nothing about which roles exist.
fn auth_failure(e: PgWireError, user: &str) -> PgWireError {
    if matches!(e, PgWireError::NoAuthenticationInProgress) {
        return fatal("08P01", e.to_string());
    }
    fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_round_trip_through_postgres_text() {
        let v = PasswordVerifier::derive("secret", b"0123456789abcdef", SCRAM_ITERATIONS);
        assert_eq!(v.stored_key.len(), 32);
        let text = v.to_pg_string();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"));
        assert_eq!(PasswordVerifier::parse_pg(&text), Some(v));
        assert_eq!(PasswordVerifier::parse_pg("md5abc"), None);
    }
}
