//! The last position each session observed for its person, and when: the
//! server-observed positions the co-location check at accept reads. Memory only,
//! never stored or logged; entries older than the sweep horizon are dropped.

use dashmap::DashMap;

use crate::domain::AccountId;
use crate::domain::connection::Observed;
use crate::geo::LatLng;

/// Last observed positions by account.
#[derive(Debug, Default)]
pub(crate) struct LastSeen {
    /// Position and time per account.
    positions: DashMap<AccountId, Observed>,
}

impl LastSeen {
    /// Records a position observed at `at_ms`.
    pub(crate) fn record(&self, account_id: AccountId, position: LatLng, at_ms: i64) {
        self.positions
            .insert(account_id, Observed { position, at_ms });
    }

    /// The account's last observed position.
    pub(crate) fn get(&self, account_id: AccountId) -> Option<Observed> {
        self.positions.get(&account_id).map(|observed| *observed)
    }

    /// Drops positions observed before `before_ms`.
    pub(crate) fn forget_older_than(&self, before_ms: i64) {
        self.positions
            .retain(|_, observed| observed.at_ms >= before_ms);
    }
}
