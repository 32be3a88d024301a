//! The catalog service on an embedded store: the rules that read the store
//! (issuers, scheme areas), replacements, and browsing pages.

use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use uuid::Uuid;

use super::{Catalog, CatalogError};
use crate::clock::Clock;
use crate::domain::catalog::{
    CatalogStatus, Municipality, MunicipalityDraft, OfferDraft, OfferKind, Retailer, RetailerDraft,
    RewardOffer,
};
use crate::store::embedded::EmbeddedStore;

/// 2026-01-01T00:00:00Z.
const NOW_MS: i64 = 1_767_225_600_000;
const DAY_MS: i64 = 86_400_000;

async fn catalog() -> (Catalog, TempDir) {
    let data_dir = TempDir::new().expect("temporary directory");
    let store = EmbeddedStore::open(data_dir.path()).await.expect("open");
    (
        Catalog::new(Arc::new(store), Clock::starting_at(NOW_MS)),
        data_dir,
    )
}

fn retailer_draft(status: CatalogStatus) -> RetailerDraft {
    RetailerDraft {
        name: "Corner Cafe".to_owned(),
        address: "1 Main Street".to_owned(),
        zip: "10001".to_owned(),
        contact: "owner@example.com".to_owned(),
        status,
    }
}

fn offer_draft(kind: OfferKind, issuer_id: Uuid, area: &[&str]) -> OfferDraft {
    OfferDraft {
        kind,
        issuer_id,
        title: "Free coffee".to_owned(),
        description: "One small coffee.".to_owned(),
        point_cost: 50,
        area: area.iter().map(|code| (*code).to_owned()).collect(),
        valid_from_ms: NOW_MS - DAY_MS,
        valid_until_ms: NOW_MS + DAY_MS,
        total_quantity: Some(5),
        per_person_limit: None,
        voucher_lifetime_seconds: 86_400,
        status: CatalogStatus::Active,
    }
}

#[tokio::test]
async fn offers_need_an_existing_active_issuer_of_their_kind() {
    let (catalog, _data_dir) = catalog().await;
    let shop: Retailer = catalog
        .create(retailer_draft(CatalogStatus::Active))
        .await
        .expect("retailer");

    let offer: RewardOffer = catalog
        .create(offer_draft(OfferKind::Offer, shop.id, &["100"]))
        .await
        .expect("offer");
    assert_eq!(offer.issuer_id, shop.id);
    for draft in [
        offer_draft(OfferKind::Scheme, shop.id, &["100"]),
        offer_draft(OfferKind::Offer, Uuid::new_v4(), &["100"]),
    ] {
        let refused = catalog.create::<RewardOffer>(draft).await;
        assert!(
            matches!(refused, Err(CatalogError::IssuerNotFound { .. })),
            "{refused:?}"
        );
    }

    let _suspended: Retailer = catalog
        .replace(shop.id, retailer_draft(CatalogStatus::Suspended))
        .await
        .expect("suspend");
    let refused = catalog
        .create::<RewardOffer>(offer_draft(OfferKind::Offer, shop.id, &["100"]))
        .await;
    assert!(
        matches!(refused, Err(CatalogError::IssuerSuspended { .. })),
        "{refused:?}"
    );
    let mut suspended_offer = offer_draft(OfferKind::Offer, shop.id, &["100"]);
    suspended_offer.status = CatalogStatus::Suspended;
    let replaced: RewardOffer = catalog
        .replace(offer.id, suspended_offer)
        .await
        .expect("an offer of a suspended retailer can be suspended");
    assert_eq!(replaced.status, CatalogStatus::Suspended);
}

#[tokio::test]
async fn schemes_are_offered_only_inside_their_municipality() {
    let (catalog, _data_dir) = catalog().await;
    let city: Municipality = catalog
        .create(MunicipalityDraft {
            name: "Springfield".to_owned(),
            state: "NY".to_owned(),
            area: vec!["100".to_owned()],
            contact: "parks@example.gov".to_owned(),
            status: CatalogStatus::Active,
        })
        .await
        .expect("municipality");

    let inside = catalog
        .create::<RewardOffer>(offer_draft(OfferKind::Scheme, city.id, &["10001", "100"]))
        .await;
    let outside = catalog
        .create::<RewardOffer>(offer_draft(OfferKind::Scheme, city.id, &["20001"]))
        .await;

    assert!(inside.is_ok(), "{inside:?}");
    assert!(
        matches!(&outside, Err(CatalogError::Invalid(error)) if error.field == "area"),
        "{outside:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_replacement_keeps_the_creation_time_and_needs_a_stored_entry() {
    let (catalog, _data_dir) = catalog().await;
    let created: Retailer = catalog
        .create(retailer_draft(CatalogStatus::Active))
        .await
        .expect("create");
    tokio::time::advance(Duration::from_secs(60)).await;

    let mut renamed = retailer_draft(CatalogStatus::Active);
    renamed.name = "Corner Café".to_owned();
    let replaced: Retailer = catalog
        .replace(created.id, renamed.clone())
        .await
        .expect("replace");
    let unknown = catalog.replace::<Retailer>(Uuid::new_v4(), renamed).await;

    assert_eq!(replaced.created_at_ms, created.created_at_ms);
    assert_eq!(replaced.updated_at_ms, created.created_at_ms + 60_000);
    assert_eq!(
        catalog.get::<Retailer>(created.id).await.expect("read"),
        replaced
    );
    assert!(
        matches!(
            unknown,
            Err(CatalogError::NotFound {
                code: "retailer_not_found",
                ..
            })
        ),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn browsing_pages_list_each_visible_offer_once_past_hidden_ones() {
    let (catalog, _data_dir) = catalog().await;
    let shop: Retailer = catalog
        .create(retailer_draft(CatalogStatus::Active))
        .await
        .expect("retailer");
    let mut visible = Vec::new();
    for number in 0..30_i64 {
        let mut draft = offer_draft(OfferKind::Offer, shop.id, &["10001"]);
        draft.valid_until_ms = NOW_MS + DAY_MS + number;
        let hidden = number % 3 != 0;
        if hidden {
            draft.status = CatalogStatus::Suspended;
        }
        let offer: RewardOffer = catalog.create(draft).await.expect("offer");
        if !hidden {
            visible.push(offer.id);
        }
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = catalog
            .browse_offers("10001", None, cursor.as_deref(), 3)
            .await
            .expect("page");
        assert!(page.offers.len() <= 3);
        seen.extend(page.offers.iter().map(|browsed| browsed.offer.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_eq!(seen, visible);
    let elsewhere = catalog
        .browse_offers("10002", Some(OfferKind::Offer), None, 3)
        .await
        .expect("page");
    assert!(elsewhere.offers.is_empty());
    assert!(elsewhere.next_cursor.is_none());
}
