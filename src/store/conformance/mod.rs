//! The storage contract as tests: one suite every backend runs. Each contract
//! case is an `async fn(Arc<dyn Store>)` in an area file; the
//! [`store_conformance_tests!`] macro turns the whole list into one
//! `#[tokio::test]` per case for a backend, so a failure names the backend and
//! the case (`store::embedded::tests::conformance::consuming_a_refresh_token_succeeds_once`).
//!
//! A backend instantiates the suite in its tests with a function that returns a
//! fresh, empty store, or `None` when the backend cannot run here (a Scylla
//! backend without a CQL node), which skips each case with a message:
//!
//! ```ignore
//! async fn fresh_store() -> Option<Fixture> { ... }
//! store_conformance_tests!(conformance, fresh_store);
//! ```

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod catalog;
pub(crate) mod connections;
pub(crate) mod deletion;
pub(crate) mod devices;
pub(crate) mod donating;
pub(crate) mod imports;
pub(crate) mod issuer_keys;
pub(crate) mod key_rotation;
pub(crate) mod lifecycle;
pub(crate) mod oidc_identities;
pub(crate) mod otp;
pub(crate) mod outbox;
pub(crate) mod partner_reports;
pub(crate) mod profiles;
pub(crate) mod redeeming;
pub(crate) mod redemptions;
pub(crate) mod reports;
pub(crate) mod roster;
mod samples;
pub(crate) mod tokens;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::Store;

/// Concurrent callers racing for one conditional write in the concurrency cases.
const CONCURRENT_CALLERS: usize = 100;

/// A fresh, empty store for one contract case, and whatever it needs to live.
pub(crate) struct Fixture {
    /// The store under test.
    store: Arc<dyn Store>,
    /// Resources the store needs until the case ends (a temporary directory, a
    /// keyspace); dropped after the store, since fields drop in order.
    _resources: Box<dyn Send>,
}

impl Fixture {
    /// A fixture for `store`, keeping `resources` alive as long as it.
    pub(crate) fn new(store: Arc<dyn Store>, resources: impl Send + 'static) -> Self {
        Self {
            store,
            _resources: Box::new(resources),
        }
    }
}

/// Runs one contract case against a fresh store from `fresh_store`.
pub(crate) async fn run_case<FreshStore, Case>(
    case_name: &str,
    fresh_store: impl FnOnce() -> FreshStore,
    case: impl FnOnce(Arc<dyn Store>) -> Case,
) where
    FreshStore: Future<Output = Option<Fixture>>,
    Case: Future<Output = ()>,
{
    let Some(fixture) = fresh_store().await else {
        eprintln!("SKIPPED store contract case {case_name}: backend not available here");
        return;
    };
    case(Arc::clone(&fixture.store)).await;
}

/// Starts `CONCURRENT_CALLERS` tasks that each make the call `attempt` builds
/// for their index, released together, and returns every `(index, result)`.
async fn race<T, Attempt, Call>(store: &Arc<dyn Store>, attempt: Attempt) -> Vec<(usize, T)>
where
    T: Send + 'static,
    Attempt: Fn(Arc<dyn Store>, usize) -> Call,
    Call: Future<Output = T> + Send + 'static,
{
    let start_together = Arc::new(Barrier::new(CONCURRENT_CALLERS));
    let mut callers = JoinSet::new();
    for index in 0..CONCURRENT_CALLERS {
        let call = attempt(Arc::clone(store), index);
        let start_together = Arc::clone(&start_together);
        callers.spawn(async move {
            start_together.wait().await;
            (index, call.await)
        });
    }
    let mut results = Vec::with_capacity(CONCURRENT_CALLERS);
    while let Some(joined) = callers.join_next().await {
        results.push(joined.expect("caller task completes"));
    }
    results
}

/// Generates `mod $suite` with one `#[tokio::test]` per contract case, each on a
/// fresh store from `$fresh_store` (an `async fn() -> Option<Fixture>`).
macro_rules! store_conformance_tests {
    ($suite:ident, $fresh_store:expr) => {
        $crate::store::conformance::store_conformance_tests!(@cases $suite, $fresh_store;
            accounts::create_account_writes_once_per_phone,
            accounts::concurrent_creates_for_one_phone_create_exactly_one,
            accounts::accounts_are_found_by_id_and_by_phone,
            accounts::set_account_role_changes_existing_accounts_only,
            accounts::accounts_are_disabled_and_enabled,
            deletion::deletions_under_way_are_listed_until_finished,
            deletion::erasing_a_phone_frees_it_and_forgets_its_code,
            deletion::a_profile_event_is_rewritten_in_place,
            tokens::token_families_are_stored_and_listed_per_account,
            tokens::revoking_a_family_is_idempotent_and_keeps_the_first_time,
            tokens::tokens_are_found_by_hash_even_when_expired,
            tokens::purging_expired_tokens_keeps_live_ones,
            tokens::consuming_a_refresh_token_succeeds_once,
            tokens::consuming_an_unknown_or_access_token_finds_nothing,
            tokens::concurrent_consumption_of_one_refresh_token_succeeds_once,
            tokens::an_access_grant_reads_the_token_its_family_and_account,
            otp::a_first_challenge_is_written_only_when_none_is_stored,
            otp::a_challenge_write_needs_the_stored_version,
            otp::concurrent_writes_from_one_version_apply_exactly_once,
            roster::roster_entries_are_upserted_by_phone,
            key_rotation::scans_list_every_account_and_roster_entry_once,
            key_rotation::a_phone_moves_to_its_new_key_only_from_its_old_one,
            roster::roster_entries_are_removed_by_phone,
            audit::audit_entries_page_newest_first_across_days,
            imports::import_runs_are_kept_and_paged_newest_first,
            imports::staged_import_chunks_live_until_dropped,
            imports::import_refs_are_kept_per_kind,
            profiles::appending_an_event_is_conditional_on_its_seq,
            profiles::profile_events_page_newest_first,
            profiles::concurrent_appends_at_one_seq_append_exactly_once,
            profiles::put_profile_keeps_the_newest_version,
            connections::inserting_a_connection_is_conditional_on_its_id,
            connections::concurrent_inserts_of_one_connection_insert_exactly_once,
            connections::connections_page_newest_first_per_person,
            connections::reward_facts_count_rewarded_connections_only,
            connections::records_are_incomplete_until_completed,
            connections::ledger_appends_are_idempotent_and_balances_derived,
            connections::ledger_pages_newest_first,
            connections::concurrent_duplicate_appends_append_exactly_once,
            connections::trophies_are_awarded_once,
            connections::trophy_marks_are_a_set_per_person,
            catalog::catalog_entities_are_put_read_and_replaced,
            catalog::catalog_lists_page_through_every_entity_once,
            catalog::creating_an_offer_is_conditional_on_its_absence,
            catalog::offers_are_written_in_batches_each_conditionally,
            catalog::replacing_an_offer_needs_the_version_and_stock_it_read,
            catalog::offers_in_area_list_one_prefix_and_kind_by_end_of_validity,
            catalog::area_listings_continue_after_a_position,
            catalog::replacing_an_offer_moves_its_area_rows,
            catalog::concurrent_replacements_from_one_version_apply_exactly_once,
            redemptions::redemptions_are_written_once_and_updated_by_their_runner,
            redemptions::stock_moves_apply_once_per_op_and_never_below_zero,
            redemptions::a_replacement_from_a_moved_stock_is_refused,
            redemptions::concurrent_takes_of_the_last_unit_take_it_once,
            redemptions::concurrent_claims_hold_at_most_the_limit_of_slots,
            redemptions::vouchers_are_written_once_and_listed_newest_first,
            redemptions::concurrent_status_changes_of_one_voucher_apply_once,
            redemptions::pending_releases_are_noted_listed_and_cleared,
            redeeming::concurrent_redemptions_of_the_last_unit_issue_one_voucher,
            redeeming::concurrent_redemptions_by_one_person_stop_at_the_balance,
            redeeming::concurrent_redemptions_never_exceed_the_per_person_limit,
            redeeming::concurrent_cancels_of_one_voucher_refund_once,
            redeeming::a_cancel_racing_the_expiry_sweep_refunds_once,
            redeeming::only_issued_vouchers_past_their_expiry_are_due,
            redeeming::a_key_answers_the_same_and_is_not_reused,
            donating::donations_are_written_once_and_updated_by_their_runner,
            donating::pledges_are_listed_per_month_and_charity,
            donating::settling_a_statement_twice_keeps_the_first_settlement,
            donating::concurrent_donations_under_one_key_pledge_and_debit_once,
            donating::concurrent_donations_by_one_person_stop_at_the_balance,
            redeeming::concurrent_redeems_of_one_voucher_at_the_counter_succeed_once,
            issuer_keys::issuer_keys_are_found_listed_and_revoked_once,
            reports::report_facts_count_once_at_every_level,
            reports::scans_list_every_record_once,
            reports::a_rebuild_gives_the_same_cells_back,
            partner_reports::availability_vouchers_and_pledges_count_once,
            partner_reports::a_rebuild_gives_the_partner_cells_back,
            lifecycle::ping_answers_until_close,
            outbox::a_connection_writes_its_delivery_once,
            outbox::concurrent_claims_of_one_delivery_take_it_once,
            outbox::deliveries_in_flight_hide_none_of_the_due_ones,
            outbox::an_expired_lease_is_taken_over_and_its_holder_cannot_settle,
            outbox::failures_retry_when_scheduled_and_dead_letters_replay,
            outbox::an_award_writes_its_trophy_delivery_once,
            outbox::a_completed_donation_writes_its_delivery_once,
            outbox::endpoints_are_put_and_listed,
            devices::devices_are_kept_per_account_and_removed,
            oidc_identities::an_identity_reaches_one_account_and_is_freed_by_removal,
            oidc_identities::concurrent_links_of_one_identity_link_exactly_one,
        );
    };
    (@cases $suite:ident, $fresh_store:expr; $($area:ident::$case:ident),+ $(,)?) => {
        mod $suite {
            // The factory expression may name items of the calling module.
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::store::conformance::run_case(
                        stringify!($case),
                        $fresh_store,
                        $crate::store::conformance::$area::$case,
                    )
                    .await;
                }
            )+
        }
    };
}

pub(crate) use store_conformance_tests;
