//! Contract cases of the report aggregates of officers' availability,
//! vouchers and pledges: each stretch, voucher and completed donation
//! counted once however often it is written, availability minutes split at
//! UTC hours, voucher and pledge cells kept per partner, and a rebuild that
//! gives the same cells back.

use std::sync::Arc;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::AccountId;
use crate::domain::catalog::OfferKind;
use crate::domain::voucher::{Voucher, VoucherStatus};
use crate::reports::check::{assert_reports_match_records, stored_cells};
use crate::store::report_area::ReportArea;
use crate::store::report_records::{
    AreaLevel, CellKey, Grain, ReportMetric, ReportRole, month_start,
};
use crate::store::{AvailabilityRecord, Donation, DonationStatus, Store, VoucherTransition};

/// 2027-01-15 13:50 UTC.
const AT_MS: i64 = 1_800_021_000_000;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

fn voucher(issuer_id: Uuid) -> Voucher {
    Voucher {
        voucher_id: Uuid::new_v4(),
        account_id: AccountId::random(),
        offer_id: Uuid::new_v4(),
        kind: OfferKind::Offer,
        issuer_id,
        title: "Free coffee".to_owned(),
        points: 50,
        issued_at_ms: AT_MS,
        expires_at_ms: AT_MS + DAY_MS,
        status: VoucherStatus::Issued,
        status_changed_at_ms: None,
        stock_taken: false,
        limit_slot: None,
    }
}

fn donation(charity_id: Uuid) -> Donation {
    Donation {
        account_id: AccountId::random(),
        idempotency_key: "give".to_owned(),
        donation_id: Uuid::new_v4(),
        charity_id,
        points: 40,
        dollars_per_point: Decimal::new(1, 2),
        requested_at_ms: AT_MS,
        attempt: 0,
        attempt_started_at_ms: AT_MS,
        status: DonationStatus::Started,
        refusal: None,
    }
}

fn cell(
    metric: ReportMetric,
    level: AreaLevel,
    area: &str,
    hour: u8,
    role: ReportRole,
    partner: Option<Uuid>,
) -> CellKey {
    CellKey {
        metric,
        grain: Grain::Hour,
        level,
        day: AT_MS.div_euclid(DAY_MS),
        hour,
        area: ReportArea::parse(area).expect("an area"),
        role,
        partner,
    }
}

/// Writes a 30-minute stretch across 14:00 and a 5-minute one elsewhere,
/// three vouchers of two retailers (one redeemed, one cancelled), and a
/// completed and a refused donation, every write twice; returns the
/// retailers and the charity.
async fn write_sample(store: &Arc<dyn Store>) -> (Uuid, Uuid, Uuid) {
    let stretches = [
        AvailabilityRecord {
            window_id: Uuid::new_v4(),
            started_at_ms: AT_MS,
            ended_at_ms: AT_MS + 30 * MINUTE_MS,
            zip: Some("10036".to_owned()),
        },
        AvailabilityRecord {
            window_id: Uuid::new_v4(),
            started_at_ms: AT_MS + 20 * MINUTE_MS,
            ended_at_ms: AT_MS + 25 * MINUTE_MS,
            zip: None,
        },
    ];
    for stretch in &stretches {
        store.record_availability(stretch).await.expect("record");
        store
            .record_availability(stretch)
            .await
            .expect("record again");
    }
    let (cafe, bakery) = (Uuid::new_v4(), Uuid::new_v4());
    let vouchers = [voucher(cafe), voucher(cafe), voucher(bakery)];
    for issued in &vouchers {
        store.insert_voucher(issued).await.expect("insert");
        store.insert_voucher(issued).await.expect("insert again");
    }
    let redeemed_at_ms = AT_MS + 40 * MINUTE_MS;
    for _ in 0..2 {
        store
            .transition_voucher(
                vouchers[0].voucher_id,
                VoucherStatus::Issued,
                VoucherStatus::Redeemed,
                redeemed_at_ms,
            )
            .await
            .expect("redeem");
    }
    let cancelled = store
        .transition_voucher(
            vouchers[2].voucher_id,
            VoucherStatus::Issued,
            VoucherStatus::Cancelled,
            redeemed_at_ms,
        )
        .await
        .expect("cancel");
    assert!(matches!(cancelled, VoucherTransition::Applied(_)));
    let food_bank = Uuid::new_v4();
    let given = donation(food_bank);
    let refused = donation(food_bank);
    for started in [&given, &refused] {
        store.insert_donation(started).await.expect("insert");
    }
    let completed = Donation {
        status: DonationStatus::Completed,
        ..given.clone()
    };
    assert!(
        store
            .update_donation(&completed, 0)
            .await
            .expect("complete")
    );
    assert!(
        !store
            .update_donation(&completed, 0)
            .await
            .expect("complete again"),
        "a finished donation is not updated again"
    );
    let refusal = Donation {
        status: DonationStatus::Refused,
        ..refused.clone()
    };
    assert!(store.update_donation(&refusal, 0).await.expect("refuse"));
    (cafe, bakery, food_bank)
}

pub(crate) async fn availability_vouchers_and_pledges_count_once(store: Arc<dyn Store>) {
    let (cafe, bakery, food_bank) = write_sample(&store).await;
    let day = AT_MS.div_euclid(DAY_MS);
    let cells = stored_cells(store.as_ref(), day, day).await;
    let value = |key: CellKey| cells.get(&key).copied();
    use AreaLevel::{Nation, Zip, Zip3};
    use ReportMetric::{AvailabilityMinutes, Pledges, VouchersIssued, VouchersRedeemed};
    use ReportRole::{All, Citizen, Officer};
    assert_eq!(
        value(cell(AvailabilityMinutes, Zip, "10036", 13, Officer, None)),
        Some(10)
    );
    assert_eq!(
        value(cell(AvailabilityMinutes, Zip, "10036", 14, Officer, None)),
        Some(20)
    );
    assert_eq!(
        value(cell(AvailabilityMinutes, Zip3, "100", 14, All, None)),
        Some(20)
    );
    assert_eq!(
        value(cell(AvailabilityMinutes, Nation, "", 14, All, None)),
        Some(25),
        "the stretch without a ZIP counts nationally"
    );
    assert_eq!(
        value(cell(AvailabilityMinutes, Nation, "", 14, Citizen, None)),
        None
    );
    let nation = |metric, partner| value(cell(metric, Nation, "", 13, All, Some(partner)));
    assert_eq!(nation(VouchersIssued, cafe), Some(2));
    assert_eq!(nation(VouchersIssued, bakery), Some(1));
    assert_eq!(
        value(cell(VouchersRedeemed, Nation, "", 14, All, Some(cafe))),
        Some(1)
    );
    assert_eq!(
        value(cell(VouchersRedeemed, Nation, "", 14, All, Some(bakery))),
        None,
        "a cancelled voucher was issued, not redeemed"
    );
    assert_eq!(
        nation(Pledges, food_bank),
        Some(1),
        "the refused one pledged nothing"
    );
    assert_reports_match_records(store.as_ref(), day).await;
}

pub(crate) async fn a_rebuild_gives_the_partner_cells_back(store: Arc<dyn Store>) {
    write_sample(&store).await;
    let day = AT_MS.div_euclid(DAY_MS);
    let before = stored_cells(store.as_ref(), day - 1, day + 1).await;
    store
        .clear_report_cells(month_start(day), day)
        .await
        .expect("clear");
    assert!(
        stored_cells(store.as_ref(), day - 1, day + 1)
            .await
            .is_empty()
    );
    let summary = crate::reports::rebuild(store.as_ref(), Some(day), day)
        .await
        .expect("rebuild");
    assert_eq!(summary.availability, 2);
    assert_eq!(summary.vouchers, 3);
    assert_eq!(summary.donations, 2);
    assert_eq!(stored_cells(store.as_ref(), day - 1, day + 1).await, before);
    assert_reports_match_records(store.as_ref(), day).await;
}
