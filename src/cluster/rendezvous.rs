//! Who owns a shard: rendezvous (highest random weight) hashing over the live
//! nodes of the shard's region, or over every live node when the region has none
//! alive or the shard belongs to no region. Every node computes the same owner
//! from the same membership, and a node joining or leaving moves only the shards
//! it wins or held. The hash is SHA-256, so the answer never depends on the build.

use sha2::{Digest, Sha256};

use crate::config::RegionConfig;
use crate::geo::ShardId;

/// A live node as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Node name (unique in the cluster).
    pub(crate) name: String,
    /// Region label.
    pub(crate) region: String,
}

/// The region of `shard`: the region with the longest ZIP prefix matching the
/// shard's 3-digit prefix; `None` for shards outside every region (and `h3:` ones).
pub(crate) fn region_of<'a>(shard: &ShardId, regions: &'a [RegionConfig]) -> Option<&'a str> {
    let ShardId::Zip3(_) = shard else {
        return None;
    };
    let digits = shard.to_string();
    regions
        .iter()
        .flat_map(|region| {
            region
                .zip_prefixes
                .iter()
                .filter(|prefix| digits.starts_with(prefix.as_str()))
                .map(move |prefix| (prefix.len(), region.name.as_str()))
        })
        .max_by_key(|(length, _)| *length)
        .map(|(_, name)| name)
}

/// The owner of `shard` among `live` nodes (`None` only when `live` is empty).
pub(crate) fn owner_of<'a>(
    shard: &ShardId,
    live: &'a [Candidate],
    regions: &[RegionConfig],
) -> Option<&'a Candidate> {
    let shard_key = shard.to_string();
    let in_region = region_of(shard, regions)
        .map(|region| {
            live.iter()
                .filter(|node| node.region == region)
                .collect::<Vec<_>>()
        })
        .filter(|nodes| !nodes.is_empty());
    let pool: Vec<&Candidate> = in_region.unwrap_or_else(|| live.iter().collect());
    pool.into_iter().max_by(|a, b| {
        weight(&shard_key, &a.name)
            .cmp(&weight(&shard_key, &b.name))
            .then_with(|| a.name.cmp(&b.name))
    })
}

fn weight(shard: &str, node: &str) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(shard.as_bytes());
    hasher.update([0]);
    hasher.update(node.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, region: &str) -> Candidate {
        Candidate {
            name: name.to_owned(),
            region: region.to_owned(),
        }
    }

    fn regions() -> Vec<RegionConfig> {
        vec![
            RegionConfig {
                name: "east".to_owned(),
                zip_prefixes: vec!["0".to_owned(), "1".to_owned()],
            },
            RegionConfig {
                name: "west".to_owned(),
                zip_prefixes: vec!["9".to_owned(), "100".to_owned()],
            },
        ]
    }

    fn all_zip_shards() -> impl Iterator<Item = ShardId> {
        (0..1000).map(ShardId::Zip3)
    }

    #[test]
    fn the_longest_prefix_decides_the_region() {
        let regions = regions();
        assert_eq!(region_of(&ShardId::Zip3(100), &regions), Some("west"));
        assert_eq!(region_of(&ShardId::Zip3(101), &regions), Some("east"));
        assert_eq!(region_of(&ShardId::Zip3(7), &regions), Some("east"));
        assert_eq!(region_of(&ShardId::Zip3(500), &regions), None);
    }

    #[test]
    fn every_order_of_the_same_membership_gives_the_same_owner() {
        let live = vec![node("a", "east"), node("b", "east"), node("c", "west")];
        let mut reversed = live.clone();
        reversed.reverse();
        for shard in all_zip_shards() {
            let one = owner_of(&shard, &live, &[]).map(|n| n.name.clone());
            let other = owner_of(&shard, &reversed, &[]).map(|n| n.name.clone());
            assert_eq!(one, other, "{shard}");
        }
    }

    #[test]
    fn shards_spread_over_nodes() {
        let live = vec![node("a", "x"), node("b", "x"), node("c", "x")];
        let mut counts = std::collections::HashMap::new();
        for shard in all_zip_shards() {
            *counts
                .entry(owner_of(&shard, &live, &[]).unwrap().name.clone())
                .or_insert(0) += 1;
        }
        for name in ["a", "b", "c"] {
            assert!((250..420).contains(&counts[name]), "{counts:?}");
        }
    }

    #[test]
    fn a_node_leaving_moves_only_its_own_shards() {
        let before = vec![node("a", "x"), node("b", "x"), node("c", "x")];
        let after = vec![node("a", "x"), node("c", "x")];
        for shard in all_zip_shards() {
            let old = owner_of(&shard, &before, &[]).unwrap();
            let new = owner_of(&shard, &after, &[]).unwrap();
            if old.name != "b" {
                assert_eq!(old, new, "{shard} moved though its owner stayed");
            }
        }
    }

    #[test]
    fn a_region_keeps_its_shards_while_one_of_its_nodes_lives() {
        let regions = regions();
        let live = vec![node("e1", "east"), node("e2", "east"), node("w1", "west")];
        for shard in all_zip_shards() {
            let owner = owner_of(&shard, &live, &regions).unwrap();
            match region_of(&shard, &regions) {
                Some("east") => assert!(owner.region == "east", "{shard}"),
                Some("west") => assert_eq!(owner.name, "w1", "{shard}"),
                _ => {}
            }
        }
        let east_only = vec![node("e1", "east")];
        let west_shard = ShardId::Zip3(945);
        assert_eq!(
            owner_of(&west_shard, &east_only, &regions).unwrap().name,
            "e1",
            "a region with no live node falls back to all nodes"
        );
    }

    #[test]
    fn no_live_node_means_no_owner() {
        assert!(owner_of(&ShardId::Zip3(1), &[], &[]).is_none());
    }
}
