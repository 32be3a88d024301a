//! Contract of [`DeviceStore`](crate::store::DeviceStore): a device is
//! written under its account and id, replaced by its id, listed with its
//! account's others only, and removed idempotently.

use std::sync::Arc;

use uuid::Uuid;

use super::samples::NOW_MS;
use crate::domain::AccountId;
use crate::domain::device::{Device, Platform, device_id};
use crate::store::Store;

fn device(account_id: AccountId, token: &str, platform: Platform) -> Device {
    Device {
        account_id,
        device_id: device_id(account_id, token),
        platform,
        token: token.to_owned(),
        family_id: Uuid::new_v4(),
        registered_at_ms: NOW_MS,
    }
}

pub(crate) async fn devices_are_kept_per_account_and_removed(store: Arc<dyn Store>) {
    let owner = AccountId::random();
    let other = AccountId::random();
    assert!(store.devices_of(owner).await.expect("read").is_empty());
    let phone = device(owner, "apns-token-0001", Platform::Ios);
    let tablet = device(owner, "fcm-token-0002", Platform::Android);
    let elsewhere = device(other, "apns-token-0001", Platform::Ios);
    for written in [&phone, &tablet, &elsewhere] {
        store.put_device(written).await.expect("put");
    }
    let mut listed = store.devices_of(owner).await.expect("read");
    listed.sort_by_key(|listed| listed.token.clone());
    let mut expected = vec![phone.clone(), tablet.clone()];
    expected.sort_by_key(|expected| expected.token.clone());
    assert_eq!(listed, expected);

    // Registered again by another sign-in: replaced, not added.
    let moved = Device {
        family_id: Uuid::new_v4(),
        registered_at_ms: NOW_MS + 1,
        ..phone.clone()
    };
    store.put_device(&moved).await.expect("put again");
    let listed = store.devices_of(owner).await.expect("read");
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&moved));

    store
        .remove_device(owner, phone.device_id)
        .await
        .expect("remove");
    store
        .remove_device(owner, phone.device_id)
        .await
        .expect("remove again");
    assert_eq!(store.devices_of(owner).await.expect("read"), vec![tablet]);
    assert_eq!(
        store.devices_of(other).await.expect("read"),
        vec![elsewhere]
    );
}
