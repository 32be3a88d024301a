//! Cluster links over mutual TLS (`[cluster.tls]`): nodes with certificates
//! from the cluster CA form the cluster; a node whose certificate comes from
//! another CA, or one speaking plain TCP, never joins. Needs a CQL node
//! (`HEYBLUE_SCYLLA_URI`, as every cluster test); skipped, and said so,
//! without one.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cluster::{ClusterPlan, NodeSpec, cluster_view, cql_node};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// Writes a CA and a node certificate (for 127.0.0.1 to 127.0.0.9) it
/// issued into `dir`, and returns the `[cluster.tls]` section naming them.
fn cluster_tls_section(dir: &Path, name: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, name);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let hosts: Vec<String> = (1..10).map(|host| format!("127.0.0.{host}")).collect();
    let node_key = KeyPair::generate().unwrap();
    let node_certificate = CertificateParams::new(hosts)
        .unwrap()
        .signed_by(&node_key, &ca)
        .unwrap();
    let ca_file = dir.join("cluster-ca.pem");
    let chain_file = dir.join("node.pem");
    let key_file = dir.join("node-key.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&chain_file, node_certificate.pem()).unwrap();
    std::fs::write(&key_file, node_key.serialize_pem()).unwrap();
    format!(
        "\n[cluster.tls]\nca_file = \"{}\"\ncertificate_chain_file = \"{}\"\nprivate_key_file = \"{}\"\n",
        ca_file.display(),
        chain_file.display(),
        key_file.display()
    )
}

fn names_in(view: &serde_json::Value) -> Vec<String> {
    view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_the_cluster_ca_join_and_others_never_do() {
    let Some(cql) = cql_node() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cluster_tls = cluster_tls_section(&dir.path().join("cluster-ca"), "Cluster CA");
    let other_tls = cluster_tls_section(&dir.path().join("other-ca"), "Another CA");
    let specs = vec![
        NodeSpec {
            name: "node-a",
            region: "east",
            host: 1,
        },
        NodeSpec {
            name: "node-b",
            region: "east",
            host: 2,
        },
        NodeSpec {
            name: "intruder",
            region: "east",
            host: 3,
        },
        NodeSpec {
            name: "plain",
            region: "east",
            host: 4,
        },
    ];
    let plan = ClusterPlan::new(dir.path(), cql, specs, &cluster_tls);
    let nodes = plan.start_first(2).await;
    for node in &nodes {
        let view = cluster_view(node).await;
        assert_eq!(
            names_in(&view).len(),
            2,
            "both TLS nodes see each other: {view}"
        );
    }

    let _intruder = plan.start_with_extra(2, &other_tls).await;
    let _plain = plan.start_with_extra(3, "").await;
    // Several seed-dialing rounds of every node.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for node in &nodes {
        let view = cluster_view(node).await;
        let names = names_in(&view);
        assert_eq!(names.len(), 2, "{view}");
        assert!(
            !names
                .iter()
                .any(|name| name == "intruder" || name == "plain"),
            "{view}"
        );
    }
}
