//! Random sequences of credits, redemptions (fresh and reused
//! `Idempotency-Key`s, offers with limited stock and per-person limits),
//! cancels, expiry sweeps, redeems at the counter, donations, injected store
//! failures and recovery passes, on the embedded store under the failing
//! wrapper.
//!
//! After every step, whatever failed:
//! - each person's balance is the sum of their ledger entries, and not negative;
//! - the balance is at most credits − points of held vouchers (`issued` or
//!   `redeemed`) − points of completed donations: a step interrupted mid-way
//!   may have taken points it has not yet given back, never the reverse;
//! - each limited offer's `remaining` is at most its quantity, and remaining +
//!   held vouchers is at most the quantity (a unit may be taken and not yet
//!   returned, never returned twice);
//! - no person holds more vouchers of one limit window than the limit;
//! - a voucher only leaves `issued`, and never returns to it;
//! - a voucher answers `Redeemed` at the counter at most once, only when it
//!   was `issued` just before, and stays `redeemed`;
//! - a key answers the same voucher or refusal on every replay, and a store
//!   error surfaces only from a step the armed failure tripped in;
//! - the report aggregates (points redeemed, donated, refunded) equal a
//!   recomputation from the records.
//!
//! After a recovery pass that succeeds on both services (and at the end, once
//! disarmed), the inequalities above are equalities, and nothing is left
//! started or pending release.
//!
//! Every service reads one clock (tokio's, paused), so recovery with a grace
//! of 0 sees every interrupted step as due; an expiry step advances it past
//! the vouchers' lifetime.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use proptest::prelude::*;
use rust_decimal::Decimal;
use tempfile::TempDir;
use uuid::Uuid;

use super::{
    CounterVerdict, DonateRequest, DonationAnswer, DonationError, Donations, RedeemRequest,
    RedemptionAnswer, Redemptions, VoucherError,
};
use crate::clock::Clock;
use crate::connections::failing_store::{FailMode, FailPoint, FailingStore};
use crate::domain::AccountId;
use crate::domain::catalog::{
    Area, CatalogStatus, Charity, LimitPeriod, OfferKind, PerPersonLimit, Retailer, RewardOffer,
};
use crate::domain::donation::DonationRefusal;
use crate::domain::voucher::{LimitWindow, RedemptionRefusal, VoucherStatus};
use crate::reports::check::assert_reports_match_records;
use crate::store::embedded::EmbeddedStore;
use crate::store::{
    DonationStatus, IssuerKey, LedgerReason, NewLedgerEntry, SecretHash, Store, StoreError,
};

/// 2026-01-01T00:00:00Z.
const START_MS: i64 = 1_767_225_600_000;
/// Lifetime of every voucher; an expiry step moves time past it.
const LIFETIME_SECONDS: u32 = 3_600;
/// People in a scenario.
const PEOPLE: usize = 3;
/// Keys each person draws from, so some are reused.
const KEYS: usize = 6;
/// An offer's units, per-person limit (count, period) and point cost.
type OfferShape = (Option<u32>, Option<(u32, LimitPeriod)>, u32);
/// The offers.
const OFFERS: [OfferShape; 4] = [
    (Some(4), None, 20),
    (Some(3), Some((1, LimitPeriod::Day)), 30),
    (None, Some((2, LimitPeriod::Ever)), 10),
    (Some(5), Some((2, LimitPeriod::Month)), 25),
];
/// Writes a failure can be armed at.
const FAIL_POINTS: [FailPoint; 6] = [
    FailPoint::AppendLedgerEntry,
    FailPoint::UpdateRedemption,
    FailPoint::MoveOfferStock,
    FailPoint::InsertVoucher,
    FailPoint::TransitionVoucher,
    FailPoint::UpdateDonation,
];

/// One step of a scenario.
#[derive(Debug, Clone)]
enum Step {
    /// An admin adjustment credits `points` to `person`.
    Credit { person: usize, points: i64 },
    /// `person` redeems offer `offer` under their key `key`.
    Redeem {
        person: usize,
        offer: usize,
        key: usize,
    },
    /// The holder of an issued voucher (by index, modulo how many) cancels it.
    Cancel { voucher: usize },
    /// Time moves past every voucher's lifetime, then the sweep (or a whole
    /// recovery pass) runs.
    Expire { whole_pass: bool },
    /// A till redeems a voucher, with its issuer's key or another's.
    Counter { voucher: usize, own_issuer: bool },
    /// `person` donates `points` under their key `key`.
    Donate {
        person: usize,
        key: usize,
        points: u32,
    },
    /// The next call at a write point fails, after `skip` pass.
    Fail {
        point: usize,
        after: bool,
        skip: usize,
    },
    /// Both recovery passes run.
    Recover,
}

/// A random step, weighted towards redemptions and failures.
fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (0..PEOPLE, 1..80_i64).prop_map(|(person, points)| Step::Credit { person, points }),
        6 => (0..PEOPLE, 0..OFFERS.len(), 0..KEYS)
            .prop_map(|(person, offer, key)| Step::Redeem { person, offer, key }),
        2 => any::<usize>().prop_map(|voucher| Step::Cancel { voucher }),
        1 => any::<bool>().prop_map(|whole_pass| Step::Expire { whole_pass }),
        2 => (any::<usize>(), prop::bool::weighted(0.8))
            .prop_map(|(voucher, own_issuer)| Step::Counter { voucher, own_issuer }),
        2 => (0..PEOPLE, 0..KEYS, 1..40_u32)
            .prop_map(|(person, key, points)| Step::Donate { person, key, points }),
        3 => (0..FAIL_POINTS.len(), any::<bool>(), 0..3_usize)
            .prop_map(|(point, after, skip)| Step::Fail { point, after, skip }),
        2 => Just(Step::Recover),
    ]
}

/// What a redemption key answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redeemed {
    /// This voucher.
    Issued(Uuid),
    /// This refusal.
    Refused(RedemptionRefusal),
}

/// What a donation key answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Donated {
    /// This donation.
    Pledged(Uuid),
    /// This refusal.
    Refused(DonationRefusal),
}

/// A scenario's store, catalog, people and what they were answered.
struct World {
    /// The wrapper every service writes through.
    failing: Arc<FailingStore>,
    /// The same wrapper, as a store.
    store: Arc<dyn Store>,
    /// The offers, as [`OFFERS`] describes them.
    offers: Vec<RewardOffer>,
    /// A key of each offer's issuer.
    keys: Vec<IssuerKey>,
    /// The charity donations go to.
    charity: Charity,
    /// The people.
    people: Vec<AccountId>,
    /// The clock every service reads (tokio's, paused); expiry steps
    /// advance it. One clock, so no service sees another's writes as made in
    /// its future.
    clock: Clock,
    /// The offer each used (person, key) was first sent with.
    redeem_keys: HashMap<(usize, usize), usize>,
    /// The first answer each (person, key) got.
    redeem_answers: HashMap<(usize, usize), Redeemed>,
    /// Every voucher answered: id, holder's index, offer's index.
    vouchers: Vec<(Uuid, usize, usize)>,
    /// The points each used donation key was first sent with.
    donate_keys: HashMap<(usize, usize), u32>,
    /// The first answer each donation key got.
    donate_answers: HashMap<(usize, usize), Donated>,
    /// Vouchers a till was told it redeemed.
    counter_redeemed: HashSet<Uuid>,
    /// The last status seen of each voucher.
    last_status: HashMap<Uuid, VoucherStatus>,
    /// Where the store lives, removed when the scenario ends.
    _data_dir: TempDir,
}

/// A fresh store with two shops, the [`OFFERS`], a charity and [`PEOPLE`].
async fn world() -> World {
    let data_dir = TempDir::new().expect("temporary directory");
    let embedded: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));
    let failing = Arc::new(FailingStore::new(embedded));
    let store: Arc<dyn Store> = failing.clone();
    let shops = [
        shop(&store, "Corner Shop").await,
        shop(&store, "Bakery").await,
    ];
    let mut offers = Vec::new();
    let mut keys = Vec::new();
    for (index, (units, limit, cost)) in OFFERS.into_iter().enumerate() {
        let issuer_id = shops[index % shops.len()];
        let offer = offer(issuer_id, units, limit, cost);
        assert!(store.put_offer(&offer, None).await.expect("offer"));
        offers.push(offer);
        keys.push(IssuerKey {
            key_id: Uuid::new_v4(),
            kind: OfferKind::Offer,
            issuer_id,
            label: "Till 1".to_owned(),
            secret_hash: SecretHash(rand::random()),
            created_at_ms: START_MS,
            revoked_at_ms: None,
        });
    }
    let charity = Charity {
        id: Uuid::new_v4(),
        name: "Food Bank".to_owned(),
        ein: "12-3456789".to_owned(),
        description: "Meals.".to_owned(),
        status: CatalogStatus::Active,
        created_at_ms: START_MS,
        updated_at_ms: START_MS,
    };
    store.put_charity(&charity).await.expect("charity");
    World {
        failing,
        store,
        offers,
        keys,
        charity,
        people: (0..PEOPLE).map(|_| AccountId::random()).collect(),
        clock: Clock::starting_at(START_MS + 60_000),
        redeem_keys: HashMap::new(),
        redeem_answers: HashMap::new(),
        vouchers: Vec::new(),
        donate_keys: HashMap::new(),
        donate_answers: HashMap::new(),
        counter_redeemed: HashSet::new(),
        last_status: HashMap::new(),
        _data_dir: data_dir,
    }
}

/// Stores an active retailer named `name`; returns its id.
async fn shop(store: &Arc<dyn Store>, name: &str) -> Uuid {
    let retailer = Retailer {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        address: "1 Main Street".to_owned(),
        zip: "10001".to_owned(),
        contact: "shop@example.com".to_owned(),
        status: CatalogStatus::Active,
        created_at_ms: START_MS,
        updated_at_ms: START_MS,
    };
    store.put_retailer(&retailer).await.expect("retailer");
    retailer.id
}

/// An active offer of `issuer_id` in prefix 100, valid for a year.
fn offer(
    issuer_id: Uuid,
    units: Option<u32>,
    limit: Option<(u32, LimitPeriod)>,
    point_cost: u32,
) -> RewardOffer {
    RewardOffer {
        id: Uuid::new_v4(),
        kind: OfferKind::Offer,
        issuer_id,
        title: "Free coffee".to_owned(),
        description: "One small coffee.".to_owned(),
        point_cost,
        area: Area::from_stored(vec!["100".to_owned()]),
        valid_from_ms: START_MS,
        valid_until_ms: START_MS + 365 * 86_400_000,
        total_quantity: units,
        remaining: units,
        per_person_limit: limit.map(|(count, per)| PerPersonLimit { count, per }),
        voucher_lifetime_seconds: LIFETIME_SECONDS,
        status: CatalogStatus::Active,
        created_at_ms: START_MS,
        updated_at_ms: START_MS,
        version: 1,
    }
}

/// Whether a store error is the injected one.
fn injected(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable(cause) if cause.starts_with("injected failure"))
}

impl World {
    /// The redemption service, on the world's clock.
    fn redemptions(&self) -> Redemptions {
        Redemptions::new(Arc::clone(&self.store), self.clock)
    }

    /// The donation service, on the world's clock.
    fn donations(&self) -> Donations {
        Donations::new(Arc::clone(&self.store), self.clock, Decimal::new(1, 2))
    }

    /// Runs `step`, and checks that a store error surfaced only if the armed
    /// failure fired in it.
    async fn take(&mut self, step: &Step) {
        let armed_before = self.failing.is_armed();
        let failed = match *step {
            Step::Credit { person, points } => self.credit(person, points).await,
            Step::Redeem { person, offer, key } => self.redeem(person, offer, key).await,
            Step::Cancel { voucher } => self.cancel(voucher).await,
            Step::Expire { whole_pass } => {
                let lifetime = std::time::Duration::from_secs(u64::from(LIFETIME_SECONDS));
                tokio::time::advance(lifetime + std::time::Duration::from_secs(60)).await;
                let redemptions = self.redemptions();
                let swept = if whole_pass {
                    redemptions.recover(0).await.map(|_| ())
                } else {
                    redemptions.expire_due().await.map(|_| ())
                };
                store_failure_of_voucher(swept)
            }
            Step::Counter {
                voucher,
                own_issuer,
            } => self.counter(voucher, own_issuer).await,
            Step::Donate {
                person,
                key,
                points,
            } => self.donate(person, key, points).await,
            Step::Fail { point, after, skip } => {
                let mode = if after {
                    FailMode::After
                } else {
                    FailMode::Before
                };
                self.failing.fail(FAIL_POINTS[point], mode, skip);
                false
            }
            Step::Recover => {
                if self.recover().await {
                    self.check_books(true).await;
                    return;
                }
                true
            }
        };
        let tripped = armed_before && !self.failing.is_armed();
        assert!(
            !failed || tripped,
            "{step:?}: a store error though no failure fired"
        );
    }

    /// Both recovery passes; true if both finished.
    async fn recover(&self) -> bool {
        let redemptions = self.redemptions().recover(0).await;
        let donations = self.donations().recover(0).await;
        match (redemptions, donations) {
            (Ok(_), Ok(_)) => true,
            (redemptions, donations) => {
                for error in [
                    redemptions.err().map(|error| error.to_string()),
                    donations.err().map(|error| error.to_string()),
                ]
                .into_iter()
                .flatten()
                {
                    assert!(error.contains("injected failure"), "recovery: {error}");
                }
                false
            }
        }
    }

    /// An admin adjustment; true if it failed.
    async fn credit(&self, person: usize, points: i64) -> bool {
        let credited = self
            .store
            .append_ledger_entry(&NewLedgerEntry {
                entry_id: Uuid::new_v4(),
                account_id: self.people[person],
                at_ms: self.clock.now_ms(),
                delta: points,
                reason: LedgerReason::Adjustment,
                reference: None,
            })
            .await;
        match credited {
            Ok(_) => false,
            Err(error) => {
                assert!(injected(&error), "credit: {error}");
                true
            }
        }
    }

    /// A redemption, checked against the key's earlier answer; true if it
    /// failed in the store.
    async fn redeem(&mut self, person: usize, offer: usize, key: usize) -> bool {
        let first_offer = *self.redeem_keys.entry((person, key)).or_insert(offer);
        let request = RedeemRequest {
            offer_id: self.offers[offer].id,
            zip: "10001".to_owned(),
        };
        let answer = self
            .redemptions()
            .redeem(self.people[person], &format!("key-{key}"), &request)
            .await;
        if first_offer != offer {
            assert!(
                matches!(answer, Err(VoucherError::IdempotencyKeyReused)),
                "a key reused for another offer: {answer:?}"
            );
            return false;
        }
        let redeemed = match answer {
            Ok(RedemptionAnswer::Issued(voucher)) => {
                assert_eq!(voucher.account_id, self.people[person]);
                assert_eq!(voucher.offer_id, self.offers[offer].id);
                assert_eq!(voucher.points, self.offers[offer].point_cost);
                Redeemed::Issued(voucher.voucher_id)
            }
            Ok(RedemptionAnswer::Refused(refusal)) => Redeemed::Refused(refusal),
            Err(VoucherError::InProgress) => return false,
            Err(VoucherError::Store(error)) => {
                assert!(injected(&error), "redeem: {error}");
                return true;
            }
            Err(error) => panic!("redeem: {error}"),
        };
        let first = *self.redeem_answers.entry((person, key)).or_insert(redeemed);
        assert_eq!(first, redeemed, "a replay answers the same");
        if let Redeemed::Issued(voucher_id) = redeemed
            && !self.vouchers.iter().any(|(known, ..)| *known == voucher_id)
        {
            self.vouchers.push((voucher_id, person, offer));
        }
        false
    }

    /// The holder cancels a voucher; true if it failed in the store.
    async fn cancel(&self, voucher: usize) -> bool {
        if self.vouchers.is_empty() {
            return false;
        }
        let (voucher_id, person, _) = self.vouchers[voucher % self.vouchers.len()];
        let before = self.stored_voucher(voucher_id).await;
        let cancelled = self
            .redemptions()
            .cancel(self.people[person], voucher_id)
            .await;
        match cancelled {
            Ok(cancelled) => {
                assert_eq!(cancelled.status, VoucherStatus::Cancelled);
                assert!(
                    matches!(
                        before.status,
                        VoucherStatus::Issued | VoucherStatus::Cancelled
                    ),
                    "cancelled from {:?}",
                    before.status
                );
                false
            }
            Err(VoucherError::NotCancellable) => {
                let usable = before.status == VoucherStatus::Issued
                    && self.clock.now_ms() < before.expires_at_ms;
                assert!(!usable, "an issued, unexpired voucher is cancellable");
                false
            }
            Err(VoucherError::Store(error)) => {
                assert!(injected(&error), "cancel: {error}");
                true
            }
            Err(error) => panic!("cancel: {error}"),
        }
    }

    /// A till redeems a voucher; true if it failed in the store.
    async fn counter(&mut self, voucher: usize, own_issuer: bool) -> bool {
        if self.vouchers.is_empty() {
            return false;
        }
        let (voucher_id, _, offer) = self.vouchers[voucher % self.vouchers.len()];
        let key = if own_issuer {
            self.keys[offer].clone()
        } else {
            IssuerKey {
                issuer_id: Uuid::new_v4(),
                ..self.keys[offer].clone()
            }
        };
        let before = self.stored_voucher(voucher_id).await;
        let answer = match self.redemptions().redeem_at_counter(&key, voucher_id).await {
            Ok(answer) => answer,
            Err(VoucherError::Store(error)) => {
                assert!(injected(&error), "counter: {error}");
                return true;
            }
            Err(error) => panic!("counter: {error}"),
        };
        if !own_issuer {
            assert_eq!(answer.verdict, CounterVerdict::NotYours);
            return false;
        }
        match answer.verdict {
            CounterVerdict::Redeemed => {
                assert_eq!(before.status, VoucherStatus::Issued, "redeemed once");
                assert!(
                    self.counter_redeemed.insert(voucher_id),
                    "a voucher answered redeemed twice"
                );
            }
            CounterVerdict::AlreadyRedeemed => {
                assert_eq!(before.status, VoucherStatus::Redeemed);
            }
            CounterVerdict::Cancelled | CounterVerdict::Expired => {}
            CounterVerdict::Valid | CounterVerdict::NotYours => {
                panic!("the issuer's redeem answered {:?}", answer.verdict)
            }
        }
        false
    }

    /// A donation, checked against the key's earlier answer; true if it
    /// failed in the store.
    async fn donate(&mut self, person: usize, key: usize, points: u32) -> bool {
        let first_points = *self.donate_keys.entry((person, key)).or_insert(points);
        let request = DonateRequest {
            charity_id: self.charity.id,
            points,
        };
        let answer = self
            .donations()
            .donate(self.people[person], &format!("gift-{key}"), request)
            .await;
        if first_points != points {
            assert!(
                matches!(answer, Err(DonationError::IdempotencyKeyReused)),
                "a key reused for another amount: {answer:?}"
            );
            return false;
        }
        let donated = match answer {
            Ok(DonationAnswer::Pledged(donation)) => {
                assert_eq!(donation.points, points);
                Donated::Pledged(donation.donation_id)
            }
            Ok(DonationAnswer::Refused(refusal)) => Donated::Refused(refusal),
            Err(DonationError::InProgress) => return false,
            Err(DonationError::Store(error)) => {
                assert!(injected(&error), "donate: {error}");
                return true;
            }
            Err(error) => panic!("donate: {error}"),
        };
        let first = *self.donate_answers.entry((person, key)).or_insert(donated);
        assert_eq!(first, donated, "a replay answers the same");
        false
    }

    /// The stored voucher (reads are never failed).
    async fn stored_voucher(&self, voucher_id: Uuid) -> crate::domain::voucher::Voucher {
        self.store
            .voucher(voucher_id)
            .await
            .expect("read")
            .expect("an answered voucher is stored")
    }

    /// Checks the books; `settled` after a finished recovery, when every
    /// bound is met exactly.
    async fn check_books(&mut self, settled: bool) {
        let mut held_per_offer = vec![0_u32; self.offers.len()];
        let mut held_per_window: HashMap<(usize, usize, LimitWindow), u32> = HashMap::new();
        for (person, account_id) in self.people.iter().enumerate() {
            let balance = self.store.balance(*account_id).await.expect("balance");
            let ledger = self
                .store
                .ledger_page(*account_id, None, usize::MAX)
                .await
                .expect("ledger");
            let sum: i64 = ledger.iter().map(|entry| entry.delta).sum();
            assert_eq!(balance, sum, "balance = Σ ledger");
            assert!(balance >= 0, "balance {balance}");
            let credits: i64 = ledger
                .iter()
                .filter(|entry| entry.reason == LedgerReason::Adjustment)
                .map(|entry| entry.delta)
                .sum();

            let vouchers = self
                .store
                .vouchers_of(*account_id, None, 10_000)
                .await
                .expect("vouchers");
            let mut spent = 0_i64;
            for voucher in &vouchers {
                let previous = self.last_status.insert(voucher.voucher_id, voucher.status);
                assert!(
                    previous
                        .is_none_or(|previous| previous == voucher.status
                            || previous == VoucherStatus::Issued),
                    "{previous:?} → {:?}",
                    voucher.status
                );
                if !matches!(
                    voucher.status,
                    VoucherStatus::Issued | VoucherStatus::Redeemed
                ) {
                    continue;
                }
                spent += i64::from(voucher.points);
                let offer = self
                    .offers
                    .iter()
                    .position(|offer| offer.id == voucher.offer_id)
                    .expect("a known offer");
                held_per_offer[offer] += 1;
                if self.offers[offer].per_person_limit.is_some() {
                    let slot = voucher
                        .limit_slot
                        .expect("a limited offer's voucher holds a slot");
                    *held_per_window
                        .entry((person, offer, slot.window))
                        .or_default() += 1;
                }
            }
            let mut donated = 0_i64;
            for ((donor, key), _) in self.donate_keys.iter() {
                if *donor != person {
                    continue;
                }
                let donation = self
                    .store
                    .donation(*account_id, &format!("gift-{key}"))
                    .await
                    .expect("donation")
                    .expect("stored");
                if donation.status == DonationStatus::Completed {
                    donated += i64::from(donation.points);
                }
            }
            let expected = credits - spent - donated;
            assert!(balance <= expected, "balance {balance} > {expected}");
            if settled {
                assert_eq!(balance, expected, "after recovery");
            }
        }
        for (offer, held) in self.offers.iter().zip(&held_per_offer) {
            let stored = self
                .store
                .offer(offer.id)
                .await
                .expect("read")
                .expect("offer");
            let Some(total) = offer.total_quantity else {
                assert_eq!(stored.remaining, None);
                continue;
            };
            let remaining = stored.remaining.expect("limited");
            assert!(remaining <= total, "remaining {remaining} of {total}");
            assert!(remaining + held <= total, "{remaining} + {held} > {total}");
            if settled {
                assert_eq!(remaining + held, total, "after recovery");
            }
        }
        for ((_, offer, window), held) in held_per_window {
            let limit = self.offers[offer].per_person_limit.expect("limited");
            assert!(held <= limit.count, "{held} in {window:?}");
        }
        for voucher_id in &self.counter_redeemed {
            assert_eq!(
                self.last_status.get(voucher_id),
                Some(&VoucherStatus::Redeemed)
            );
        }
        if settled {
            let store = &self.store;
            assert!(
                store
                    .started_redemptions(self.clock.now_ms(), 10)
                    .await
                    .expect("read")
                    .is_empty()
            );
            assert!(
                store
                    .started_donations(self.clock.now_ms(), 10)
                    .await
                    .expect("read")
                    .is_empty()
            );
            assert!(
                store
                    .pending_releases(self.clock.now_ms(), 10)
                    .await
                    .expect("read")
                    .is_empty()
            );
        }
    }
}

/// Whether `result` is an (injected) store failure; any other error fails.
fn store_failure_of_voucher(result: Result<(), VoucherError>) -> bool {
    match result {
        Ok(()) => false,
        Err(VoucherError::Store(error)) => {
            assert!(injected(&error), "{error}");
            true
        }
        Err(error) => panic!("{error}"),
    }
}

/// Credits everyone, runs `steps` checking the books after each, then
/// recovers without failures and checks that the books are settled.
async fn run(steps: Vec<Step>) {
    let mut world = world().await;
    for person in 0..PEOPLE {
        world.credit(person, 60).await;
    }
    for step in &steps {
        world.take(step).await;
        world.check_books(false).await;
        let today = crate::domain::connection::utc_day(world.clock.now_ms());
        assert_reports_match_records(world.store.as_ref(), today).await;
    }
    world.failing.disarm();
    assert!(
        world.recover().await,
        "a recovery without failures finishes"
    );
    world.check_books(true).await;
    let today = crate::domain::connection::utc_day(world.clock.now_ms());
    assert_reports_match_records(world.store.as_ref(), today).await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_books_balance_under_random_redemptions_and_failures(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(run(steps));
    }
}
