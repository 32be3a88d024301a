//! [`DeviceStore`] on CQL: `devices`, one partition per account (a few rows:
//! the count is bounded where devices are registered), each row the record
//! whole in a blob. The statements are prepared here, apart from the other
//! tables', with the schema block that adds the table.

use super::prepare::Preparer;
use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{decode_record, encode_record, rows};
use crate::domain::AccountId;
use crate::domain::device::Device;
use crate::store::{DeviceStore, StoreResult};

/// The prepared statements of `devices`.
#[derive(Debug)]
pub(super) struct DeviceStatements {
    /// Writes a device (replacing one with its id).
    upsert: PreparedStatement,
    /// Reads an account's devices.
    select_of_account: PreparedStatement,
    /// Removes one device.
    delete: PreparedStatement,
}

impl DeviceStatements {
    /// Prepares every statement on `session` (already using the keyspace).
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            upsert: prepare
                .idempotent("INSERT INTO devices (account_id, device_id, record) VALUES (?, ?, ?)")
                .await?,
            select_of_account: prepare
                .idempotent("SELECT record FROM devices WHERE account_id = ?")
                .await?,
            delete: prepare
                .idempotent("DELETE FROM devices WHERE account_id = ? AND device_id = ?")
                .await?,
        })
    }
}

#[async_trait]
impl DeviceStore for ScyllaStore {
    async fn put_device(&self, device: &Device) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.devices.upsert,
            (
                device.account_id.0,
                device.device_id,
                encode_record(device, "device")?,
            ),
        )
        .await?;
        Ok(())
    }

    async fn devices_of(&self, account_id: AccountId) -> StoreResult<Vec<Device>> {
        let result = self
            .execute(
                |connected| &connected.statements.devices.select_of_account,
                (account_id.0,),
            )
            .await?;
        rows::<(Vec<u8>,)>(result, "device")?
            .into_iter()
            .map(|(record,)| decode_record(&record, "device"))
            .collect()
    }

    async fn remove_device(&self, account_id: AccountId, device_id: Uuid) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.devices.delete,
            (account_id.0, device_id),
        )
        .await?;
        Ok(())
    }
}
