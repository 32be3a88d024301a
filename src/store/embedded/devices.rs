//! [`DeviceStore`] on redb: one row per (account, device), keyed by the two
//! ids so an account's devices are one key range.

use async_trait::async_trait;
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, redb_error};
use super::tables::DEVICES;
use crate::domain::AccountId;
use crate::domain::device::Device;
use crate::store::{DeviceStore, StoreResult};

fn device_key(account_id: AccountId, device_id: Uuid) -> [u8; 32] {
    let mut key = [0_u8; 32];
    key[..16].copy_from_slice(account_id.0.as_bytes());
    key[16..].copy_from_slice(device_id.as_bytes());
    key
}

#[async_trait]
impl DeviceStore for EmbeddedStore {
    async fn put_device(&self, device: &Device) -> StoreResult<()> {
        let key = device_key(device.account_id, device.device_id);
        let encoded = encode(device)?;
        self.write(move |transaction| {
            let mut devices = transaction.open_table(DEVICES).map_err(redb_error)?;
            devices
                .insert(&key, encoded.as_slice())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn devices_of(&self, account_id: AccountId) -> StoreResult<Vec<Device>> {
        let start = device_key(account_id, Uuid::nil());
        let end = device_key(account_id, Uuid::max());
        self.read(move |transaction| {
            let devices = transaction.open_table(DEVICES).map_err(redb_error)?;
            let mut found = Vec::new();
            for row in devices
                .range::<&[u8; 32]>(&start..=&end)
                .map_err(redb_error)?
            {
                let (_, value) = row.map_err(redb_error)?;
                found.push(decode(value.value())?);
            }
            Ok(found)
        })
        .await
    }

    async fn remove_device(&self, account_id: AccountId, device_id: Uuid) -> StoreResult<()> {
        let key = device_key(account_id, device_id);
        self.write(move |transaction| {
            let mut devices = transaction.open_table(DEVICES).map_err(redb_error)?;
            devices.remove(&key).map_err(redb_error)?;
            Ok(())
        })
        .await
    }
}
