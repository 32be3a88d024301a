//! Places held per client address (an IPv4 address or an IPv6 /64), up to a
//! limit: the API's open connections (`http.max_connections_per_ip`, taken at
//! accept and held by the socket, WebSockets included) and WebSocket upgrades
//! still waiting for their `hello` (`http.max_pending_sockets_per_ip`: until
//! `hello` nobody is accountable for a socket). A holder keeps an
//! [`AddressSlot`] and dropping it frees the place. The table holds only
//! addresses with a place taken (an entry leaves with its last slot), so it is
//! bounded by the open sockets themselves, and every step is O(1).

use std::net::IpAddr;
use std::sync::Arc;

use dashmap::DashMap;

use crate::identity::AddressKey;

/// Places taken per client address.
#[derive(Debug)]
pub(crate) struct AddressSlots {
    /// The most one address may hold.
    per_address: u32,
    /// Addresses with at least one place taken, and how many.
    counts: DashMap<AddressKey, u32>,
}

impl AddressSlots {
    /// An empty table allowing `per_address` places per address.
    pub(crate) fn new(per_address: u32) -> Arc<Self> {
        Arc::new(Self {
            per_address,
            counts: DashMap::new(),
        })
    }

    /// A slot for one more place of `client`, or `None` when the address
    /// already holds its limit.
    pub(crate) fn try_admit(self: &Arc<Self>, client: IpAddr) -> Option<AddressSlot> {
        let address = AddressKey::from(client);
        let mut count = self.counts.entry(address).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            table: Arc::clone(self),
            address,
        })
    }

    /// Addresses with a place taken.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.counts.len()
    }

    fn release(&self, address: AddressKey) {
        self.counts.remove_if_mut(&address, |_, count| {
            *count = count.saturating_sub(1);
            *count == 0
        });
    }
}

/// One place in its address's count; freed on drop.
#[derive(Debug)]
pub(crate) struct AddressSlot {
    /// The table the slot was taken from.
    table: Arc<AddressSlots>,
    /// Whose slot.
    address: AddressKey,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        self.table.release(self.address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_holds_at_most_its_limit_and_dropping_frees_a_slot() {
        let pending = AddressSlots::new(2);
        let first = pending.try_admit(address("127.0.0.2")).expect("first");
        let _second = pending.try_admit(address("127.0.0.2")).expect("second");
        assert!(pending.try_admit(address("127.0.0.2")).is_none());
        assert!(
            pending.try_admit(address("127.0.0.3")).is_some(),
            "another address has its own slots"
        );
        drop(first);
        assert!(pending.try_admit(address("127.0.0.2")).is_some());
    }

    #[test]
    fn an_ipv6_64_is_one_client_and_empty_addresses_leave_the_table() {
        let pending = AddressSlots::new(1);
        let slot = pending.try_admit(address("2001:db8::1")).expect("first");
        assert!(pending.try_admit(address("2001:db8::2")).is_none());
        assert_eq!(pending.addresses(), 1);
        drop(slot);
        assert_eq!(
            pending.addresses(),
            0,
            "the table holds only pending sockets"
        );
    }
}
