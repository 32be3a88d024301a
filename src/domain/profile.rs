//! Profiles are a fold over profile events (the event log is the truth; the stored
//! profile is a view that can always be rebuilt). Also the validation rules of a
//! profile edit.

use serde::{Deserialize, Serialize};

use super::connection::RewardWithheld;
use super::shown_text::{self, LineBreaks};
use super::trophies::TrophyId;
use super::{AccountId, Role};

/// Longest display name, in characters.
pub(crate) const DISPLAY_NAME_MAX_CHARS: usize = 40;
/// Longest bio, in characters.
pub(crate) const BIO_MAX_CHARS: usize = 280;
/// Longest avatar URL, in bytes.
pub(crate) const AVATAR_URL_MAX_BYTES: usize = 2048;

/// What a person shows to others, derived from their profile events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profile {
    /// Whose profile this is.
    pub(crate) account_id: AccountId,
    /// Name shown to the other side of a connection.
    pub(crate) display_name: String,
    /// Free text the person wrote about themselves.
    pub(crate) bio: String,
    /// An https image URL, if the person set one.
    pub(crate) avatar_url: Option<String>,
    /// Whether established connections may be shared to social media.
    pub(crate) share_to_social: bool,
    /// Whether a social post may name this person (their display name);
    /// otherwise it says "an officer" or "a neighbour". Only read when
    /// `share_to_social` is on.
    #[serde(default)]
    pub(crate) share_name: bool,
    /// Role at the time of the latest role event.
    pub(crate) role: Role,
    /// When the profile was created (Unix ms).
    pub(crate) created_at_ms: i64,
    /// When the latest event was applied (Unix ms).
    pub(crate) updated_at_ms: i64,
    /// Sequence number of the latest event folded in (events are numbered from 1).
    pub(crate) version: u64,
}

/// One change to a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct ProfileEvent {
    /// Whose profile changed.
    pub(crate) account_id: AccountId,
    /// Position in the account's event log, from 1, without gaps.
    pub(crate) seq: u64,
    /// When it happened (Unix ms).
    pub(crate) at_ms: i64,
    /// What happened.
    pub(crate) kind: ProfileEventKind,
}

/// The kinds of profile event. New kinds are added at the end; stored events are
/// never rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ProfileEventKind {
    /// The account was created.
    ProfileCreated {
        /// Initial display name.
        display_name: String,
        /// Initial role.
        role: Role,
    },
    /// The person edited their profile; absent fields are unchanged.
    ProfileUpdated(ProfileChanges),
    /// The roster changed the account's role.
    RoleChanged {
        /// The new role.
        role: Role,
    },
    /// A connection this person took part in was established (once per
    /// connection: the connection id is the idempotency key).
    ConnectionEstablished {
        /// The connection record (the request id).
        connection_id: uuid::Uuid,
        /// The other person's role.
        peer_role: Role,
        /// Points credited to this person for it.
        points: i64,
        /// Why no points were credited, when none were.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        withheld: Option<RewardWithheld>,
    },
    /// A trophy was awarded (once per trophy and person).
    TrophyAwarded {
        /// Which trophy.
        trophy: TrophyId,
        /// The connection that earned it.
        connection_id: uuid::Uuid,
    },
    /// Points were redeemed for a voucher (once per voucher).
    VoucherIssued {
        /// The voucher (and redemption) id.
        voucher_id: uuid::Uuid,
        /// The offer or scheme.
        offer_id: uuid::Uuid,
        /// Points paid.
        points: u32,
    },
    /// A voucher was redeemed at its issuer's counter (once per voucher).
    VoucherRedeemed {
        /// The voucher.
        voucher_id: uuid::Uuid,
    },
    /// Points were donated to a charity (once per donation).
    DonationMade {
        /// The donation (and pledge) id.
        donation_id: uuid::Uuid,
        /// The charity.
        charity_id: uuid::Uuid,
        /// Points given.
        points: u32,
    },
    /// The person deleted their account: the view keeps no personal field, and
    /// the personal fields of every earlier event are erased in place (the one
    /// exception to "never rewritten", see [`ProfileEventKind::erased`]).
    AccountDeleted,
}

/// The display name of a deleted account, as the other side of a connection
/// sees it.
pub(crate) const DELETED_DISPLAY_NAME: &str = "a deleted user";

impl ProfileEventKind {
    /// This event with its personal fields (name, bio, avatar) erased, or
    /// `None` when it holds none. Erasing twice changes nothing.
    pub(crate) fn erased(&self) -> Option<ProfileEventKind> {
        match self {
            ProfileEventKind::ProfileCreated { display_name, role }
                if display_name != DELETED_DISPLAY_NAME =>
            {
                Some(ProfileEventKind::ProfileCreated {
                    display_name: DELETED_DISPLAY_NAME.to_owned(),
                    role: *role,
                })
            }
            ProfileEventKind::ProfileUpdated(changes) => {
                let erased = ProfileChanges {
                    display_name: changes
                        .display_name
                        .as_ref()
                        .map(|_| DELETED_DISPLAY_NAME.to_owned()),
                    bio: changes.bio.as_ref().map(|_| String::new()),
                    avatar_url: changes.avatar_url.as_ref().map(|_| None),
                    share_to_social: changes.share_to_social,
                    share_name: changes.share_name,
                };
                (erased != *changes).then_some(ProfileEventKind::ProfileUpdated(erased))
            }
            _ => None,
        }
    }
}

/// A validated profile edit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct ProfileChanges {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) display_name: Option<String>,
    /// New bio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) bio: Option<String>,
    /// New avatar: `Some(None)` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) avatar_url: Option<Option<String>>,
    /// New sharing choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) share_to_social: Option<bool>,
    /// New naming choice for social posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) share_name: Option<bool>,
}

/// A profile field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub(crate) struct ProfileFieldError {
    /// The field's wire name.
    pub(crate) field: &'static str,
    /// What is wrong.
    pub(crate) problem: &'static str,
}

impl ProfileChanges {
    /// Checks every present field; trims and NFC-normalises the display name
    /// (see [`shown_text`]).
    pub(crate) fn validated(mut self) -> Result<Self, ProfileFieldError> {
        if let Some(name) = &self.display_name {
            let length = name.trim().chars().count();
            if length == 0 || length > DISPLAY_NAME_MAX_CHARS {
                return Err(ProfileFieldError {
                    field: "display_name",
                    problem: "must be 1 to 40 characters",
                });
            }
            let normalized = shown_text::display_name(name).map_err(|error| ProfileFieldError {
                field: "display_name",
                problem: error.message(),
            })?;
            self.display_name = Some(normalized);
        }
        if let Some(bio) = &self.bio {
            if bio.chars().count() > BIO_MAX_CHARS {
                return Err(ProfileFieldError {
                    field: "bio",
                    problem: "must be at most 280 characters",
                });
            }
            shown_text::check(bio, LineBreaks::Newline).map_err(|error| ProfileFieldError {
                field: "bio",
                problem: error.message(),
            })?;
        }
        if let Some(Some(url)) = &self.avatar_url {
            validate_avatar_url(url)?;
        }
        Ok(self)
    }

    /// True when the edit would change nothing.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn validate_avatar_url(url: &str) -> Result<(), ProfileFieldError> {
    let problem = if url.len() > AVATAR_URL_MAX_BYTES {
        Some("must be at most 2048 bytes")
    } else if !url.starts_with("https://") {
        Some("must be an https URL")
    } else {
        let host = url["https://".len()..]
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        let well_formed = !host.is_empty()
            && !host.contains('@')
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        (!well_formed).then_some("must be an https URL with a host")
    };
    match problem {
        Some(problem) => Err(ProfileFieldError {
            field: "avatar_url",
            problem,
        }),
        None => Ok(()),
    }
}

/// Applies one event to the profile it follows (`None` before creation).
/// Events out of order or before creation are ignored, so the fold is total.
pub(crate) fn apply(profile: Option<Profile>, event: &ProfileEvent) -> Option<Profile> {
    match (&event.kind, profile) {
        (ProfileEventKind::ProfileCreated { display_name, role }, None) => Some(Profile {
            account_id: event.account_id,
            display_name: display_name.clone(),
            bio: String::new(),
            avatar_url: None,
            share_to_social: false,
            share_name: false,
            role: *role,
            created_at_ms: event.at_ms,
            updated_at_ms: event.at_ms,
            version: event.seq,
        }),
        (ProfileEventKind::ProfileCreated { .. }, Some(existing)) => Some(existing),
        (_, None) => None,
        (ProfileEventKind::ProfileUpdated(changes), Some(mut profile)) => {
            if let Some(name) = &changes.display_name {
                profile.display_name = name.clone();
            }
            if let Some(bio) = &changes.bio {
                profile.bio = bio.clone();
            }
            if let Some(avatar) = &changes.avatar_url {
                profile.avatar_url = avatar.clone();
            }
            if let Some(share) = changes.share_to_social {
                profile.share_to_social = share;
            }
            if let Some(share_name) = changes.share_name {
                profile.share_name = share_name;
            }
            Some(stamped(profile, event))
        }
        (ProfileEventKind::RoleChanged { role }, Some(mut profile)) => {
            profile.role = *role;
            Some(stamped(profile, event))
        }
        (ProfileEventKind::AccountDeleted, Some(profile)) => Some(stamped(
            Profile {
                display_name: DELETED_DISPLAY_NAME.to_owned(),
                bio: String::new(),
                avatar_url: None,
                share_to_social: false,
                share_name: false,
                ..profile
            },
            event,
        )),
        (
            ProfileEventKind::ConnectionEstablished { .. }
            | ProfileEventKind::TrophyAwarded { .. }
            | ProfileEventKind::VoucherIssued { .. }
            | ProfileEventKind::VoucherRedeemed { .. }
            | ProfileEventKind::DonationMade { .. },
            Some(profile),
        ) => Some(stamped(profile, event)),
    }
}

fn stamped(mut profile: Profile, event: &ProfileEvent) -> Profile {
    profile.updated_at_ms = event.at_ms;
    profile.version = event.seq;
    profile
}

/// Rebuilds a profile from its whole event log, oldest first.
pub(crate) fn fold<'a>(events: impl IntoIterator<Item = &'a ProfileEvent>) -> Option<Profile> {
    events.into_iter().fold(None, apply)
}

#[cfg(test)]
mod tests;
