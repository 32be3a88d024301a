//! The key per-address limits count under: an IPv4 address, or the /64 an IPv6
//! address belongs to (one subscriber or host gets a whole /64, so counting
//! single IPv6 addresses would let a client rotate past any limit).

use std::net::IpAddr;

/// Addresses remembered per limit before new ones are refused for the hour.
pub(crate) const MAX_ADDRESSES: usize = 100_000;

/// One client as the per-address limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AddressKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4(u32),
    /// The upper 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl From<IpAddr> for AddressKey {
    fn from(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => Self::V6Prefix((u128::from(v6) >> 64) as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> AddressKey {
        text.parse::<IpAddr>().unwrap().into()
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
    }
}
