//! Fault injection for tests of the CQL store (compiled only under `cfg(test)`):
//! makes a chosen statement fail before it reaches the node (nothing written,
//! like a crash or a lost connection between two statements), or makes a
//! conditional write apply and then report a timeout (the answer lost, the
//! "maybe applied" case every lightweight transaction must resolve).

use std::sync::{Mutex, PoisonError};

use crate::store::StoreError;

/// What is armed, counted from the moment it was armed.
#[derive(Debug, Default)]
struct Armed {
    /// Statements still to pass before one fails without running.
    fail_statement_after: Option<usize>,
    /// Conditional writes still to pass before one applies and then times out.
    time_out_conditional_after: Option<usize>,
}

/// The faults armed on one store.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Shared by every call on the store.
    armed: Mutex<Armed>,
}

impl Faults {
    /// Fails the statement after `skip` more statements have run, without
    /// running it.
    pub(crate) fn fail_statement(&self, skip: usize) {
        self.lock().fail_statement_after = Some(skip);
    }

    /// Makes the conditional write after `skip` more conditional writes apply,
    /// then answer with a write timeout.
    pub(crate) fn time_out_conditional_after_applying(&self, skip: usize) {
        self.lock().time_out_conditional_after = Some(skip);
    }

    /// Whether an armed fault has not fired yet.
    pub(crate) fn is_armed(&self) -> bool {
        let armed = self.lock();
        armed.fail_statement_after.is_some() || armed.time_out_conditional_after.is_some()
    }

    /// Disarms everything.
    pub(crate) fn disarm(&self) {
        let mut armed = self.lock();
        armed.fail_statement_after = None;
        armed.time_out_conditional_after = None;
    }

    /// Called before every statement: the error to answer instead of running it.
    pub(super) fn before_statement(&self) -> Option<StoreError> {
        let mut armed = self.lock();
        let fires = count_down(&mut armed.fail_statement_after);
        fires.then(|| StoreError::Unavailable("cql request failed: injected failure".to_owned()))
    }

    /// Called after a conditional write ran: the error to answer instead of
    /// its result.
    pub(super) fn after_conditional(&self) -> Option<StoreError> {
        let fires = count_down(&mut self.lock().time_out_conditional_after);
        fires.then(|| {
            StoreError::Unavailable(
                "cql request failed: injected write timeout after the write applied".to_owned(),
            )
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Armed> {
        self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts an armed countdown down; true (and disarmed) when it reaches zero.
fn count_down(countdown: &mut Option<usize>) -> bool {
    match countdown {
        Some(0) => {
            *countdown = None;
            true
        }
        Some(remaining) => {
            *remaining -= 1;
            false
        }
        None => false,
    }
}
