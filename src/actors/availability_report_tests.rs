//! Officers' availability windows as reports count them: a window that
//! expires, or is renewed and then ended, becomes one stretch of the minutes
//! it was open, in the ZIP of the officer's coarse cell, for officers.

use std::time::Duration;

use super::tests::{TIMES_SQUARE, available_officer, config, node};
use crate::proto::{AvailabilityEndReason, ClientMessage, ServerMessage};
use crate::store::Store;
use crate::store::report_records::{AreaLevel, CellSelection, Grain, ReportMetric, ReportRole};

/// The officers' availability minutes kept per ZIP over the days around now.
async fn minutes_by_zip(store: &dyn Store, now_ms: i64) -> Vec<(String, i64)> {
    let today = now_ms.div_euclid(86_400_000);
    let mut found: Vec<(String, i64)> = store
        .report_cells(CellSelection {
            metric: ReportMetric::AvailabilityMinutes,
            grain: Grain::Hour,
            level: AreaLevel::Zip,
            role: ReportRole::Officer,
            from_day: today - 1,
            to_day: today,
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|cell| cell.key.role == ReportRole::Officer)
        .map(|cell| (cell.key.area.to_string(), cell.value))
        .collect();
    found.sort();
    found
}

/// The ZIP reports give a position: that of the coarse cell records keep.
fn zip_of(position: (f64, f64)) -> String {
    let point = crate::geo::LatLng::new(position.0, position.1).unwrap();
    crate::geo::record_zip(crate::geo::record_cell(point)).unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_expired_window_counts_its_minutes_in_the_officers_zip() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, TIMES_SQUARE).await;
    assert!(matches!(
        officer.next_message().await,
        ServerMessage::Availability { .. }
    ));
    tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    assert_eq!(
        officer.next_message().await,
        ServerMessage::AvailabilityEnded {
            reason: AvailabilityEndReason::Expired
        }
    );
    let services = node.runtime.services();
    services.availability.finish(Duration::from_secs(5)).await;
    let now_ms = services.clock.now_ms();
    let minutes = minutes_by_zip(node.store.as_ref(), now_ms).await;
    let total: i64 = minutes.iter().map(|(_, value)| value).sum();
    assert_eq!(total, 15, "{minutes:?}");
    assert!(
        minutes.iter().all(|(zip, _)| *zip == zip_of(TIMES_SQUARE)),
        "{minutes:?}"
    );
    node.runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_renewed_window_is_one_stretch_until_it_ends() {
    let mut node = node(config()).await;
    let mut officer = available_officer(&mut node, TIMES_SQUARE).await;
    officer.next_message().await;
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    officer.go_available(15);
    officer.next_message().await;
    tokio::time::sleep(Duration::from_secs(8 * 60)).await;
    officer.send(ClientMessage::GoUnavailable);
    assert_eq!(
        officer.next_message().await,
        ServerMessage::AvailabilityEnded {
            reason: AvailabilityEndReason::WentUnavailable
        }
    );
    let services = node.runtime.services();
    services.availability.finish(Duration::from_secs(5)).await;
    let stretches = node.store.scan_availability(None, 10).await.unwrap();
    assert_eq!(stretches.records.len(), 1, "renewing keeps the stretch");
    let stretch = &stretches.records[0];
    assert_eq!(stretch.ended_at_ms - stretch.started_at_ms, 18 * 60_000);
    let now_ms = services.clock.now_ms();
    let minutes = minutes_by_zip(node.store.as_ref(), now_ms).await;
    assert_eq!(minutes.iter().map(|(_, value)| value).sum::<i64>(), 18);
    node.runtime.shutdown().await;
}
