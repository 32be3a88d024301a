//! Contract of [`CatalogStore`](crate::store::CatalogStore): catalog entities
//! by id and in pages, conditional offer writes that keep their stock, and the
//! area index browsing reads.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use uuid::Uuid;

use super::samples::{NOW_MS, charity, municipality, offer, retailer};
use super::{CONCURRENT_CALLERS, race};
use crate::domain::catalog::{Area, CatalogStatus, OfferKind, RewardOffer};
use crate::store::{AreaListing, AreaPosition, Store};

/// One hour, in ms: distinct ends of validity in the samples.
const HOUR_MS: i64 = 3_600_000;

/// Every id a paged listing yields, reading pages of `page_size` after the last
/// id of the previous page until a short page; panics on an id seen twice.
async fn every_id_paged<Page>(
    page_size: usize,
    read_page: impl Fn(Option<Uuid>) -> Page,
) -> Vec<Uuid>
where
    Page: Future<Output = Vec<Uuid>>,
{
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = read_page(after).await;
        assert!(page.len() <= page_size, "a page holds at most its limit");
        for id in &page {
            assert!(!seen.contains(id), "{id} listed twice");
            seen.push(*id);
        }
        if page.len() < page_size {
            return seen;
        }
        after = page.last().copied();
    }
}

/// The ids of listed offers, stale rows left out.
fn listed_ids(listings: &[AreaListing]) -> Vec<Uuid> {
    listings
        .iter()
        .filter_map(|listing| listing.offer.as_ref().map(|offer| offer.id))
        .collect()
}

/// The listing of one prefix and kind from `NOW_MS` on, first 100 rows.
async fn listed(store: &Arc<dyn Store>, zip_prefix: &str, kind: OfferKind) -> Vec<AreaListing> {
    store
        .offers_in_area(zip_prefix, kind, NOW_MS, None, 100)
        .await
        .expect("area listing")
}

/// Retailers, municipalities and charities are written, read back as written,
/// and replaced by a later write with the same id.
pub(crate) async fn catalog_entities_are_put_read_and_replaced(store: Arc<dyn Store>) {
    let mut shop = retailer("Corner Cafe");
    let mut city = municipality("Springfield");
    let mut kitchen = charity("Food Bank");
    store.put_retailer(&shop).await.expect("put retailer");
    store
        .put_municipality(&city)
        .await
        .expect("put municipality");
    store.put_charity(&kitchen).await.expect("put charity");
    assert_eq!(
        store.retailer(shop.id).await.expect("read"),
        Some(shop.clone())
    );
    assert_eq!(
        store.municipality(city.id).await.expect("read"),
        Some(city.clone())
    );
    assert_eq!(
        store.charity(kitchen.id).await.expect("read"),
        Some(kitchen.clone())
    );

    shop.name = "Corner Café".to_owned();
    shop.status = CatalogStatus::Suspended;
    shop.updated_at_ms += 1;
    city.area = Area::from_stored(vec!["101".to_owned()]);
    city.status = CatalogStatus::Suspended;
    kitchen.description = "Meals.".to_owned();
    kitchen.status = CatalogStatus::Suspended;
    store.put_retailer(&shop).await.expect("replace retailer");
    store
        .put_municipality(&city)
        .await
        .expect("replace municipality");
    store.put_charity(&kitchen).await.expect("replace charity");

    assert_eq!(store.retailer(shop.id).await.expect("read"), Some(shop));
    assert_eq!(store.municipality(city.id).await.expect("read"), Some(city));
    assert_eq!(
        store.charity(kitchen.id).await.expect("read"),
        Some(kitchen)
    );
    let unknown = Uuid::new_v4();
    assert_eq!(store.retailer(unknown).await.expect("read"), None);
    assert_eq!(store.municipality(unknown).await.expect("read"), None);
    assert_eq!(store.charity(unknown).await.expect("read"), None);
    assert_eq!(store.offer(unknown).await.expect("read"), None);
}

/// Paging through each catalog table after the last id of each page lists
/// every entity exactly once.
pub(crate) async fn catalog_lists_page_through_every_entity_once(store: Arc<dyn Store>) {
    let mut expected = [
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    ];
    for number in 0..7 {
        let shop = retailer(&format!("Shop {number}"));
        let city = municipality(&format!("Town {number}"));
        let kitchen = charity(&format!("Charity {number}"));
        let deal = offer(OfferKind::Offer, &["100"], NOW_MS + HOUR_MS, Some(5));
        store.put_retailer(&shop).await.expect("put");
        store.put_municipality(&city).await.expect("put");
        store.put_charity(&kitchen).await.expect("put");
        assert!(store.put_offer(&deal, None).await.expect("create"));
        for (ids, id) in expected
            .iter_mut()
            .zip([shop.id, city.id, kitchen.id, deal.id])
        {
            ids.insert(id);
        }
    }
    let page_size = 3;
    let retailers = every_id_paged(page_size, |after| {
        let store = Arc::clone(&store);
        async move {
            let page = store.retailers(after, page_size).await.expect("page");
            page.iter().map(|entity| entity.id).collect()
        }
    })
    .await;
    let municipalities = every_id_paged(page_size, |after| {
        let store = Arc::clone(&store);
        async move {
            let page = store.municipalities(after, page_size).await.expect("page");
            page.iter().map(|entity| entity.id).collect()
        }
    })
    .await;
    let charities = every_id_paged(page_size, |after| {
        let store = Arc::clone(&store);
        async move {
            let page = store.charities(after, page_size).await.expect("page");
            page.iter().map(|entity| entity.id).collect()
        }
    })
    .await;
    let offers = every_id_paged(page_size, |after| {
        let store = Arc::clone(&store);
        async move {
            let page = store.offers(after, page_size).await.expect("page");
            page.iter().map(|entity| entity.id).collect()
        }
    })
    .await;
    for (listed, expected) in [retailers, municipalities, charities, offers]
        .into_iter()
        .zip(expected)
    {
        assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), expected);
    }
}

/// Creating an offer applies once; a second create of its id changes nothing.
pub(crate) async fn creating_an_offer_is_conditional_on_its_absence(store: Arc<dyn Store>) {
    let first = offer(OfferKind::Offer, &["10001"], NOW_MS + HOUR_MS, Some(10));
    let mut second = first.clone();
    second.title = "Other".to_owned();

    assert!(store.put_offer(&first, None).await.expect("create"));
    assert!(!store.put_offer(&second, None).await.expect("create again"));

    assert_eq!(store.offer(first.id).await.expect("read"), Some(first));
}

/// A batch of offer writes applies each as `put_offer` would, in order: a
/// create, a replacement from the stored version, and a stale one refused.
pub(crate) async fn offers_are_written_in_batches_each_conditionally(store: Arc<dyn Store>) {
    let stored = offer(OfferKind::Offer, &["100"], NOW_MS + HOUR_MS, Some(5));
    assert!(store.put_offer(&stored, None).await.expect("create"));
    let created = offer(OfferKind::Offer, &["10001"], NOW_MS + HOUR_MS, None);
    let mut replaced = stored.clone();
    replaced.title = "Replaced".to_owned();
    replaced.version = stored.version + 1;
    let mut stale = stored.clone();
    stale.title = "Stale".to_owned();
    stale.version = stored.version + 2;
    let applied = store
        .put_offers(&[
            (created.clone(), None),
            (replaced.clone(), Some(stored.clone())),
            (stale, Some(stored.clone())),
        ])
        .await
        .expect("batch");
    assert_eq!(applied, vec![true, true, false]);
    assert_eq!(
        store
            .offers_by_id(&[created.id, uuid::Uuid::new_v4(), stored.id])
            .await
            .expect("read together"),
        vec![Some(created.clone()), None, Some(replaced.clone())],
        "offers read together come back in the order asked, None where absent"
    );
    assert_eq!(store.offer(created.id).await.expect("read"), Some(created));
    assert_eq!(store.offer(stored.id).await.expect("read"), Some(replaced));
}

/// A replacement applies only from the stored version and stock: a stale
/// version, or stock that moved since it was read, refuses it. Unlimited stock
/// (no count) is matched too.
pub(crate) async fn replacing_an_offer_needs_the_version_and_stock_it_read(store: Arc<dyn Store>) {
    let stored = offer(OfferKind::Offer, &["100"], NOW_MS + HOUR_MS, Some(5));
    assert!(store.put_offer(&stored, None).await.expect("create"));
    let replacement = |from: &RewardOffer, title: &str| {
        let mut next = from.clone();
        next.title = title.to_owned();
        next.version = from.version + 1;
        next
    };

    let mut stale_version = stored.clone();
    stale_version.version = 7;
    assert!(
        !store
            .put_offer(&replacement(&stored, "A"), Some(&stale_version))
            .await
            .expect("put")
    );
    let mut stock_moved = stored.clone();
    stock_moved.remaining = Some(4);
    assert!(
        !store
            .put_offer(&replacement(&stored, "B"), Some(&stock_moved))
            .await
            .expect("put")
    );
    assert_eq!(
        store.offer(stored.id).await.expect("read"),
        Some(stored.clone())
    );

    let mut unlimited = replacement(&stored, "Unlimited");
    unlimited.total_quantity = None;
    unlimited.remaining = None;
    assert!(
        store
            .put_offer(&unlimited, Some(&stored))
            .await
            .expect("put")
    );
    let limited_again = replacement(&unlimited, "Limited");
    let mut with_stock = limited_again.clone();
    with_stock.total_quantity = Some(3);
    with_stock.remaining = Some(3);
    assert!(
        !store
            .put_offer(&with_stock, Some(&stored))
            .await
            .expect("stale put")
    );
    assert!(
        store
            .put_offer(&with_stock, Some(&unlimited))
            .await
            .expect("put")
    );

    assert_eq!(
        store.offer(stored.id).await.expect("read"),
        Some(with_stock)
    );
}

/// The area index lists the offers of one ZIP prefix and kind whose validity
/// ends after the given time, ordered by that end, each with its offer.
pub(crate) async fn offers_in_area_list_one_prefix_and_kind_by_end_of_validity(
    store: Arc<dyn Store>,
) {
    let ending_third = offer(OfferKind::Offer, &["10001"], NOW_MS + 3 * HOUR_MS, Some(3));
    let ending_first = offer(OfferKind::Offer, &["100"], NOW_MS + HOUR_MS, None);
    let ending_second = offer(
        OfferKind::Offer,
        &["100", "20001"],
        NOW_MS + 2 * HOUR_MS,
        None,
    );
    let scheme = offer(OfferKind::Scheme, &["100"], NOW_MS + 2 * HOUR_MS, None);
    let elsewhere = offer(OfferKind::Offer, &["101"], NOW_MS + HOUR_MS, None);
    let expired = offer(OfferKind::Offer, &["100"], NOW_MS - 1, None);
    let ending_now = offer(OfferKind::Offer, &["100"], NOW_MS, None);
    for each in [
        &ending_third,
        &ending_first,
        &ending_second,
        &scheme,
        &elsewhere,
        &expired,
        &ending_now,
    ] {
        assert!(store.put_offer(each, None).await.expect("create"));
    }

    let offers = listed(&store, "100", OfferKind::Offer).await;
    assert_eq!(
        listed_ids(&offers),
        vec![ending_first.id, ending_second.id, ending_third.id]
    );
    assert_eq!(offers[1].offer.as_ref(), Some(&ending_second));
    assert_eq!(
        offers[1].position,
        AreaPosition {
            valid_until_ms: ending_second.valid_until_ms,
            offer_id: ending_second.id
        }
    );
    assert_eq!(
        listed_ids(&listed(&store, "100", OfferKind::Scheme).await),
        vec![scheme.id]
    );
    assert_eq!(
        listed_ids(&listed(&store, "200", OfferKind::Offer).await),
        vec![ending_second.id]
    );
    assert_eq!(
        listed_ids(&listed(&store, "101", OfferKind::Offer).await),
        vec![elsewhere.id]
    );
    assert!(listed(&store, "999", OfferKind::Offer).await.is_empty());
    let limited = store
        .offers_in_area("100", OfferKind::Offer, NOW_MS, None, 2)
        .await
        .expect("listing");
    assert_eq!(
        listed_ids(&limited),
        vec![ending_first.id, ending_second.id]
    );
}

/// A listing continues strictly after a position, and only ends after the
/// given time are listed whatever the position.
pub(crate) async fn area_listings_continue_after_a_position(store: Arc<dyn Store>) {
    let mut expected = Vec::new();
    for hours in 1..=5 {
        let each = offer(OfferKind::Offer, &["100"], NOW_MS + hours * HOUR_MS, None);
        assert!(store.put_offer(&each, None).await.expect("create"));
        expected.push(each.id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .offers_in_area("100", OfferKind::Offer, NOW_MS, after, 2)
            .await
            .expect("listing");
        seen.extend(listed_ids(&page));
        let Some(last) = page.last() else { break };
        after = Some(last.position);
    }
    assert_eq!(seen, expected);

    let first_position = AreaPosition {
        valid_until_ms: NOW_MS + HOUR_MS,
        offer_id: expected[0],
    };
    let later = store
        .offers_in_area(
            "100",
            OfferKind::Offer,
            NOW_MS + 3 * HOUR_MS,
            Some(first_position),
            10,
        )
        .await
        .expect("listing");
    assert_eq!(listed_ids(&later), expected[3..].to_vec());
}

/// A replacement that changes an offer's area, end of validity or kind lists
/// it where it now belongs and nowhere else.
pub(crate) async fn replacing_an_offer_moves_its_area_rows(store: Arc<dyn Store>) {
    let first = offer(
        OfferKind::Offer,
        &["100", "20001"],
        NOW_MS + HOUR_MS,
        Some(5),
    );
    assert!(store.put_offer(&first, None).await.expect("create"));
    let mut moved = first.clone();
    moved.area = Area::from_stored(vec!["200".to_owned(), "30001".to_owned()]);
    moved.valid_until_ms = NOW_MS + 2 * HOUR_MS;
    moved.version = 2;
    assert!(store.put_offer(&moved, Some(&first)).await.expect("move"));

    assert!(listed(&store, "100", OfferKind::Offer).await.is_empty());
    let in_200 = listed(&store, "200", OfferKind::Offer).await;
    assert_eq!(listed_ids(&in_200), vec![first.id]);
    assert_eq!(in_200.len(), 1, "no row left at the old end of validity");
    assert_eq!(in_200[0].position.valid_until_ms, NOW_MS + 2 * HOUR_MS);
    assert_eq!(
        listed_ids(&listed(&store, "300", OfferKind::Offer).await),
        vec![first.id]
    );

    let mut as_scheme = moved.clone();
    as_scheme.kind = OfferKind::Scheme;
    as_scheme.version = 3;
    assert!(
        store
            .put_offer(&as_scheme, Some(&moved))
            .await
            .expect("rekind")
    );
    assert!(listed(&store, "200", OfferKind::Offer).await.is_empty());
    assert_eq!(
        listed_ids(&listed(&store, "200", OfferKind::Scheme).await),
        vec![first.id]
    );
}

/// Of many replacements computed from one version, exactly one applies and the
/// offer is listed once.
pub(crate) async fn concurrent_replacements_from_one_version_apply_exactly_once(
    store: Arc<dyn Store>,
) {
    let stored = offer(OfferKind::Offer, &["100"], NOW_MS + HOUR_MS, Some(50));
    assert!(store.put_offer(&stored, None).await.expect("create"));
    let attempts: Arc<Vec<RewardOffer>> = Arc::new(
        (0..CONCURRENT_CALLERS)
            .map(|index| {
                let mut next = stored.clone();
                next.title = format!("Title {index}");
                next.valid_until_ms = NOW_MS + HOUR_MS + i64::try_from(index).expect("small");
                next.version = 2;
                next
            })
            .collect(),
    );
    let previous = Arc::new(stored.clone());

    let results = race(&store, |store, index| {
        let attempts = Arc::clone(&attempts);
        let previous = Arc::clone(&previous);
        async move { store.put_offer(&attempts[index], Some(&previous)).await }
    })
    .await;

    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, applied)| matches!(applied, Ok(true)))
        .map(|(index, _)| *index)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one replacement applies");
    assert!(results.iter().all(|(_, applied)| applied.is_ok()));
    let winner = &attempts[winners[0]];
    assert_eq!(
        store.offer(stored.id).await.expect("read").as_ref(),
        Some(winner)
    );
    assert_eq!(
        listed_ids(&listed(&store, "100", OfferKind::Offer).await),
        vec![stored.id]
    );
}
