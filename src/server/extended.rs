//! The extended query protocol: Parse, Bind, Describe, Execute, Sync, Close.
//!
//! pgwire keeps the named and unnamed statements and portals, answers
//! Describe from what a statement reports, and suspends a portal after
//! `max_rows` rows, holding the rest for the next Execute. What is left here
//! is the part only the database can do — preparing a statement, running it
//! with its bound parameters — plus the conversions at the edge: parameter
//! bytes to [`Value`]s in each parameter's text or binary format, and result
//! rows to the formats Bind asked for.
//!
//! The session runs a portal to completion on its first Execute and the
//! server keeps the encoded rows; a later Execute only continues sending.
//! That matches the engine's statement-at-a-time API, at the cost of holding
//! a large result in memory while a client pages through it.

use std::fmt::Debug;
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{FieldInfo, Response};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{Describe, Execute};
use rustydb_engine::types::{DataType, Value, with_session_zone};

use super::backend::{Backend, BackendError, PreparedStatement, Session};
use super::connection::{
    Connection, field_infos, notice_messages, outcome_response, pg_type, to_pg_error,
};
use super::encode::{WireFormat, decode};

/// A prepared statement as pgwire stores it.
pub type Statement<B> = Arc<<<B as Backend>::Session as Session>::Prepared>;

/// Prepares statements on the connection's session.
pub struct StatementParser<B: Backend> {
    connection: Weak<Connection<B>>,
}

impl<B: Backend> StatementParser<B> {
    pub(crate) fn new(connection: Weak<Connection<B>>) -> StatementParser<B> {
        StatementParser { connection }
    }
}

/// The engine type of a parameter type OID a client declared; `None` for
/// "unspecified" (0) and for types the engine does not have, which the
/// engine then infers.
fn declared_type(ty: &Option<Type>) -> Option<DataType> {
    let name = ty.as_ref()?.name().to_owned();
    name.parse().ok()
}

/// One format per item under pgwire's parsed format codes, checked against
/// the item count so a short list from a client is an error, not a panic.
fn formats(format: &Format, count: usize) -> Result<Vec<WireFormat>, BackendError> {
    let codes: Vec<i16> = match format {
        Format::UnifiedText => Vec::new(),
        Format::UnifiedBinary => vec![1],
        Format::Individual(codes) => codes.clone(),
    };
    (0..count)
        .map(|i| WireFormat::for_index(&codes, i, count))
        .collect()
}

#[async_trait]
impl<B: Backend> QueryParser for StatementParser<B> {
    type Statement = Statement<B>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let connection = self
            .connection
            .upgrade()
            .ok_or(PgWireError::NotReadyForQuery)?;
        let sql = sql.to_owned();
        let declared: Vec<Option<DataType>> = types.iter().map(declared_type).collect();
        let ran = connection
            .run(move |session| session.prepare(&sql, &declared))
            .await?;
        ran.value.map(|p| Some(Arc::new(p))).map_err(to_pg_error)
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(stmt.parameter_types().iter().map(pg_type).collect())
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let columns = stmt.columns();
        let formats = match column_format {
            Some(format) => formats(format, columns.len()).map_err(to_pg_error)?,
            None => vec![WireFormat::Text; columns.len()],
        };
        Ok(field_infos(&columns, &formats))
    }
}

/// The bound parameters of `portal` as values of the statement's types.
fn parameters<B: Backend>(portal: &Portal<Statement<B>>) -> Result<Vec<Value>, BackendError> {
    let types = portal.statement.statement.parameter_types();
    if portal.parameters.len() != types.len() {
        return Err(BackendError::new(
            "08P01",
            format!(
                "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                portal.parameters.len(),
                portal.statement.id,
                types.len()
            ),
        ));
    }
    let formats = formats(&portal.parameter_format, types.len())?;
    let declared = &portal.statement.parameter_types;
    portal
        .parameters
        .iter()
        .zip(&types)
        .zip(formats)
        .enumerate()
        .map(|(i, ((bytes, ty), format))| {
            // The bytes are in the type the client declared in Parse (psycopg
            // sends a small int as binary int2 even where the statement wants
            // int8); decode them as that, then cast as PostgreSQL would.
            let sent = declared.get(i).and_then(declared_type).unwrap_or(*ty);
            decode(bytes.as_deref(), &sent, format)
                .and_then(|v| {
                    if sent == *ty {
                        Ok(v)
                    } else {
                        v.cast(ty)
                            .map_err(|e| BackendError::new(e.sqlstate().code(), e.to_string()))
                    }
                })
                .map_err(|e| e.with_detail(format!("bind parameter ${}", i + 1)))
        })
        .collect()
}

#[async_trait]
impl<B: Backend> ExtendedQueryHandler for Connection<B> {
    type Statement = Statement<B>;
    type QueryParser = StatementParser<B>;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // PostgreSQL answers Describe of a statement that returns no rows
        // with ParameterDescription and NoData; pgwire sends an empty
        // RowDescription once there are parameters, which PgJDBC and others
        // take for a query. Only that case is answered here.
        if message.target_type == b'S' {
            let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
            if let Some(Entry::Value(stmt)) = client.portal_store().get_statement(name)
                && stmt.statement.columns().is_empty()
            {
                let response = self.do_describe_statement(client, &stmt).await?;
                let oids = response.parameters.iter().map(Type::oid).collect();
                client
                    .feed(PgWireBackendMessage::ParameterDescription(
                        ParameterDescription::new(oids),
                    ))
                    .await?;
                client
                    .send(PgWireBackendMessage::NoData(NoData::new()))
                    .await?;
                return Ok(());
            }
        }
        self._on_describe(client, message).await
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let result = self._on_execute(client, message).await;
        client.set_transaction_status(self.transaction_status());
        result
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.shared.metrics.query();
        // Text parameters (a timestamptz without an offset) read in the
        // session's zone.
        let params =
            with_session_zone(self.zone(), || parameters::<B>(portal)).map_err(to_pg_error)?;
        let statement = Arc::clone(&portal.statement.statement);
        let ran = self
            .run(move |session| session.execute(&statement, &params))
            .await?;
        for notice in notice_messages(ran.notices) {
            client
                .feed(PgWireBackendMessage::NoticeResponse(notice))
                .await?;
        }
        let outcome = ran.value.map_err(to_pg_error)?;
        let result_format = portal.result_column_format.clone();
        with_session_zone(ran.zone, || {
            outcome_response(self, outcome, |n| formats(&result_format, n))
        })
        .map_err(to_pg_error)
    }
}
