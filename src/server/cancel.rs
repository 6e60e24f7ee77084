//! Query cancellation: BackendKeyData in, CancelRequest out.
//!
//! Every session gets a process id and a secret key at start-up. A client
//! that wants to stop a running statement opens a *second* connection and
//! sends only those two numbers; the server looks them up here and sets the
//! session's cancel flag, which the statement polls. Nothing else happens on
//! that connection, so a guessed pid without its key does nothing, as in
//! PostgreSQL. The flag is set at once, without a lock shared with the
//! running statement, which is what keeps the latency inside 100 ms.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;

/// The live sessions' cancel flags, by process id and secret key.
#[derive(Debug, Default)]
pub struct CancelRegistry {
    flags: Mutex<HashMap<(i32, Bytes), Arc<AtomicBool>>>,
}

impl CancelRegistry {
    /// Registers a session's flag; the registration ends when the returned
    /// guard is dropped with the connection.
    pub fn register(
        self: &Arc<Self>,
        pid: i32,
        key: &SecretKey,
        flag: Arc<AtomicBool>,
    ) -> CancelGuard {
        let key = (pid, key.to_bytes());
        self.lock().insert(key.clone(), flag);
        CancelGuard {
            registry: Arc::clone(self),
            key,
        }
    }

    /// Sets the flag of the session with this pid and key; false when there
    /// is none.
    pub fn cancel(&self, pid: i32, key: &SecretKey) -> bool {
        match self.lock().get(&(pid, key.to_bytes())) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Sets every session's flag: shutdown cancels what is still running.
    pub fn cancel_all(&self) {
        for flag in self.lock().values() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i32, Bytes), Arc<AtomicBool>>> {
        // The map is only ever inserted into and removed from; a panic
        // elsewhere cannot leave it half-updated, so a poisoned lock is safe
        // to keep using.
        self.flags
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Removes a session from the registry when its connection ends.
#[derive(Debug)]
pub struct CancelGuard {
    registry: Arc<CancelRegistry>,
    key: (i32, Bytes),
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.key);
    }
}

/// pgwire's hook for CancelRequest packets.
#[derive(Debug)]
pub struct RegistryCancelHandler(pub Arc<CancelRegistry>);

#[async_trait]
impl CancelHandler for RegistryCancelHandler {
    async fn on_cancel_request(&self, request: CancelRequest) {
        if self.0.cancel(request.pid, &request.secret_key) {
            tracing::info!(pid = request.pid, "cancel request honoured");
        }
    }
}
