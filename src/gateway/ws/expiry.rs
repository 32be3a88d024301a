//! When a socket's access token runs out. A socket lives on the token it was
//! opened with: `EXPIRY_NOTICE_MS` before the token expires the client is sent
//! `token_expiring`, and at expiry the socket closes with 4012, unless a `reauth`
//! with a fresh access token of the same account and sign-in moved the expiry.

use tokio::time::{Duration, Instant};

use crate::identity::Authenticated;

/// How long before expiry the client is told (refreshing takes one request).
pub(crate) const EXPIRY_NOTICE_MS: i64 = 60_000;

/// Why a `reauth` token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReauthRefusal {
    /// The token belongs to another account or another sign-in.
    OtherSignIn,
    /// The token expires no later than the current one.
    NotFresher,
}

/// What the token's next deadline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenEvent {
    /// Tell the client: the token expires at this time (Unix ms).
    Expiring(i64),
    /// The token expired: close the socket.
    Expired,
}

/// The token a socket currently lives on.
#[derive(Debug, Clone)]
pub(crate) struct TokenExpiry {
    /// Who the socket belongs to, and its current token's expiry.
    caller: Authenticated,
    /// Whether `token_expiring` was sent for the current expiry.
    noticed: bool,
}

impl TokenExpiry {
    /// The expiry of the token that opened the socket.
    pub(crate) fn new(caller: Authenticated) -> Self {
        Self {
            caller,
            noticed: false,
        }
    }

    /// When the token expires (Unix ms).
    #[cfg(test)]
    fn expires_at_ms(&self) -> i64 {
        self.caller.expires_at_ms
    }

    /// When the next [`TokenEvent`] is due, seen at wall-clock `now_ms`: the
    /// notice until it was sent, then the expiry.
    pub(crate) fn next_deadline(&self, now_ms: i64) -> Instant {
        let due_ms = if self.noticed {
            self.caller.expires_at_ms
        } else {
            self.caller.expires_at_ms - EXPIRY_NOTICE_MS
        };
        instant_at(now_ms, due_ms)
    }

    /// The deadline came: the notice (once per expiry), then the expiry.
    pub(crate) fn on_deadline(&mut self) -> TokenEvent {
        if self.noticed {
            return TokenEvent::Expired;
        }
        self.noticed = true;
        TokenEvent::Expiring(self.caller.expires_at_ms)
    }

    /// Moves the expiry to `renewed`'s, if it is a later token of the same
    /// account and sign-in; returns the new expiry.
    pub(crate) fn renew(&mut self, renewed: &Authenticated) -> Result<i64, ReauthRefusal> {
        if renewed.account_id != self.caller.account_id
            || renewed.family_id != self.caller.family_id
        {
            return Err(ReauthRefusal::OtherSignIn);
        }
        if renewed.expires_at_ms <= self.caller.expires_at_ms {
            return Err(ReauthRefusal::NotFresher);
        }
        self.caller.expires_at_ms = renewed.expires_at_ms;
        self.noticed = false;
        Ok(renewed.expires_at_ms)
    }
}

/// The tokio instant of wall-clock `target_ms`, seen at `now_ms` (now, if past).
fn instant_at(now_ms: i64, target_ms: i64) -> Instant {
    let ahead_ms = u64::try_from(target_ms.saturating_sub(now_ms)).unwrap_or(0);
    Instant::now() + Duration::from_millis(ahead_ms)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::{AccountId, Role};

    fn caller(expires_at_ms: i64) -> Authenticated {
        Authenticated {
            account_id: AccountId(Uuid::from_u128(1)),
            role: Role::Citizen,
            family_id: Uuid::from_u128(2),
            expires_at_ms,
        }
    }

    #[test]
    fn only_a_later_token_of_the_same_sign_in_renews() {
        let mut expiry = TokenExpiry::new(caller(10_000));
        assert_eq!(expiry.on_deadline(), TokenEvent::Expiring(10_000));
        assert_eq!(expiry.on_deadline(), TokenEvent::Expired);
        let other_account = Authenticated {
            account_id: AccountId(Uuid::from_u128(3)),
            ..caller(20_000)
        };
        let other_sign_in = Authenticated {
            family_id: Uuid::from_u128(4),
            ..caller(20_000)
        };
        assert_eq!(
            expiry.renew(&other_account),
            Err(ReauthRefusal::OtherSignIn)
        );
        assert_eq!(
            expiry.renew(&other_sign_in),
            Err(ReauthRefusal::OtherSignIn)
        );
        assert_eq!(
            expiry.renew(&caller(10_000)),
            Err(ReauthRefusal::NotFresher)
        );
        assert_eq!(expiry.renew(&caller(20_000)), Ok(20_000));
        assert_eq!(expiry.expires_at_ms(), 20_000);
        assert_eq!(
            expiry.on_deadline(),
            TokenEvent::Expiring(20_000),
            "the next expiry is noticed again"
        );
    }
}
