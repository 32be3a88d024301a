//! Config files given in layers (`--config base.toml --config regions.toml`):
//! a later file's keys replace an earlier file's, tables merge key by key, and
//! any other value (arrays of tables such as `[[regions]]` included) is
//! replaced whole. Lets a deployment keep one node config and add what differs
//! (a region map, a site's overrides) in its own file.

/// Merges `layer` into `base`, the layer winning on every key both hold.
pub(super) fn merge(base: &mut toml::Table, layer: toml::Table) {
    for (key, value) in layer {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(layer_inner)) => {
                merge(inner, layer_inner);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().expect("test TOML")
    }

    #[test]
    fn later_keys_win_and_tables_merge_key_by_key() {
        let mut base = table(
            "listen = \"127.0.0.1:8080\"\n[cluster]\nregion = \"default\"\nlisten = \"0.0.0.0:7100\"\n",
        );
        merge(
            &mut base,
            table(
                "[cluster]\nregion = \"east\"\n[[regions]]\nname = \"east\"\nzip_prefixes = [\"0\"]\n",
            ),
        );
        assert_eq!(base["listen"].as_str(), Some("127.0.0.1:8080"));
        assert_eq!(base["cluster"]["region"].as_str(), Some("east"));
        assert_eq!(base["cluster"]["listen"].as_str(), Some("0.0.0.0:7100"));
        assert_eq!(base["regions"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn arrays_are_replaced_not_appended() {
        let mut base = table(
            "[[regions]]\nname = \"a\"\nzip_prefixes = [\"1\"]\n[[regions]]\nname = \"b\"\nzip_prefixes = [\"2\"]\n",
        );
        merge(
            &mut base,
            table("[[regions]]\nname = \"c\"\nzip_prefixes = [\"3\"]\n"),
        );
        let regions = base["regions"].as_array().expect("regions");
        assert_eq!(regions.len(), 1);
        assert_eq!(regions[0]["name"].as_str(), Some("c"));
    }
}
