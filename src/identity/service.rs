//! The identity service: every sign-in rule in one place, on top of the store.

use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use super::ip_limits::{AddressKey, MAX_ADDRESSES};
use super::keys::{self, ServerKeys};
use super::phone_locks::PhoneLocks;
use super::sms::SmsSender;
use super::sms_budget::{SmsBudget, SmsRefusal};
use super::tokens;
use super::window_limiter::WindowLimiter;
use crate::clock::Clock;
use crate::config::IdentityConfig;
use crate::domain::phone::{PhoneError, PhoneNumber, PhoneRegions};
use crate::domain::{AccountId, Role};
use crate::oidc::PendingLink;
use crate::profiles::{ProfileError, Profiles};
use crate::store::{
    Account, CreateAccountOutcome, OtpChallenge, PhoneHash, RefreshConsumption, Store, StoreError,
    TokenFamily, TokenKind, TokenRecord,
};

/// Attempts at a compare-and-set before concurrent requests are reported.
const CAS_ATTEMPTS: usize = 4;
/// Length of the per-phone send history window.
const HOUR_MS: i64 = 3_600_000;
/// Phones whose wrong codes are remembered before new ones are refused for the hour.
const MAX_PHONES: usize = 100_000;

/// Which limit refused a sign-in step (label of `heyblue_sign_in_limited_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignInLimit {
    /// `identity.otp_max_per_ip_per_hour`.
    AddressRequests,
    /// `identity.otp_max_failures_per_ip_per_hour`.
    AddressFailures,
    /// `identity.otp_max_failures_per_phone_per_hour`.
    PhoneFailures,
}

impl SignInLimit {
    /// The metric label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AddressRequests => "address_requests",
            Self::AddressFailures => "address_failures",
            Self::PhoneFailures => "phone_failures",
        }
    }
}

/// A sign-in rule refused the request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    /// The phone number is not valid.
    #[error("invalid phone number: {0}")]
    InvalidPhone(PhoneError),
    /// Codes are not texted to the number's region.
    #[error("codes are not sent to this phone's region")]
    PhoneRegionNotAllowed,
    /// The node's hourly SMS budget, or that of the number's prefix, is spent.
    #[error("no more codes can be sent to this number for now, retry in {retry_after_seconds} s")]
    SmsBudgetExhausted {
        /// Seconds until a message can be sent.
        retry_after_seconds: u64,
    },
    /// The code is not six digits.
    #[error("code must be 6 digits")]
    MalformedCode,
    /// Too many requests; retry after this many seconds.
    #[error("too many requests, retry in {retry_after_seconds} s")]
    RateLimited {
        /// Seconds until a request can succeed.
        retry_after_seconds: u64,
    },
    /// No code is outstanding for the phone.
    #[error("no code is outstanding for this phone, request a new one")]
    NoCodeOutstanding,
    /// The code expired.
    #[error("the code has expired, request a new one")]
    CodeExpired,
    /// The code is wrong.
    #[error("the code is wrong")]
    WrongCode {
        /// Attempts left before the code is void.
        attempts_left: u32,
    },
    /// Too many wrong codes: the code is void.
    #[error("too many wrong codes, request a new one")]
    CodeAttemptsExhausted,
    /// The token is missing, unknown, expired or revoked.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A refresh token was used twice: its whole sign-in was revoked (and its
    /// open socket must close).
    #[error("refresh token reuse detected, the session was revoked")]
    RefreshTokenReused {
        /// Whose sign-in.
        account_id: AccountId,
        /// The revoked sign-in.
        sign_in: Uuid,
    },
    /// An administrator disabled the account: it may not sign in.
    #[error("this account is disabled")]
    AccountDisabled,
    /// No account has this id or phone (admin control).
    #[error("no such account")]
    AccountNotFound,
    /// The phone is not on the officer roster (admin control).
    #[error("this phone is not on the officer roster")]
    NotOnRoster,
    /// The SMS adapter could not deliver the code.
    #[error("the code could not be sent, try again later")]
    SmsUnavailable,
    /// The provider identity is linked to another account.
    #[error("this sign-in identity is linked to another account")]
    IdentityLinkedElsewhere,
    /// Concurrent requests for the same phone kept colliding.
    #[error("concurrent requests for this phone, try again")]
    Contended,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ProfileError> for IdentityError {
    fn from(error: ProfileError) -> Self {
        match error {
            ProfileError::Store(store) => Self::Store(store),
            ProfileError::NotFound | ProfileError::Contended => Self::Contended,
        }
    }
}

/// Tokens handed to a client after a sign-in or a refresh.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SignedIn {
    /// Bearer token for requests and sockets.
    pub(crate) access_token: String,
    /// Single-use token that trades for a new pair.
    pub(crate) refresh_token: String,
    /// Seconds until the access token expires.
    pub(crate) expires_in: u64,
    /// The signed-in account.
    pub(crate) account_id: AccountId,
    /// Its role.
    pub(crate) role: Role,
}

/// The caller behind a valid access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Authenticated {
    /// The account.
    pub(crate) account_id: AccountId,
    /// Its current role.
    pub(crate) role: Role,
    /// The sign-in the token belongs to (logout revokes it).
    pub(crate) family_id: Uuid,
    /// When the access token expires (Unix ms): a socket it opened closes then
    /// unless renewed with `reauth`.
    pub(crate) expires_at_ms: i64,
}

/// Sign-in, refresh, logout and authentication.
#[derive(Debug)]
pub(crate) struct IdentityService {
    /// Accounts, tokens, challenges, roster.
    pub(super) store: Arc<dyn Store>,
    /// Profile creation and role events.
    pub(super) profiles: Profiles,
    /// Phone hashing, sealing, code hashing.
    pub(super) keys: Arc<ServerKeys>,
    /// Delivers codes.
    sms: Box<dyn SmsSender>,
    /// Time source (pausable in tests).
    pub(super) clock: Clock,
    /// Lifetimes and limits.
    config: IdentityConfig,
    /// Region for national-format numbers.
    phone_regions: PhoneRegions,
    /// Code requests per client address.
    ip_limiter: WindowLimiter<AddressKey>,
    /// Wrong codes per client address, across phones.
    address_failures: WindowLimiter<AddressKey>,
    /// Wrong codes per phone, across its codes.
    phone_failures: WindowLimiter<PhoneHash>,
    /// Regions and budgets of outgoing texts.
    sms_budget: SmsBudget,
    /// Turns between sign-in steps of one phone on this node.
    phone_locks: PhoneLocks,
}

/// How this server reads phone numbers: numbers without a country code in
/// `identity.default_phone_region`, and only countries codes are texted to
/// (`identity.sms_allowed_regions`): an officer or citizen elsewhere could not
/// receive a code to sign in, so their numbers are refused when read.
pub(crate) fn phone_regions(config: &IdentityConfig) -> PhoneRegions {
    let default = config
        .default_phone_region
        .parse()
        .unwrap_or(phonenumber::country::Id::US);
    let served: Vec<phonenumber::country::Id> = config
        .sms_allowed_regions
        .iter()
        .filter_map(|region| region.parse().ok())
        .collect();
    PhoneRegions::new(default, &served)
}

impl IdentityService {
    /// A service over `store`; `config` was validated (its region parses).
    pub(crate) fn new(
        store: Arc<dyn Store>,
        keys: Arc<ServerKeys>,
        sms: Box<dyn SmsSender>,
        clock: Clock,
        config: IdentityConfig,
    ) -> Self {
        let phone_regions = phone_regions(&config);
        Self {
            profiles: Profiles::new(store.clone(), clock),
            ip_limiter: WindowLimiter::new(config.otp_max_per_ip_per_hour, MAX_ADDRESSES),
            address_failures: WindowLimiter::new(
                config.otp_max_failures_per_ip_per_hour,
                MAX_ADDRESSES,
            ),
            phone_failures: WindowLimiter::new(
                config.otp_max_failures_per_phone_per_hour,
                MAX_PHONES,
            ),
            sms_budget: SmsBudget::new(&config),
            phone_locks: PhoneLocks::new(),
            store,
            keys,
            sms,
            clock,
            config,
            phone_regions,
        }
    }

    /// The keys, for the roster import.
    pub(crate) fn keys(&self) -> &Arc<ServerKeys> {
        &self.keys
    }

    /// Parses a phone as this server reads them.
    pub(crate) fn parse_phone(&self, input: &str) -> Result<PhoneNumber, IdentityError> {
        PhoneNumber::parse(input, &self.phone_regions).map_err(|error| match error {
            PhoneError::NotServed => IdentityError::PhoneRegionNotAllowed,
            other => IdentityError::InvalidPhone(other),
        })
    }

    /// Sends a fresh code to `phone_input`, within the per-phone and per-IP limits.
    pub(crate) async fn request_code(
        &self,
        phone_input: &str,
        client: IpAddr,
    ) -> Result<(), IdentityError> {
        let phone = self.parse_phone(phone_input)?;
        if !self.sms_budget.region_allowed(&phone) {
            crate::metrics::sms_refused(SmsRefusal::Region);
            return Err(IdentityError::PhoneRegionNotAllowed);
        }
        let now_ms = self.clock.now_ms();
        self.ip_limiter
            .try_count(AddressKey::from(client), now_ms)
            .map_err(|retry_after_seconds| {
                limited(SignInLimit::AddressRequests, retry_after_seconds)
            })?;
        let phone_hash = self.keys.phone_hash(&phone);
        let code = tokens::generate_code();
        let _turn = self.phone_locks.lock(&phone_hash).await;
        let mut admitted = false;
        for _ in 0..CAS_ATTEMPTS {
            let stored = self.store.otp_challenge(&phone_hash).await?;
            let recent_sends_ms: Vec<i64> = stored
                .as_ref()
                .map(|challenge| challenge.recent_sends_ms.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|sent_ms| now_ms - sent_ms < HOUR_MS)
                .collect();
            self.check_send_limits(&recent_sends_ms, now_ms)?;
            if !admitted {
                self.admit_sms(&phone, now_ms)?;
                admitted = true;
            }
            let mut next_sends = recent_sends_ms;
            next_sends.push(now_ms);
            let expected_version = stored.as_ref().map(|challenge| challenge.version);
            let challenge = OtpChallenge {
                code_hash: Some(self.keys.code_hash(&phone_hash, &code)),
                expires_at_ms: now_ms + seconds_to_ms(self.config.otp_ttl_seconds),
                failed_attempts: 0,
                recent_sends_ms: next_sends,
                version: expected_version.map_or(1, |version| version + 1),
            };
            if self
                .store
                .put_otp_challenge(&phone_hash, &challenge, expected_version)
                .await?
            {
                return self.deliver(&phone, &code, now_ms).await;
            }
        }
        Err(IdentityError::Contended)
    }

    /// Counts one text against the SMS budgets, or refuses it.
    fn admit_sms(&self, phone: &PhoneNumber, now_ms: i64) -> Result<(), IdentityError> {
        self.sms_budget.admit(phone, now_ms).map_err(|refusal| {
            crate::metrics::sms_refused(refusal);
            match refusal {
                SmsRefusal::Region => IdentityError::PhoneRegionNotAllowed,
                SmsRefusal::GlobalBudget {
                    retry_after_seconds,
                }
                | SmsRefusal::PrefixBudget {
                    retry_after_seconds,
                } => IdentityError::SmsBudgetExhausted {
                    retry_after_seconds,
                },
            }
        })
    }

    fn check_send_limits(&self, recent_sends_ms: &[i64], now_ms: i64) -> Result<(), IdentityError> {
        let min_interval_ms = seconds_to_ms(self.config.otp_min_interval_seconds);
        if let Some(last_ms) = recent_sends_ms.iter().max()
            && now_ms - last_ms < min_interval_ms
        {
            return Err(rate_limited_ms(last_ms + min_interval_ms - now_ms));
        }
        let max_per_hour = self.config.otp_max_per_phone_per_hour as usize;
        if recent_sends_ms.len() >= max_per_hour {
            let mut sorted = recent_sends_ms.to_vec();
            sorted.sort_unstable();
            // The oldest send that must leave the window before another is allowed.
            let blocking_ms = sorted[sorted.len() - max_per_hour];
            return Err(rate_limited_ms(blocking_ms + HOUR_MS - now_ms));
        }
        Ok(())
    }

    async fn deliver(
        &self,
        phone: &PhoneNumber,
        code: &str,
        now_ms: i64,
    ) -> Result<(), IdentityError> {
        self.sms
            .send_code(phone, code, now_ms)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "one-time code not delivered");
                IdentityError::SmsUnavailable
            })
    }

    /// Checks a code and signs the phone in, creating the account on first use.
    ///
    /// Wrong codes count against the phone and the client address; once either
    /// budget is spent, verifies are refused without looking at the code.
    ///
    /// With `link` (a first sign-in with a provider, pending this phone), the
    /// provider identity is linked to the phone's account, and a new
    /// account's profile takes the provider's name.
    pub(crate) async fn verify_code(
        &self,
        phone_input: &str,
        code: &str,
        client: IpAddr,
        link: Option<&PendingLink>,
    ) -> Result<SignedIn, IdentityError> {
        let phone = self.parse_phone(phone_input)?;
        let phone_hash = self.keys.phone_hash(&phone);
        self.check_code(&phone_hash, code, client).await?;
        let prefill = link
            .and_then(|link| link.name.as_deref())
            .and_then(super::oidc_sign_in::prefilled_display_name);
        let account = self
            .account_for_sign_in(&phone, &phone_hash, prefill)
            .await?;
        // Checked only after the code: without it nobody learns the account's state.
        if account.disabled_at_ms.is_some() {
            return Err(IdentityError::AccountDisabled);
        }
        if let Some(link) = link {
            self.link_identity(account.id, link).await?;
        }
        self.issue_new_family(&account).await
    }

    /// Consumes the phone's outstanding code if `code` is it, under the
    /// per-address and per-phone limits on wrong codes.
    pub(super) async fn check_code(
        &self,
        phone_hash: &PhoneHash,
        code: &str,
        client: IpAddr,
    ) -> Result<(), IdentityError> {
        if !tokens::is_code_shaped(code) {
            return Err(IdentityError::MalformedCode);
        }
        let address = AddressKey::from(client);
        let _turn = self.phone_locks.lock(phone_hash).await;
        let now_ms = self.clock.now_ms();
        self.address_failures
            .check(address, now_ms)
            .map_err(|retry_after| limited(SignInLimit::AddressFailures, retry_after))?;
        self.phone_failures
            .check(*phone_hash, now_ms)
            .map_err(|retry_after| limited(SignInLimit::PhoneFailures, retry_after))?;
        let outcome = self.consume_code(phone_hash, code).await;
        if let Err(
            IdentityError::NoCodeOutstanding
            | IdentityError::CodeExpired
            | IdentityError::WrongCode { .. }
            | IdentityError::CodeAttemptsExhausted,
        ) = &outcome
        {
            // Counted even past a budget's end: the refusal above stops the next one.
            let _address_counted = self.address_failures.try_count(address, now_ms);
            let _phone_counted = self.phone_failures.try_count(*phone_hash, now_ms);
        }
        outcome
    }

    async fn consume_code(&self, phone_hash: &PhoneHash, code: &str) -> Result<(), IdentityError> {
        let offered = self.keys.code_hash(phone_hash, code);
        for _ in 0..CAS_ATTEMPTS {
            let now_ms = self.clock.now_ms();
            let Some(stored) = self.store.otp_challenge(phone_hash).await? else {
                return Err(IdentityError::NoCodeOutstanding);
            };
            let Some(expected) = stored.code_hash else {
                return Err(IdentityError::NoCodeOutstanding);
            };
            if now_ms >= stored.expires_at_ms {
                return Err(IdentityError::CodeExpired);
            }
            let correct = keys::hashes_equal(&expected, &offered);
            let failed_attempts = stored.failed_attempts + u32::from(!correct);
            let exhausted = failed_attempts >= self.config.otp_max_attempts;
            let next = OtpChallenge {
                code_hash: (!correct && !exhausted).then_some(expected),
                failed_attempts,
                version: stored.version + 1,
                ..stored.clone()
            };
            if !self
                .store
                .put_otp_challenge(phone_hash, &next, Some(stored.version))
                .await?
            {
                continue;
            }
            return match (correct, exhausted) {
                (true, _) => Ok(()),
                (false, true) => Err(IdentityError::CodeAttemptsExhausted),
                (false, false) => Err(IdentityError::WrongCode {
                    attempts_left: self.config.otp_max_attempts - failed_attempts,
                }),
            };
        }
        Err(IdentityError::Contended)
    }

    /// The account of a verified phone: created on first sign-in, and its role
    /// brought in line with the roster on every sign-in.
    async fn account_for_sign_in(
        &self,
        phone: &PhoneNumber,
        phone_hash: &PhoneHash,
        prefilled_name: Option<String>,
    ) -> Result<Account, IdentityError> {
        let previous_hash = self.keys.previous_phone_hash(phone);
        let roster_entry = match self.store.roster_entry(phone_hash).await? {
            Some(entry) => Some(entry),
            // A rotation of the master key has not moved it yet.
            None => match &previous_hash {
                Some(previous) => self.store.roster_entry(previous).await?,
                None => None,
            },
        };
        let roster_role = if roster_entry.is_some() {
            Role::Officer
        } else {
            Role::Citizen
        };
        let mut account = match self.store.account_by_phone(phone_hash).await? {
            Some(existing) => existing,
            None => match self
                .account_under_previous_key(phone, previous_hash)
                .await?
            {
                Some(moved) => moved,
                None => self.create_account(phone, phone_hash, roster_role).await?,
            },
        };
        // A profile already created keeps its name (creation is idempotent).
        let display_name = match (&roster_entry, prefilled_name) {
            (Some(entry), _) => entry.display_name.clone(),
            (None, Some(name)) => name,
            (None, None) => format!("Citizen {}", account.id.short_suffix()),
        };
        // Idempotent: a retry after a crash between account and profile completes it.
        let profile = self
            .profiles
            .create(account.id, display_name, account.role)
            .await?;
        if account.role != roster_role {
            self.store.set_account_role(account.id, roster_role).await?;
            account.role = roster_role;
        }
        if profile.role != roster_role {
            self.profiles.change_role(account.id, roster_role).await?;
        }
        Ok(account)
    }

    /// The account of `phone` under the previous master key while a rotation
    /// runs, moved to the current key on the way.
    async fn account_under_previous_key(
        &self,
        phone: &PhoneNumber,
        previous_hash: Option<PhoneHash>,
    ) -> Result<Option<Account>, IdentityError> {
        let Some(previous_hash) = previous_hash else {
            return Ok(None);
        };
        let Some(mut account) = self.store.account_by_phone(&previous_hash).await? else {
            return Ok(None);
        };
        let current_hash = self.keys.phone_hash(phone);
        let sealed = self.keys.seal_phone(phone);
        if self
            .store
            .rekey_account_phone(account.id, previous_hash, current_hash, sealed.clone())
            .await?
        {
            account.phone_hash = current_hash;
            account.phone_sealed = sealed;
        }
        Ok(Some(account))
    }

    /// A new account for a verified phone; the one that won a race for the
    /// phone if another sign-in created it first.
    async fn create_account(
        &self,
        phone: &PhoneNumber,
        phone_hash: &PhoneHash,
        role: Role,
    ) -> Result<Account, IdentityError> {
        let candidate = Account {
            id: AccountId::random(),
            phone_hash: *phone_hash,
            phone_sealed: self.keys.seal_phone(phone),
            role,
            created_at_ms: self.clock.now_ms(),
            disabled_at_ms: None,
        };
        Ok(match self.store.create_account(&candidate).await? {
            CreateAccountOutcome::Created => candidate,
            CreateAccountOutcome::PhoneTaken(existing) => existing,
        })
    }

    pub(super) async fn issue_new_family(
        &self,
        account: &Account,
    ) -> Result<SignedIn, IdentityError> {
        let family = TokenFamily {
            family_id: Uuid::new_v4(),
            account_id: account.id,
            created_at_ms: self.clock.now_ms(),
            revoked_at_ms: None,
        };
        let live_until_ms = family.created_at_ms + self.refresh_lifetime_ms();
        self.store
            .insert_token_family(&family, live_until_ms)
            .await?;
        self.issue_pair(account.id, account.role, family.family_id)
            .await
    }

    async fn issue_pair(
        &self,
        account_id: AccountId,
        role: Role,
        family_id: Uuid,
    ) -> Result<SignedIn, IdentityError> {
        let now_ms = self.clock.now_ms();
        let access_token = tokens::generate(TokenKind::Access);
        let refresh_token = tokens::generate(TokenKind::Refresh);
        let lifetimes = [
            (
                &access_token,
                TokenKind::Access,
                seconds_to_ms(self.config.access_token_ttl_seconds),
            ),
            (
                &refresh_token,
                TokenKind::Refresh,
                self.refresh_lifetime_ms(),
            ),
        ];
        for (token, kind, lifetime_ms) in lifetimes {
            self.store
                .insert_token(&TokenRecord {
                    token_hash: keys::token_hash(token),
                    kind,
                    family_id,
                    account_id,
                    issued_at_ms: now_ms,
                    expires_at_ms: now_ms + lifetime_ms,
                    consumed_at_ms: None,
                })
                .await?;
        }
        Ok(SignedIn {
            access_token,
            refresh_token,
            expires_in: self.config.access_token_ttl_seconds,
            account_id,
            role,
        })
    }

    /// Trades a refresh token for a new pair; a second use revokes the sign-in.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<SignedIn, IdentityError> {
        let hash = tokens::offered_token_hash(refresh_token).ok_or(IdentityError::InvalidToken)?;
        let now_ms = self.clock.now_ms();
        let record = match self.store.consume_refresh_token(&hash, now_ms).await? {
            RefreshConsumption::Consumed(record) => record,
            RefreshConsumption::AlreadyConsumed(record) => {
                self.store
                    .revoke_token_family(record.family_id, now_ms)
                    .await?;
                tracing::warn!(account_id = %record.account_id, "refresh token reuse, sign-in revoked");
                return Err(IdentityError::RefreshTokenReused {
                    account_id: record.account_id,
                    sign_in: record.family_id,
                });
            }
            RefreshConsumption::Unknown => return Err(IdentityError::InvalidToken),
        };
        if record.kind != TokenKind::Refresh || now_ms >= record.expires_at_ms {
            return Err(IdentityError::InvalidToken);
        }
        let family = self.ensure_family_active(record.family_id).await?;
        let account = self
            .store
            .account(record.account_id)
            .await?
            .ok_or(IdentityError::InvalidToken)?;
        if account.disabled_at_ms.is_some() {
            return Err(IdentityError::AccountDisabled);
        }
        // The family lives as long as its newest refresh token: kept longer
        // before the token is issued, so no token outlives its family.
        self.store
            .insert_token_family(&family, now_ms + self.refresh_lifetime_ms())
            .await?;
        self.issue_pair(account.id, account.role, record.family_id)
            .await
    }

    /// Revokes the sign-in the caller's token belongs to.
    pub(crate) async fn logout(&self, caller: &Authenticated) -> Result<(), IdentityError> {
        self.store
            .revoke_token_family(caller.family_id, self.clock.now_ms())
            .await?;
        Ok(())
    }

    /// Revokes every sign-in of the caller's account ("sign out everywhere").
    pub(crate) async fn logout_everywhere(
        &self,
        caller: &Authenticated,
    ) -> Result<u32, IdentityError> {
        self.revoke_sign_ins(caller.account_id).await
    }

    /// Revokes every sign-in of an account still active; returns how many.
    pub(crate) async fn revoke_sign_ins(
        &self,
        account_id: AccountId,
    ) -> Result<u32, IdentityError> {
        let now_ms = self.clock.now_ms();
        let mut revoked = 0;
        for family in self.store.token_families_of(account_id).await? {
            if family.revoked_at_ms.is_none() {
                self.store
                    .revoke_token_family(family.family_id, now_ms)
                    .await?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// The caller behind an access token.
    pub(crate) async fn authenticate(
        &self,
        access_token: &str,
    ) -> Result<Authenticated, IdentityError> {
        let hash = tokens::offered_token_hash(access_token).ok_or(IdentityError::InvalidToken)?;
        let grant = self
            .store
            .access_grant(&hash)
            .await?
            .ok_or(IdentityError::InvalidToken)?;
        let record = grant.token;
        if record.kind != TokenKind::Access || self.clock.now_ms() >= record.expires_at_ms {
            return Err(IdentityError::InvalidToken);
        }
        if !is_active(grant.family.as_ref()) {
            return Err(IdentityError::InvalidToken);
        }
        let account = grant
            .account
            .filter(|account| account.disabled_at_ms.is_none())
            .ok_or(IdentityError::InvalidToken)?;
        Ok(Authenticated {
            account_id: account.id,
            role: account.role,
            family_id: record.family_id,
            expires_at_ms: record.expires_at_ms,
        })
    }

    async fn ensure_family_active(&self, family_id: Uuid) -> Result<TokenFamily, IdentityError> {
        match self.store.token_family(family_id).await? {
            Some(family) if is_active(Some(&family)) => Ok(family),
            Some(_) | None => Err(IdentityError::InvalidToken),
        }
    }

    /// How long a refresh token (and so its family) lives.
    fn refresh_lifetime_ms(&self) -> i64 {
        seconds_to_ms(self.config.refresh_token_ttl_days.saturating_mul(86_400))
    }

    /// Profile commands, for the HTTP handlers.
    pub(crate) fn profiles(&self) -> &Profiles {
        &self.profiles
    }
}

fn seconds_to_ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// A refusal by `limit`, counted in the metrics.
fn limited(limit: SignInLimit, retry_after_seconds: u64) -> IdentityError {
    crate::metrics::sign_in_limited(limit);
    IdentityError::RateLimited {
        retry_after_seconds,
    }
}

fn rate_limited_ms(wait_ms: i64) -> IdentityError {
    IdentityError::RateLimited {
        retry_after_seconds: (wait_ms.max(1) as u64).div_ceil(1000),
    }
}

/// Whether a sign-in exists and is not revoked.
fn is_active(family: Option<&TokenFamily>) -> bool {
    family.is_some_and(|family| family.revoked_at_ms.is_none())
}
