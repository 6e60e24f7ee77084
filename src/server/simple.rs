//! The simple query protocol: one Query message, any number of statements.
//!
//! pgwire's default handler works out the transaction state from the kinds
//! of response it sees; a session knows it exactly (a failed statement
//! inside a block, a `COMMIT` that rolled back), so this handler sends
//! ReadyForQuery itself with the state the session reported. Statements run
//! in order and stop at the first error, whose ErrorResponse takes the place
//! of the rest, as in PostgreSQL. A `COPY ... FROM STDIN` hands the
//! connection to the COPY sub-protocol, which sends ReadyForQuery when the
//! data is in.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::copy::{send_copy_in_response, send_copy_out_response};
use pgwire::api::query::{
    SimpleQueryHandler, send_execution_response, send_query_response, send_ready_for_query,
};
use pgwire::api::results::Response;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::EmptyQueryResponse;
use pgwire::messages::simplequery::Query;
use rustydb_engine::types::with_session_zone;

use super::backend::{Backend, Session};
use super::connection::{Connection, error_info, notice_messages, outcome_response};
use super::encode::WireFormat;

/// PostgreSQL answers a query of only whitespace and semicolons with
/// EmptyQueryResponse without running anything.
fn is_empty_query(sql: &str) -> bool {
    sql.chars().all(|c| c == ';' || c.is_whitespace())
}

#[async_trait]
impl<B: Backend> SimpleQueryHandler for Connection<B> {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        for response in self.do_query(client, &query.query).await? {
            match response {
                Response::EmptyQuery => {
                    client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(
                            EmptyQueryResponse::new(),
                        ))
                        .await?;
                }
                Response::Query(rows) => send_query_response(client, rows, true).await?,
                Response::Execution(tag)
                | Response::TransactionStart(tag)
                | Response::TransactionEnd(tag) => send_execution_response(client, tag).await?,
                Response::Error(e) => {
                    self.shared.metrics.error();
                    client
                        .feed(PgWireBackendMessage::ErrorResponse((*e).into()))
                        .await?;
                }
                Response::CopyIn(copy) | Response::CopyBoth(copy) => {
                    send_copy_in_response(client, copy).await?;
                    client.set_state(PgWireConnectionState::CopyInProgress(false));
                }
                Response::CopyOut(copy) => send_copy_out_response(client, copy).await?,
            }
        }
        client.set_transaction_status(self.transaction_status());
        if !matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.set_state(PgWireConnectionState::ReadyForQuery);
            send_ready_for_query(client, self.transaction_status()).await?;
        }
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, sql: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if is_empty_query(sql) {
            return Ok(vec![Response::EmptyQuery]);
        }
        self.shared.metrics.query();
        let owned = sql.to_owned();
        let ran = self
            .run(move |session| session.simple_query(&owned))
            .await?;
        for notice in notice_messages(ran.notices) {
            client
                .feed(PgWireBackendMessage::NoticeResponse(notice))
                .await?;
        }
        let mut responses = Vec::with_capacity(ran.value.len());
        for outcome in ran.value {
            let response = outcome.and_then(|outcome| {
                with_session_zone(Arc::clone(&ran.zone), || {
                    outcome_response(self, outcome, |n| Ok(vec![WireFormat::Text; n]))
                })
            });
            match response {
                Ok(response) => {
                    let copying = matches!(response, Response::CopyIn(_));
                    responses.push(response);
                    // The COPY sub-protocol takes over the connection; a
                    // statement after it in the same string does not run.
                    if copying {
                        break;
                    }
                }
                Err(e) => {
                    responses.push(Response::Error(Box::new(error_info(e))));
                    break;
                }
            }
        }
        Ok(responses)
    }
}
