//! One client connection: its session, and how statements reach it.
//!
//! pgwire drives the protocol through handler traits; here one
//! [`Connection`] per client implements all of them (start-up in `auth.rs`,
//! queries in `simple.rs` and `extended.rs`, COPY in `copy.rs`), so the state
//! a client builds up — its session, a COPY in flight, the transaction state
//! to report — lives in one place and dies with the socket.
//!
//! A session is synchronous and may run for a long time, so every call goes
//! to a blocking thread through [`Connection::run`], which also clears the
//! cancel flag first and gathers what the server reports afterwards (notices
//! and the transaction state). The session sits behind a mutex only so the
//! blocking thread can borrow it; one connection never runs two calls at
//! once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::{BufMut, BytesMut};
use futures::stream;
use pgwire::api::Type;
use pgwire::api::auth::AuthDriver;
use pgwire::api::auth::sasl::SaslMechanisms;
use pgwire::api::results::{FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::messages::response::{NoticeResponse, TransactionStatus};
use rustydb_engine::types::{DataType, Value, Zone, session_zone, with_session_zone};

use super::auth::ServerParameters;
use super::backend::{Backend, BackendError, Column, Notice, Outcome, Session, TransactionState};
use super::cancel::{CancelGuard, CancelRegistry};
use super::copy::{CopyIn, copy_out_response};
use super::encode::{WireFormat, encode};
use super::metrics::Metrics;

/// What every connection of one server shares.
pub struct Shared<B: Backend> {
    /// The database.
    pub backend: Arc<B>,
    /// Live sessions' cancel flags.
    pub cancels: Arc<CancelRegistry>,
    /// The counters.
    pub metrics: Arc<Metrics>,
    /// Runs authentication and finishes start-up.
    pub driver: AuthDriver<Arc<ServerParameters>>,
    /// SCRAM-SHA-256 over the backend's password verifiers.
    pub scram: SaslMechanisms,
    /// Whether loopback clients are trusted while no role has a password.
    pub trust_loopback: bool,
}

/// The result of a session call and what came with it.
pub struct Ran<R> {
    /// The call's own result.
    pub value: R,
    /// Notices raised during the call.
    pub notices: Vec<Notice>,
    /// The session time zone the call ran in: rows print in it, and they
    /// are encoded on another thread (see [`with_session_zone`]).
    pub zone: Arc<Zone>,
}

/// One client's state.
pub struct Connection<B: Backend> {
    pub(crate) shared: Arc<Shared<B>>,
    pub(crate) peer: SocketAddr,
    /// Set when the connection limit was reached: start-up answers 53300.
    pub(crate) over_limit: bool,
    session: OnceLock<Arc<Mutex<B::Session>>>,
    cancel_flag: OnceLock<Arc<AtomicBool>>,
    cancel_guard: Mutex<Option<CancelGuard>>,
    state: Mutex<TransactionState>,
    pub(crate) copy: Mutex<Option<CopyIn>>,
    pub(crate) parser: Arc<super::extended::StatementParser<B>>,
    /// The session's time zone as the last call left it: text the server
    /// reads outside a statement (COPY data, bind parameters) is read in
    /// it, as the statement's own literals are.
    zone: Mutex<Arc<Zone>>,
}

impl<B: Backend> Connection<B> {
    /// A connection from `peer`, not yet started up.
    pub fn new(shared: Arc<Shared<B>>, peer: SocketAddr, over_limit: bool) -> Arc<Connection<B>> {
        Arc::new_cyclic(|weak| Connection {
            shared,
            peer,
            over_limit,
            session: OnceLock::new(),
            cancel_flag: OnceLock::new(),
            cancel_guard: Mutex::new(None),
            state: Mutex::new(TransactionState::Idle),
            copy: Mutex::new(None),
            parser: Arc::new(super::extended::StatementParser::new(weak.clone())),
            zone: Mutex::new(Arc::new(Zone::utc())),
        })
    }

    /// Installs the session opened at start-up.
    pub(crate) fn attach(&self, session: B::Session) {
        let flag = session.cancel_flag();
        let _ = self.cancel_flag.set(flag);
        let _ = self.session.set(Arc::new(Mutex::new(session)));
    }

    /// Makes the session cancellable under the pid and key start-up sent.
    pub(crate) fn register_cancel(&self, pid: i32, key: &pgwire::messages::startup::SecretKey) {
        let Some(flag) = self.cancel_flag.get() else {
            return;
        };
        let mut guard = lock(&self.cancel_guard);
        if guard.is_none() {
            *guard = Some(self.shared.cancels.register(pid, key, Arc::clone(flag)));
        }
    }

    /// Whether start-up finished and a session is attached.
    pub(crate) fn has_session(&self) -> bool {
        self.session.get().is_some()
    }

    /// The transaction state after the last call, as ReadyForQuery wants it.
    pub(crate) fn transaction_status(&self) -> TransactionStatus {
        match *lock(&self.state) {
            TransactionState::Idle => TransactionStatus::Idle,
            TransactionState::InBlock => TransactionStatus::Transaction,
            TransactionState::Failed => TransactionStatus::Error,
        }
    }

    /// The session's time zone as the last call left it.
    pub(crate) fn zone(&self) -> Arc<Zone> {
        Arc::clone(&lock(&self.zone))
    }

    /// Runs `call` on the session on a blocking thread.
    pub(crate) async fn run<R, F>(&self, call: F) -> PgWireResult<Ran<R>>
    where
        R: Send + 'static,
        F: FnOnce(&mut B::Session) -> R + Send + 'static,
    {
        let session = self
            .session
            .get()
            .cloned()
            .ok_or(PgWireError::NotReadyForQuery)?;
        if let Some(flag) = self.cancel_flag.get() {
            flag.store(false, Ordering::SeqCst);
        }
        let zone = self.zone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut session = session
                .lock()
                .map_err(|_| internal("the session panicked earlier"))?;
            // The blocking thread last served any session: until a
            // statement installs this one's zone, work in the zone it had.
            with_session_zone(zone, || {
                let value = call(&mut session);
                let notices = session.take_notices();
                let state = session.transaction_state();
                Ok::<_, BackendError>((value, notices, state, session_zone()))
            })
        })
        .await;
        let (value, notices, state, zone) = joined
            .map_err(|_| to_pg_error(internal("the statement panicked")))?
            .map_err(to_pg_error)?;
        *lock(&self.state) = state;
        *lock(&self.zone) = Arc::clone(&zone);
        Ok(Ran {
            value,
            notices,
            zone,
        })
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only the connection's own task touches these; a poisoned lock means a
    // panic already ended a call, and the value inside is still whole.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn internal(message: &str) -> BackendError {
    BackendError::new("XX000", message)
}

/// A backend error as the ErrorResponse fields pgwire sends.
pub(crate) fn error_info(e: BackendError) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".to_owned(), e.code, e.message);
    info.detail = e.detail;
    info.hint = e.hint;
    info
}

/// A backend error as a pgwire error (an ErrorResponse, connection kept).
pub(crate) fn to_pg_error(e: BackendError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

/// A connection-ending error (`FATAL`).
pub(crate) fn fatal(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

/// Notices as the messages that carry them.
pub(crate) fn notice_messages(notices: Vec<Notice>) -> Vec<NoticeResponse> {
    notices
        .into_iter()
        .map(|n| {
            NoticeResponse::new(vec![
                (b'S', n.severity.clone()),
                (b'V', n.severity),
                (b'C', n.code),
                (b'M', n.message),
            ])
        })
        .collect()
}

/// The pgwire type of a column type (every engine OID is a built-in one).
pub(crate) fn pg_type(ty: &DataType) -> Type {
    Type::from_oid(ty.oid()).unwrap_or(Type::UNKNOWN)
}

/// The RowDescription fields of `columns` in the given formats.
pub(crate) fn field_infos(columns: &[Column], formats: &[WireFormat]) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let format = match formats.get(i) {
                Some(WireFormat::Binary) => FieldFormat::Binary,
                _ => FieldFormat::Text,
            };
            FieldInfo::new(c.name.clone(), None, None, pg_type(&c.data_type), format)
                .with_type_size(c.data_type.typlen())
                .with_type_modifier(c.data_type.typmod())
        })
        .collect()
}

/// Encodes one row into a DataRow.
pub(crate) fn data_row(
    row: &[Value],
    columns: &[Column],
    formats: &[WireFormat],
) -> Result<DataRow, BackendError> {
    let mut data = BytesMut::new();
    for (i, column) in columns.iter().enumerate() {
        let format = formats.get(i).copied().unwrap_or(WireFormat::Text);
        let value = row.get(i).unwrap_or(&Value::Null);
        match encode(value, &column.data_type, format)? {
            None => data.put_i32(-1),
            Some(bytes) => {
                let len = i32::try_from(bytes.len())
                    .map_err(|_| BackendError::new("54000", "value too large to send"))?;
                data.put_i32(len);
                data.put_slice(&bytes);
            }
        }
    }
    let count = i16::try_from(columns.len())
        .map_err(|_| BackendError::new("54000", "too many result columns"))?;
    Ok(DataRow::new(data, count))
}

/// The command word(s) of a tag without its trailing row count: pgwire
/// appends the count of the rows it actually sent, which differs from the
/// statement's own when a portal is read in batches.
fn tag_command(tag: &str) -> &str {
    match tag.rsplit_once(' ') {
        Some((command, count)) if count.bytes().all(|b| b.is_ascii_digit()) => command,
        _ => tag,
    }
}

/// Turns one outcome into the response pgwire sends; a COPY FROM STDIN is
/// remembered on the connection for the CopyData that follows.
pub(crate) fn outcome_response<B: Backend>(
    conn: &Connection<B>,
    outcome: Outcome,
    formats: impl Fn(usize) -> Result<Vec<WireFormat>, BackendError>,
) -> Result<Response, BackendError> {
    Ok(match outcome {
        Outcome::Empty => Response::EmptyQuery,
        Outcome::Command { tag } => Response::Execution(Tag::new(&tag)),
        Outcome::Rows { columns, rows, tag } => {
            let formats = formats(columns.len())?;
            let encoded = rows
                .iter()
                .map(|row| data_row(row, &columns, &formats))
                .collect::<Result<Vec<_>, _>>()?;
            let schema = Arc::new(field_infos(&columns, &formats));
            let mut response =
                QueryResponse::new(schema, stream::iter(encoded.into_iter().map(Ok)));
            response.set_command_tag(tag_command(&tag));
            Response::Query(response)
        }
        Outcome::CopyIn { columns, format } => {
            let count = columns.len();
            *lock(&conn.copy) = Some(CopyIn::new(columns, format));
            Response::CopyIn(pgwire::api::results::CopyResponse::new(
                0,
                count,
                stream::empty(),
            ))
        }
        Outcome::CopyOut {
            columns,
            format,
            rows,
        } => Response::CopyOut(copy_out_response(&columns, &format, &rows)),
    })
}

#[cfg(test)]
mod tests {
    use super::tag_command;

    #[test]
    fn tags_lose_only_a_trailing_count() {
        assert_eq!(tag_command("SELECT 5"), "SELECT");
        assert_eq!(tag_command("INSERT 0 3"), "INSERT 0");
        assert_eq!(tag_command("CREATE TABLE"), "CREATE TABLE");
        assert_eq!(tag_command("BEGIN"), "BEGIN");
    }
}
