//! The body actually sent for a delivery: the recorded body, plus the post
//! text (`"post"`) when the people in the fact consent to sharing it
//! ([`consent`](super::consent)), or a cancellation when they do not.
//!
//! The recorded body names nobody; names, the place and the quote are looked
//! up when each attempt is made, so a withdrawn consent holds from the next
//! attempt on. A connection is posted only if both people consent; each is
//! named only if they agreed to be named, otherwise "an officer" / "a
//! neighbour". The place is at most the city of the 3-digit ZIP.
//!
//! A push notification is not a post: no consent rule, no template; its
//! body gets the person's registered devices, read at each attempt.

use std::sync::Arc;

use uuid::Uuid;

use super::consent::{Consent, consent};
use super::file::SocialSettings;
use super::templates::PostContext;
use crate::domain::connection::utc_day;
use crate::domain::trophies::TrophyId;
use crate::domain::{AccountId, Role};
use crate::outbox::message::{EventType, OutboxMessage};
use crate::store::{DonationStatus, Store, StoreResult};

/// What to do with a delivery's next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Composed {
    /// Send this body.
    Send(String),
    /// Send nothing, ever: the post is not allowed (why, for admins).
    Cancel(&'static str),
    /// Send nothing yet: the fact is not final (a donation still being
    /// made); try again on the retry schedule.
    Wait(&'static str),
}

/// Writes posts from the store's facts and profiles.
#[derive(Debug, Clone)]
pub(crate) struct Composer {
    /// Where facts and profiles are read.
    store: Arc<dyn Store>,
    /// Templates and place names.
    settings: Arc<SocialSettings>,
    /// Whether a push has expired.
    clock: crate::clock::Clock,
}

impl Composer {
    /// A composer reading `store`, writing with `settings`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        settings: Arc<SocialSettings>,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            store,
            settings,
            clock,
        }
    }

    /// The body for `message`'s next attempt, or its cancellation.
    pub(crate) async fn compose(&self, message: &OutboxMessage) -> StoreResult<Composed> {
        let Ok(serde_json::Value::Object(mut body)) =
            serde_json::from_str::<serde_json::Value>(&message.body)
        else {
            return Ok(Composed::Cancel("recorded body is not a json object"));
        };
        let context = match message.event_type {
            EventType::ConnectionCompleted => self.connection_context(message).await?,
            EventType::TrophyAwarded => self.trophy_context(message, &body).await?,
            EventType::DonationMade => self.donation_context(message, &body).await?,
            EventType::PushNotification => return self.push(message, body).await,
        };
        let context = match context {
            Ok(context) => context,
            Err(Unposted::Cancel(reason)) => return Ok(Composed::Cancel(reason)),
            Err(Unposted::Wait(reason)) => return Ok(Composed::Wait(reason)),
        };
        let post = match self.settings.templates.render(message.event_type, &context) {
            Ok(post) => post,
            Err(error) => {
                tracing::warn!(message_id = %message.message_id, %error, "social post template failed");
                return Ok(Composed::Cancel("post template failed"));
            }
        };
        body.insert("post".to_owned(), serde_json::Value::String(post));
        Ok(match serde_json::to_string(&body) {
            Ok(text) => Composed::Send(text),
            Err(_unserialisable) => Composed::Cancel("body cannot be encoded"),
        })
    }

    /// A push: the recorded body with the account's devices, read now (so
    /// a device removed at logout is not sent to); cancelled when it has
    /// none or the push expired.
    async fn push(
        &self,
        message: &OutboxMessage,
        mut body: serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<Composed> {
        let Some(account_id) = account_of(&message.fact_key) else {
            return Ok(Composed::Cancel("fact key names no person"));
        };
        let expired = body
            .get("expires_at_ms")
            .and_then(serde_json::Value::as_i64)
            .is_some_and(|expires_at_ms| expires_at_ms <= self.now_ms());
        if expired {
            return Ok(Composed::Cancel("push expired"));
        }
        let devices: Vec<serde_json::Value> = self
            .store
            .devices_of(account_id)
            .await?
            .into_iter()
            .map(|device| {
                serde_json::json!({ "platform": device.platform.as_str(), "token": device.token })
            })
            .collect();
        if devices.is_empty() {
            return Ok(Composed::Cancel("no devices registered"));
        }
        body.insert("devices".to_owned(), serde_json::Value::Array(devices));
        Ok(match serde_json::to_string(&body) {
            Ok(text) => Composed::Send(text),
            Err(_unserialisable) => Composed::Cancel("body cannot be encoded"),
        })
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    async fn connection_context(
        &self,
        message: &OutboxMessage,
    ) -> StoreResult<Result<PostContext, Unposted>> {
        let Ok(connection_id) = message.fact_key.parse::<Uuid>() else {
            return Ok(Err(Unposted::Cancel("fact key is not a connection id")));
        };
        let Some(record) = self.store.connection(connection_id).await? else {
            return Ok(Err(Unposted::Cancel("connection not found")));
        };
        let at_ms = record.established_at_ms;
        let citizen = consent(&*self.store, record.citizen.account_id, at_ms).await?;
        let officer = consent(&*self.store, record.officer.account_id, at_ms).await?;
        let (citizen, officer) = match (citizen, officer) {
            (Consent::Shared { name: citizen, .. }, Consent::Shared { name: officer, .. }) => {
                (citizen, officer)
            }
            (Consent::Refused(reason), _) | (_, Consent::Refused(reason)) => {
                return Ok(Err(Unposted::Cancel(reason)));
            }
        };
        let place = record
            .zip
            .as_deref()
            .and_then(|zip| zip.get(..3))
            .and_then(|zip3| self.settings.places.get(zip3))
            .cloned();
        Ok(Ok(PostContext {
            day: day_text(utc_day(at_ms)),
            citizen: Some(citizen.unwrap_or_else(|| role_noun(Role::Citizen).to_owned())),
            officer: Some(officer.unwrap_or_else(|| role_noun(Role::Officer).to_owned())),
            quote: Some(crate::domain::quotes::quote_for(connection_id).to_owned()),
            place,
            ..PostContext::default()
        }))
    }

    async fn trophy_context(
        &self,
        message: &OutboxMessage,
        body: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<Result<PostContext, Unposted>> {
        let Some(account_id) = account_of(&message.fact_key) else {
            return Ok(Err(Unposted::Cancel("fact key names no person")));
        };
        let Some(trophy) = body
            .get("trophy")
            .and_then(|trophy| serde_json::from_value::<TrophyId>(trophy.clone()).ok())
        else {
            return Ok(Err(Unposted::Cancel("body names no trophy")));
        };
        let person = match person(&*self.store, account_id, message.created_at_ms).await? {
            Ok(person) => person,
            Err(reason) => return Ok(Err(Unposted::Cancel(reason))),
        };
        Ok(Ok(PostContext {
            day: day_text(utc_day(message.created_at_ms)),
            person: Some(person),
            trophy: Some(trophy.title().to_owned()),
            ..PostContext::default()
        }))
    }

    async fn donation_context(
        &self,
        message: &OutboxMessage,
        body: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<Result<PostContext, Unposted>> {
        let Some((account, idempotency_key)) = message.fact_key.split_once('/') else {
            return Ok(Err(Unposted::Cancel("fact key names no donation")));
        };
        let Ok(account_id) = account.parse::<Uuid>().map(AccountId) else {
            return Ok(Err(Unposted::Cancel("fact key names no person")));
        };
        match self.store.donation(account_id, idempotency_key).await? {
            Some(donation) => match donation.status {
                DonationStatus::Completed => {}
                DonationStatus::Started => {
                    return Ok(Err(Unposted::Wait("donation not completed yet")));
                }
                DonationStatus::Refused => {
                    return Ok(Err(Unposted::Cancel("donation refused")));
                }
            },
            None => return Ok(Err(Unposted::Cancel("donation not found"))),
        }
        let points = body
            .get("points")
            .and_then(serde_json::Value::as_u64)
            .and_then(|points| u32::try_from(points).ok());
        let charity_id = body
            .get("charity_id")
            .and_then(serde_json::Value::as_str)
            .and_then(|id| id.parse::<Uuid>().ok());
        let (Some(points), Some(charity_id)) = (points, charity_id) else {
            return Ok(Err(Unposted::Cancel("body names no gift")));
        };
        let Some(charity) = self.store.charity(charity_id).await? else {
            return Ok(Err(Unposted::Cancel("charity not found")));
        };
        let person = match person(&*self.store, account_id, message.created_at_ms).await? {
            Ok(person) => person,
            Err(reason) => return Ok(Err(Unposted::Cancel(reason))),
        };
        Ok(Ok(PostContext {
            day: day_text(utc_day(message.created_at_ms)),
            person: Some(person),
            points: Some(points),
            charity: Some(charity.name),
            ..PostContext::default()
        }))
    }
}

/// Why a context could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unposted {
    /// Never to be posted.
    Cancel(&'static str),
    /// Not yet.
    Wait(&'static str),
}

/// How a person is called in a post about their own fact.
async fn person(
    store: &dyn Store,
    account_id: AccountId,
    at_ms: i64,
) -> StoreResult<Result<String, &'static str>> {
    Ok(match consent(store, account_id, at_ms).await? {
        Consent::Shared { name, role } => Ok(name.unwrap_or_else(|| role_noun(role).to_owned())),
        Consent::Refused(reason) => Err(reason),
    })
}

/// The person in a fact keyed `{account}/...`.
fn account_of(fact_key: &str) -> Option<AccountId> {
    let account = fact_key.split('/').next()?;
    account.parse::<Uuid>().ok().map(AccountId)
}

/// An unnamed person, by role.
pub(crate) fn role_noun(role: Role) -> &'static str {
    match role {
        Role::Citizen => "a neighbour",
        Role::Officer => "an officer",
    }
}

/// `YYYY-MM-DD` of a UTC day (days since the Unix epoch).
fn day_text(day: i64) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::try_days(day)?))
        .map_or_else(
            || day.to_string(),
            |date| date.format("%Y-%m-%d").to_string(),
        )
}
