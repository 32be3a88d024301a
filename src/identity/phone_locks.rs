//! Striped locks that take turns between the sign-in steps of one phone on this
//! node, so racing code requests and verifies do not collide on the challenge's
//! compare-and-set (other nodes still can; the loser retries).

use tokio::sync::{Mutex, MutexGuard};

use crate::store::PhoneHash;

/// Locks shared by all phones; two phones may share one and then take turns.
const STRIPES: usize = 256;

/// A fixed set of locks, one chosen per phone.
#[derive(Debug)]
pub(crate) struct PhoneLocks {
    /// The stripes.
    stripes: Vec<Mutex<()>>,
}

impl PhoneLocks {
    /// All stripes, unlocked.
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Waits for the turn of `phone`.
    pub(crate) async fn lock(&self, phone: &PhoneHash) -> MutexGuard<'_, ()> {
        let stripe = usize::from(phone.0[0]) % self.stripes.len();
        self.stripes[stripe].lock().await
    }
}
