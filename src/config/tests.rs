use super::*;

fn environment(pairs: &[(&str, &str)]) -> EnvironmentVariables {
    EnvironmentVariables::from_pairs(pairs.iter().copied())
}

#[test]
fn defaults_serve_locally_with_the_embedded_store() {
    let config = Config::load(None, &EnvironmentVariables::default()).expect("defaults load");
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.store, StoreConfig::Embedded);
    assert_eq!(config.sms, SmsConfig::Log);
    assert_eq!(config.data_dir, PathBuf::from("./data"));
}

#[test]
fn environment_overrides_single_keys_and_nested_keys() {
    let config = Config::load(
        None,
        &environment(&[
            ("HEYBLUE_LISTEN", "0.0.0.0:9000"),
            ("HEYBLUE_IDENTITY__OTP_TTL_SECONDS", "60"),
            ("HEYBLUE_ADMIN_TOKEN", "secret-is-not-an-override"),
            ("PATH", "/usr/bin"),
        ]),
    )
    .expect("overrides load");
    assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(config.identity.otp_ttl_seconds, 60);
}

#[test]
fn unknown_key_is_named_in_one_line() {
    let error = Config::from_toml_str("[identity]\notp_ttl_secs = 3\n").unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("config key `identity"), "{message}");
    assert!(message.contains("otp_ttl_secs"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn wrong_type_is_named_with_its_path() {
    let error = Config::from_toml_str("[http]\nmax_body_bytes = \"big\"\n").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("http.max_body_bytes"), "{message}");
}

#[test]
fn unknown_environment_key_is_rejected() {
    let error = Config::load(None, &environment(&[("HEYBLUE_LISTNE", "x")])).unwrap_err();
    assert!(error.to_string().contains("listne"), "{error}");
}

#[test]
fn zero_limits_are_rejected() {
    let error = Config::from_toml_str("[identity]\notp_max_attempts = 0\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "config key `identity.otp_max_attempts`: must be greater than 0"
    );
}

#[test]
fn report_thresholds_below_five_are_refused() {
    assert_eq!(Config::default().admin.min_report_cell_count, 11);
    let five = Config::from_toml_str("[admin]\nmin_report_cell_count = 5\n").expect("valid");
    assert_eq!(five.admin.min_report_cell_count, 5);
    let error = Config::from_toml_str("[admin]\nmin_report_cell_count = 4\n").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("admin.min_report_cell_count`: must be at least 5"),
        "{error}"
    );
}

#[test]
fn tagged_store_and_sms_sections_parse() {
    let config = Config::from_toml_str(
        "[sms]\ntype = \"file\"\npath = \"/tmp/codes.jsonl\"\n[store]\ntype = \"embedded\"\n",
    )
    .expect("valid");
    assert_eq!(
        config.sms,
        SmsConfig::File {
            path: PathBuf::from("/tmp/codes.jsonl")
        }
    );
}

#[test]
fn scylla_example_parses_with_its_store_section() {
    let text = include_str!("../../config/scylla.example.toml");
    let example = Config::from_toml_str(text).expect("scylla example parses");
    let StoreConfig::Scylla(scylla) = example.store else {
        panic!("the scylla example configures the scylla store");
    };
    assert_eq!(scylla.nodes, vec!["127.0.0.1:9042".to_owned()]);
    assert_eq!(
        scylla.consistency,
        crate::config::ConsistencyLevel::LocalQuorum
    );
    assert_eq!(
        scylla.replication,
        crate::config::ReplicationConfig::Simple { factor: 1 }
    );
}

#[test]
fn scylla_store_sections_are_validated() {
    let base = "[store]\ntype = \"scylla\"\nnodes = [\"127.0.0.1:9042\"]\n";
    let cases = [
        ("keyspace = \"Bad-Name\"\n", "store.keyspace"),
        (
            "request_timeout_seconds = 0\n",
            "store.request_timeout_seconds",
        ),
        (
            "[store.replication]\nclass = \"simple\"\nfactor = 0\n",
            "store.replication.factor",
        ),
        (
            "[store.replication]\nclass = \"network_topology\"\ndatacenters = { \"d'c\" = 3 }\n",
            "store.replication.datacenters",
        ),
    ];
    for (extra, key) in cases {
        let error = Config::from_toml_str(&format!("{base}{extra}")).expect_err(extra);
        assert!(error.to_string().contains(key), "{extra}: {error}");
    }
    let unknown = Config::from_toml_str(&format!("{base}colour = \"blue\"\n"));
    assert!(unknown.is_err());
    let empty_nodes = Config::from_toml_str("[store]\ntype = \"scylla\"\nnodes = []\n");
    assert!(
        empty_nodes
            .expect_err("no nodes")
            .to_string()
            .contains("store.nodes")
    );
}

#[test]
fn test_tooling_variables_are_not_overrides() {
    let environment = EnvironmentVariables::from_pairs([
        ("HEYBLUE_SCYLLA_URI", "127.0.0.1:9042"),
        ("HEYBLUE_TEST_STORE", "scylla"),
        ("HEYBLUE_CQL_NODE_DIR", "/tmp/node"),
        ("HEYBLUE_BENCH_SERVER_LOG", "info"),
        ("HEYBLUE_SKIP_REDIS", "1"),
    ]);
    let config = Config::load(None, &environment).expect("tooling variables are ignored");
    assert_eq!(config.store, StoreConfig::Embedded);
}

#[test]
fn example_file_matches_the_defaults() {
    let text = include_str!("../../config/heyblue.example.toml");
    let example = Config::from_toml_str(text).expect("example parses");
    let defaults = Config::default();
    assert_eq!(
        toml::to_string(&example).unwrap(),
        toml::to_string(&defaults).unwrap()
    );
}

const CLUSTER_NODE: &str = "[store]\ntype = \"scylla\"\nnodes = [\"127.0.0.1:9042\"]\n\n[cluster]\nlisten = \"127.0.0.1:7100\"\nseeds = [\"127.0.0.2:7100\"]\nregion = \"east\"\n";

#[test]
fn a_cluster_node_parses_with_its_defaults() {
    let config = Config::from_toml_str(CLUSTER_NODE).expect("cluster node parses");
    let cluster = config.cluster.expect("clustered");
    assert_eq!(cluster.cookie_env, "HEYBLUE_CLUSTER_COOKIE");
    assert_eq!(cluster.advertised_host(), "127.0.0.1");
    assert_eq!(cluster.peer_timeout_ms, 2_000);
}

#[test]
fn a_cluster_needs_a_shared_store() {
    let text = CLUSTER_NODE.replace(
        "type = \"scylla\"\nnodes = [\"127.0.0.1:9042\"]",
        "type = \"embedded\"",
    );
    let error = Config::from_toml_str(&text).unwrap_err().to_string();
    assert!(error.contains("share one store"), "{error}");
}

#[test]
fn bad_seeds_and_doubled_region_prefixes_are_named() {
    let text = CLUSTER_NODE.replace("\"127.0.0.2:7100\"", "\"127.0.0.2\"");
    let error = Config::from_toml_str(&text).unwrap_err().to_string();
    assert!(error.contains("cluster.seeds"), "{error}");
    let text = format!(
        "{CLUSTER_NODE}\n[[regions]]\nname = \"a\"\nzip_prefixes = [\"1\"]\n\n[[regions]]\nname = \"b\"\nzip_prefixes = [\"1\"]\n"
    );
    let error = Config::from_toml_str(&text).unwrap_err().to_string();
    assert!(error.contains("two regions"), "{error}");
    let text = CLUSTER_NODE.replace("listen = \"127.0.0.1:7100\"", "listen = \"0.0.0.0:7100\"");
    let error = Config::from_toml_str(&text).unwrap_err().to_string();
    assert!(error.contains("cluster.advertise_host"), "{error}");
}

#[test]
fn secrets_and_tool_variables_are_never_read_as_keys() {
    let config = Config::load(
        None,
        &environment(&[
            ("HEYBLUE_CLUSTER_COOKIE", "cookie"),
            ("HEYBLUE_SCYLLA_PASSWORD", "password"),
            ("HEYBLUE_CLUSTER_DIR", "/tmp/cluster"),
        ]),
    );
    assert!(config.is_ok(), "{config:?}");
}

#[test]
fn every_shipped_region_map_layers_over_a_node_config_for_each_of_its_regions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node = root.join("config/cluster-node.example.toml");
    let mut maps: Vec<PathBuf> = std::fs::read_dir(root.join("cluster/regions"))
        .expect("cluster/regions")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    maps.sort();
    assert!(maps.len() >= 3, "{maps:?}");
    for map in maps {
        let alone = Config::load(Some(&map), &EnvironmentVariables::default())
            .unwrap_or_else(|error| panic!("{}: {error}", map.display()));
        assert!(!alone.regions.is_empty(), "{}", map.display());
        for region in &alone.regions {
            let layered = Config::load_layers(
                [node.as_path(), map.as_path()],
                &environment(&[("HEYBLUE_CLUSTER__REGION", &region.name)]),
            )
            .unwrap_or_else(|error| panic!("{} as {}: {error}", map.display(), region.name));
            assert_eq!(layered.regions, alone.regions, "{}", map.display());
            assert!(
                layered.cluster.is_some(),
                "the node config's cluster section is kept"
            );
        }
    }
}

#[test]
fn a_later_config_file_replaces_the_keys_it_names_and_keeps_the_others() {
    let directory = tempfile::tempdir().expect("temp dir");
    let base = directory.path().join("base.toml");
    let site = directory.path().join("site.toml");
    std::fs::write(
        &base,
        "listen = \"127.0.0.1:9000\"\n[identity]\notp_ttl_seconds = 60\n",
    )
    .expect("write base");
    std::fs::write(&site, "[identity]\notp_ttl_seconds = 90\n").expect("write site");
    let config = Config::load_layers(
        [base.as_path(), site.as_path()],
        &EnvironmentVariables::default(),
    )
    .expect("layers load");
    assert_eq!(config.listen.to_string(), "127.0.0.1:9000");
    assert_eq!(config.identity.otp_ttl_seconds, 90);
    let error = Config::load_layers(
        [
            base.as_path(),
            directory.path().join("missing.toml").as_path(),
        ],
        &EnvironmentVariables::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("missing.toml"), "{error}");
}

#[test]
fn report_upkeep_is_on_unless_turned_off() {
    assert_eq!(
        Config::default().reports.upkeep(),
        crate::store::ReportUpkeep::Maintain
    );
    let off = Config::from_toml_str("[reports]\nmaintain_aggregates = false\n").expect("valid");
    assert_eq!(off.reports.upkeep(), crate::store::ReportUpkeep::Skip);
    assert!(Config::from_toml_str("[reports]\nmaintain = false\n").is_err());
}

#[test]
fn the_roll_up_interval_is_bounded() {
    assert_eq!(Config::default().reports.roll_up_interval_ms, 10_000);
    let fast = Config::from_toml_str("[reports]\nroll_up_interval_ms = 100\n").expect("valid");
    assert_eq!(fast.reports.roll_up_interval_ms, 100);
    for refused in [0, 99, 3_600_001] {
        let error = Config::from_toml_str(&format!("[reports]\nroll_up_interval_ms = {refused}\n"))
            .unwrap_err();
        assert!(
            error.to_string().contains("reports.roll_up_interval_ms"),
            "{error}"
        );
    }
}

#[test]
fn cadence_and_virtual_keys_are_checked() {
    let cases = [
        (
            "[presence.cadence]\nmid_within_meters = 500.0\n",
            "presence.cadence.mid_within_meters",
        ),
        (
            "[presence.cadence]\ncitizen_far_interval_ms = 50\n",
            "presence.cadence.citizen_far_interval_ms",
        ),
        (
            "[connections]\nchat_messages_per_minute = 0\n",
            "connections.chat_messages_per_minute",
        ),
        (
            "[connections]\nvirtual_radius_meters = 0.0\n",
            "connections.virtual_radius_meters",
        ),
    ];
    for (toml, key) in cases {
        let error = Config::from_toml_str(toml).unwrap_err();
        assert!(error.to_string().contains(key), "{toml}: {error}");
    }
    let slower = Config::from_toml_str("[presence.cadence]\ncitizen_far_interval_ms = 60000\n")
        .expect("valid");
    assert_eq!(slower.presence.cadence.citizen_far_interval_ms, 60_000);
    assert_eq!(slower.presence.cadence.citizen_near_interval_ms, 5_000);
}
