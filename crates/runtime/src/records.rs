//! The one writer of call and activeflow records: calls hand records over and go on; a single
//! task writes them in order, so no call ever waits for the database and SQLite never sees two
//! writers fight for its lock. Until a record is written, the API reads it from `Live`.

use crate::services::Services;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::warn;

/// A finished record to persist.
#[derive(Debug)]
pub(crate) enum Record {
    Call(call::CallRecord),
    Activeflow(store::ActiveflowRecord),
}

/// Start the writer; it ends when every sender is gone.
pub(crate) fn start(shared: Arc<Services>, mut rx: mpsc::UnboundedReceiver<Record>) {
    tokio::spawn(async move {
        while let Some(r) = rx.recv().await {
            let Some(store) = &shared.store else { continue };
            match r {
                Record::Call(c) => {
                    if let Err(e) = store.upsert_call(&c).await {
                        warn!(error = %e, "cannot store the call record");
                    }
                    shared.live.ended_calls.remove(&c.id);
                }
                Record::Activeflow(a) => {
                    if let Err(e) = store.upsert_activeflow(&a).await {
                        warn!(error = %e, "cannot store the activeflow record");
                    }
                    shared.live.ended_activeflows.remove(&a.id);
                }
            }
        }
    });
}
