//! Three real nodes (separate processes on 127.0.0.1-3, one shared CQL
//! keyspace): the route endpoint sends clients to the owner of their area, a
//! citizen on one node sees an officer on another across a shard border owned
//! by two nodes, a killed node's shards move within 5 s and answers recover, an
//! officer reconnecting within the grace keeps the window, a drain hands off
//! without a gap, region pinning holds, and an accept racing a node's death
//! credits once.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{
    ClusterNode, ClusterPlan, NodeSpec, cluster_view, cql_node, route, wait_for_peers,
};
use common::ws::{Format, WsClient, location, nearest_until};
use serde_json::{Value, json};

/// Jersey City, by Exchange Place (shard 073).
const OFFICER_AT: (f64, f64) = (40.716_3, -74.033_5);
/// Battery Park City, across the Hudson (shard 102), about 1.6 km away.
const CITIZEN_AT: (f64, f64) = (40.711_5, -74.016_0);
/// A second officer, in Battery Park City.
const SECOND_OFFICER_AT: (f64, f64) = (40.710_0, -74.015_0);

fn three_nodes() -> Vec<NodeSpec> {
    vec![
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
            name: "node-c",
            region: "east",
            host: 3,
        },
    ]
}

/// Grace short enough for a test to outlive it.
const GRACE_TOML: &str = "\n[presence]\ndisconnect_grace_seconds = 4\n";

struct People {
    officer: String,
    second_officer: String,
    citizen: String,
    bystander: String,
}

async fn sign_in_people(node: &ClusterNode) -> People {
    let response = node
        .api
        .import_roster(
            "phone,display_name,badge,department\n+12015550101,Officer Diaz,1,JCPD\n+12125550102,Officer Kim,2,NYPD\n",
        )
        .await;
    assert_eq!(response.status(), 200);
    let token = |body: Value| body["access_token"].as_str().unwrap().to_owned();
    People {
        officer: token(node.api.sign_in("+12015550101").await),
        second_officer: token(node.api.sign_in("+12125550102").await),
        citizen: token(node.api.sign_in("+12125550103").await),
        bystander: token(node.api.sign_in("+12125550104").await),
    }
}

async fn connect(url: &str, token: &str) -> WsClient {
    let mut client = WsClient::connect(url, Some(token), Format::Json)
        .await
        .expect("upgrade accepted");
    assert_eq!(client.next_message().await["t"], "welcome");
    client
}

async fn available_officer(url: &str, token: &str, at: (f64, f64)) -> WsClient {
    let mut officer = connect(url, token).await;
    officer.send(location(at)).await;
    officer.send(json!({ "t": "go_available" })).await;
    officer.next_of("availability").await;
    officer
}

fn node_named<'a>(nodes: &'a [ClusterNode], name: &str) -> &'a ClusterNode {
    nodes
        .iter()
        .find(|node| node.name == name)
        .expect("a node of that name")
}

fn index_of(nodes: &[ClusterNode], name: &str) -> usize {
    nodes
        .iter()
        .position(|node| node.name == name)
        .expect("a node of that name")
}

/// The node `/v1/route` (asked on `asked`) names for a point, and its ws URL.
async fn owner_at(asked: &ClusterNode, token: &str, at: (f64, f64)) -> (String, String, String) {
    let answer = route(asked, token, at).await;
    (
        answer["node"].as_str().unwrap().to_owned(),
        answer["ws_url"].as_str().unwrap().to_owned(),
        answer["shard"].as_str().unwrap().to_owned(),
    )
}

/// Three nodes, people signed in, and the owners of the officer's and the
/// citizen's areas, two different nodes. Fields drop in order: the nodes stop,
/// then the plan drops the keyspace, then the directory goes.
struct Split {
    nodes: Vec<ClusterNode>,
    people: People,
    officer_owner: String,
    officer_url: String,
    officer_shard: String,
    citizen_owner: String,
    citizen_url: String,
    plan: ClusterPlan,
    _dir: tempfile::TempDir,
}

/// Starts a [`Split`] cluster with `extra_toml`; `None` without a CQL node.
async fn split_cluster(extra_toml: &str) -> Option<Split> {
    let cql = cql_node()?;
    let dir = tempfile::tempdir().unwrap();
    let plan = ClusterPlan::new(dir.path(), cql, three_nodes(), extra_toml);
    let nodes = plan.start_all().await;
    let people = sign_in_people(&nodes[0]).await;
    let (officer_owner, officer_url, officer_shard) =
        owner_at(&nodes[0], &people.officer, OFFICER_AT).await;
    let (citizen_owner, citizen_url, _) = owner_at(&nodes[0], &people.citizen, CITIZEN_AT).await;
    assert_ne!(officer_owner, citizen_owner, "two nodes own the two areas");
    Some(Split {
        nodes,
        people,
        officer_owner,
        officer_url,
        officer_shard,
        citizen_owner,
        citizen_url,
        plan,
        _dir: dir,
    })
}

impl Split {
    /// The officer available on the owner of its area, the citizen on the
    /// owner of its own, and the citizen's first answer naming the officer.
    async fn meet(&self) -> (WsClient, WsClient, Value) {
        let officer = available_officer(&self.officer_url, &self.people.officer, OFFICER_AT).await;
        let mut citizen = connect(&self.citizen_url, &self.people.citizen).await;
        citizen.send(location(CITIZEN_AT)).await;
        let seen = nearest_until(&mut citizen, |officer| !officer.is_null()).await;
        (officer, citizen, seen)
    }

    /// Index of the node named `name`.
    fn index_of(&self, name: &str) -> usize {
        index_of(&self.nodes, name)
    }
}

/// The `until_ms` of the window an officer was given.
fn window_end(officer: &WsClient) -> Value {
    officer
        .received
        .iter()
        .find(|m| m["t"] == "availability")
        .expect("the officer got its window")["until_ms"]
        .clone()
}

/// Whether a citizen was ever told there is no officer.
fn ever_lost_the_officer(citizen: &WsClient) -> bool {
    citizen
        .received
        .iter()
        .any(|m| m["t"] == "nearest" && m["officer"].is_null())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_and_nearest_work_across_nodes_and_shard_borders() {
    let Some(cql) = cql_node() else { return };
    let dir = tempfile::tempdir().unwrap();
    let plan = ClusterPlan::new(dir.path(), cql, three_nodes(), GRACE_TOML);
    let nodes = plan.start_all().await;
    let people = sign_in_people(&nodes[0]).await;

    let (officer_owner, officer_url, officer_shard) =
        owner_at(&nodes[1], &people.officer, OFFICER_AT).await;
    let (citizen_owner, citizen_url, citizen_shard) =
        owner_at(&nodes[2], &people.citizen, CITIZEN_AT).await;
    assert_ne!(
        officer_shard, citizen_shard,
        "the two points are in different shards"
    );
    assert_ne!(officer_owner, citizen_owner, "two nodes own the two shards");
    for node in &nodes {
        let (owner, url, _) = owner_at(node, &people.officer, OFFICER_AT).await;
        assert_eq!(owner, officer_owner, "{} agrees on the owner", node.name);
        assert_eq!(
            url,
            node_named(&nodes, &officer_owner).ws_url(),
            "route sends to the owner's socket"
        );
    }

    let mut officer = available_officer(&officer_url, &people.officer, OFFICER_AT).await;
    let mut citizen = connect(&citizen_url, &people.citizen).await;
    citizen.send(location(CITIZEN_AT)).await;
    let seen = nearest_until(&mut citizen, |officer| !officer.is_null()).await;
    assert_eq!(seen["display_name"], "Officer Diaz", "{seen}");

    // A citizen on the third node, which owns neither shard, sees the same officer.
    let third = nodes
        .iter()
        .find(|node| node.name != officer_owner && node.name != citizen_owner)
        .unwrap();
    let mut bystander = connect(&third.ws_url(), &people.bystander).await;
    bystander.send(location(CITIZEN_AT)).await;
    let seen_there = nearest_until(&mut bystander, |officer| !officer.is_null()).await;
    assert_eq!(seen_there["handle"], seen["handle"]);

    // A closer officer on the citizen's own node replaces the first one, and
    // when it leaves, the officer across the border is the answer again.
    let mut second =
        available_officer(&citizen_url, &people.second_officer, SECOND_OFFICER_AT).await;
    let closer = nearest_until(&mut citizen, |officer| {
        officer["display_name"] == "Officer Kim"
    })
    .await;
    assert_ne!(closer["handle"], seen["handle"]);
    second.send(json!({ "t": "go_unavailable" })).await;
    let back = nearest_until(&mut citizen, |officer| {
        officer["display_name"] == "Officer Diaz"
    })
    .await;
    assert_eq!(back["handle"], seen["handle"]);

    // The officer moving is pushed to the citizen on the other node.
    officer.send(location((40.714_0, -74.030_0))).await;
    nearest_until(&mut citizen, |officer| {
        officer["display_name"] == "Officer Diaz" && moved_from(officer, &seen)
    })
    .await;

    let view = cluster_view(&nodes[0]).await;
    assert_eq!(view["nodes"].as_array().unwrap().len(), 3, "{view}");
    let metrics = nodes[2].api.scrape_metrics().await;
    assert!(metrics.contains("heyblue_cluster_nodes_up 3"), "{metrics}");
    assert!(
        metrics.contains("heyblue_cluster_messages_received_total{kind=\"replica\"}"),
        "officer changes reached the third node"
    );
    let sessions: u64 = view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["sessions"].as_u64().unwrap())
        .sum();
    assert!(sessions >= 1, "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_replaced_within_five_seconds_and_officers_keep_their_window() {
    let Some(mut split) = split_cluster(GRACE_TOML).await else {
        return;
    };
    // The first officer's session lives on the node that will die; the second
    // officer's session lives on the citizen's node but its shard is owned by
    // the node that will die.
    let (officer, mut citizen, before) = split.meet().await;
    let until = window_end(&officer);
    let mut second = available_officer(
        &split.citizen_url,
        &split.people.second_officer,
        (40.716_0, -74.034_0),
    )
    .await;

    let doomed = split.index_of(&split.officer_owner);
    split.nodes[doomed].kill();
    let killed_at = Instant::now();
    let survivor = node_named(&split.nodes, &split.citizen_owner);
    loop {
        let (owner, _, shard) = owner_at(survivor, &split.people.citizen, OFFICER_AT).await;
        assert_eq!(shard, split.officer_shard);
        if owner != split.officer_owner {
            break;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(5),
            "shards not re-placed within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("shards re-placed {:?} after the kill", killed_at.elapsed());

    // The second officer re-registered with the new owner: its moves reach the citizen.
    // 390 m north of the citizen: shown 361 m away, the 500 m band (250 m before).
    second.send(location((40.715_0, -74.016_0))).await;
    let moved = nearest_until(&mut citizen, |officer| {
        officer["display_name"] == "Officer Kim" && officer["distance_band_m"] == 500
    })
    .await;
    assert_eq!(moved["display_name"], "Officer Kim");
    second.send(json!({ "t": "go_unavailable" })).await;
    let diaz = nearest_until(&mut citizen, |officer| {
        officer["display_name"] == "Officer Diaz"
    })
    .await;
    assert_eq!(
        diaz["handle"], before["handle"],
        "the lost node's officer stays during the grace"
    );

    // The officer of the dead node reconnects through the route within the grace:
    // same window, same handle, and moves reach the citizen again.
    let (_, new_url, _) = owner_at(survivor, &split.people.officer, OFFICER_AT).await;
    let mut back = connect(&new_url, &split.people.officer).await;
    let availability = back.next_of("availability").await;
    assert_eq!(availability["until_ms"], until, "the window was kept");
    back.send(location((40.713_0, -74.029_0))).await;
    let after = nearest_until(&mut citizen, |officer| {
        officer["display_name"] == "Officer Diaz" && moved_from(officer, &diaz)
    })
    .await;
    assert_eq!(after["handle"], before["handle"]);
    assert!(
        !ever_lost_the_officer(&citizen),
        "the citizen never lost the officer: {:?}",
        citizen.received
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_who_does_not_come_back_leaves_the_map_after_the_grace() {
    let Some(mut split) = split_cluster(GRACE_TOML).await else {
        return;
    };
    let (_officer, mut citizen, _) = split.meet().await;
    let doomed = split.index_of(&split.officer_owner);
    split.nodes[doomed].kill();
    let killed_at = Instant::now();
    let gone = citizen.next_of("nearest").await;
    assert!(gone["officer"].is_null(), "{gone}");
    let waited = killed_at.elapsed();
    assert!(
        waited >= Duration::from_secs(3),
        "removed before the grace: {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_hands_off_and_sends_clients_elsewhere_without_a_gap() {
    let Some(mut split) = split_cluster(GRACE_TOML).await else {
        return;
    };
    let (mut officer, mut citizen, before) = split.meet().await;
    let until = window_end(&officer);
    let draining = split.index_of(&split.officer_owner);
    let (exit, close) = tokio::join!(split.nodes[draining].terminate(), officer.expect_close());
    assert_eq!(close, Some(4010), "clients are told to reconnect elsewhere");
    assert!(exit.success(), "the drained node exits cleanly: {exit:?}");

    let survivor = node_named(&split.nodes, &split.citizen_owner);
    let (new_owner, new_url, _) = owner_at(survivor, &split.people.officer, OFFICER_AT).await;
    assert_ne!(new_owner, split.officer_owner);
    let mut back = connect(&new_url, &split.people.officer).await;
    assert_eq!(back.next_of("availability").await["until_ms"], until);
    back.send(location((40.713_0, -74.029_0))).await;
    nearest_until(&mut citizen, |officer| {
        officer["handle"] == before["handle"] && moved_from(officer, &before)
    })
    .await;
    assert!(
        !ever_lost_the_officer(&citizen),
        "no push lost the officer during the drain: {:?}",
        citizen.received
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_of_a_region_stay_on_its_nodes_while_one_lives() {
    let Some(cql) = cql_node() else { return };
    let dir = tempfile::tempdir().unwrap();
    let specs = vec![
        NodeSpec {
            name: "east-1",
            region: "east",
            host: 1,
        },
        NodeSpec {
            name: "east-2",
            region: "east",
            host: 2,
        },
        NodeSpec {
            name: "west-1",
            region: "west",
            host: 3,
        },
    ];
    let regions = "\n[[regions]]\nname = \"east\"\nzip_prefixes = [\"0\", \"1\", \"2\"]\n\n[[regions]]\nname = \"west\"\nzip_prefixes = [\"8\", \"9\"]\n";
    let plan = ClusterPlan::new(dir.path(), cql, specs, regions);
    let mut nodes = plan.start_all().await;
    let token = nodes[0].api.sign_in("+12125550199").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // One point per ZIP prefix digit of each region (any ZIP's centroid will do).
    let east = ["10001", "02108", "20001", "07302", "11201", "19103"];
    let west = ["94103", "90012", "98101", "80202", "85004", "97201"];
    let mut east_owners = std::collections::HashSet::new();
    for zip in east {
        let owner = owner_of_zip(&nodes[0], &token, zip).await;
        assert!(owner.starts_with("east-"), "{zip} owned by {owner}");
        east_owners.insert(owner);
    }
    for zip in west {
        assert_eq!(
            owner_of_zip(&nodes[0], &token, zip).await,
            "west-1",
            "{zip}"
        );
    }
    assert_eq!(east_owners.len(), 2, "both east nodes own east shards");
    let admin = cluster_view(&nodes[0]).await;
    assert_eq!(admin["regions"]["west"], json!(["8", "9"]), "{admin}");

    // With the west node gone, its shards fall back to the east nodes.
    nodes[2].kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if owner_of_zip(&nodes[0], &token, "94103")
            .await
            .starts_with("east-")
        {
            break;
        }
        assert!(Instant::now() < deadline, "west shards were not re-placed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The node `/v1/route` names for a ZIP.
async fn owner_of_zip(node: &ClusterNode, token: &str, zip: &str) -> String {
    node.api
        .get_json(&format!("/v1/route?lat=40&lng=-75&zip={zip}"), token)
        .await["node"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Whether the officer's shown cell centre differs from an earlier answer's.
fn moved_from(officer: &Value, earlier: &Value) -> bool {
    officer["approx_lat"] != earlier["approx_lat"] || officer["approx_lng"] != earlier["approx_lng"]
}

/// Request radius and co-location threshold wide enough for the two sides of
/// the Hudson.
const WIDE_REQUESTS_TOML: &str = "\n[presence]\ndisconnect_grace_seconds = 4\nnearby_threshold_meters = 3000\n\n[connections]\nrequest_radius_meters = 3000\n";

/// The citizen of a [`Split`] requests its officer on the other node; returns
/// both sockets and the request id (the request lives on the citizen's node).
async fn cross_node_request(split: &Split) -> (WsClient, WsClient, String) {
    let (mut officer, mut citizen, shown) = split.meet().await;
    citizen
        .send(json!({ "t": "request_connection", "officer": shown["handle"], "op_id": "op-1" }))
        .await;
    let ack = citizen.next_of("request_update").await;
    assert_eq!(ack["state"], "pending", "{ack}");
    let request_id = ack["request_id"].as_str().unwrap().to_owned();
    let notice = officer.next_of("connection_requested").await;
    assert_eq!(notice["request_id"], request_id.as_str());
    (officer, citizen, request_id)
}

/// `(connection records, ledger entries for them, balance)` of a person, read on `node`.
async fn credits(node: &ClusterNode, token: &str) -> (usize, usize, i64) {
    let connections = node.api.get_json("/v1/me/connections", token).await;
    let points = node.api.get_json("/v1/me/points", token).await;
    (
        connections["connections"].as_array().unwrap().len(),
        points["entries"].as_array().unwrap().len(),
        points["balance"].as_i64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_connects_with_an_officer_on_another_node() {
    let Some(split) = split_cluster(WIDE_REQUESTS_TOML).await else {
        return;
    };
    let (mut officer, mut citizen, request_id) = cross_node_request(&split).await;
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    assert_eq!(
        citizen.next_of("connection_established").await["connection_id"],
        request_id.as_str()
    );
    assert_eq!(
        officer.next_of("connection_established").await["connection_id"],
        request_id.as_str()
    );
    // A retried accept crosses nodes too, and credits nothing more.
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    assert_eq!(officer.next_of("error").await["code"], "unknown_request");
    for node in &split.nodes {
        for token in [&split.people.officer, &split.people.citizen] {
            assert_eq!(credits(node, token).await, (1, 1, 10), "{}", node.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_racing_the_death_of_its_node_credits_once() {
    let Some(mut split) = split_cluster(WIDE_REQUESTS_TOML).await else {
        return;
    };
    let (mut officer, _citizen, request_id) = cross_node_request(&split).await;
    // The accept leaves, and the node holding the request dies at once: the
    // connection may be written in part, in full, or not at all.
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    let doomed = split.index_of(&split.citizen_owner);
    split.nodes[doomed].kill();
    // The officer retries against the cluster as it is now.
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    // The node comes back (its recovery pass finishes incomplete records at start).
    split.nodes[doomed] = split.plan.start(doomed).await;
    let reader = &split.nodes[(doomed + 1) % split.nodes.len()];
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let officer_side = credits(reader, &split.people.officer).await;
        let citizen_side = credits(reader, &split.people.citizen).await;
        assert!(
            officer_side.0 <= 1 && officer_side.1 <= 1,
            "doubled: {officer_side:?}"
        );
        assert!(
            citizen_side.0 <= 1 && citizen_side.1 <= 1,
            "doubled: {citizen_side:?}"
        );
        let consistent = |(records, entries, balance): (usize, usize, i64)| {
            records == entries && balance == 10 * entries as i64
        };
        if consistent(officer_side) && consistent(citizen_side) && officer_side.0 == citizen_side.0
        {
            eprintln!("after the race: {} connection(s)", officer_side.0);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never consistent: {officer_side:?} {citizen_side:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_revoked_on_one_node_closes_the_socket_held_on_another() {
    let Some(cql) = cql_node() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut specs = three_nodes();
    specs.truncate(2);
    let plan = ClusterPlan::new(dir.path(), cql, specs, "");
    let nodes = plan.start_all().await;
    wait_for_peers(&nodes[0], 2).await;
    wait_for_peers(&nodes[1], 2).await;
    let signed_in = nodes[0].api.sign_in("+12125550105").await;
    let access = signed_in["access_token"].as_str().unwrap();
    let refresh = json!({ "refresh_token": signed_in["refresh_token"] });
    let mut socket = connect(&nodes[1].ws_url(), access).await;
    socket.send(json!({ "t": "ping" })).await;
    assert_eq!(socket.next_of("pong").await["t"], "pong");
    let rotated = nodes[0]
        .api
        .post_json("/v1/auth/refresh", refresh.clone())
        .await;
    assert_eq!(rotated.status(), 200);
    let reused_at = Instant::now();
    let reused = nodes[0].api.post_json("/v1/auth/refresh", refresh).await;
    assert_eq!(reused.status(), 401);
    assert_eq!(socket.expect_close().await, Some(4011));
    let closed_after = reused_at.elapsed();
    eprintln!("socket on node-b closed {closed_after:?} after the reuse on node-a");
    assert!(closed_after < Duration::from_secs(1), "{closed_after:?}");

    // An administrator disabling an account on node-a closes its socket on node-b.
    let signed_in = nodes[0].api.sign_in("+12125550106").await;
    let access = signed_in["access_token"].as_str().unwrap();
    let account_id = signed_in["account_id"].as_str().unwrap();
    let mut socket = connect(&nodes[1].ws_url(), access).await;
    socket.send(json!({ "t": "ping" })).await;
    assert_eq!(socket.next_of("pong").await["t"], "pong");
    let disabled_at = Instant::now();
    let disabled = nodes[0]
        .api
        .http
        .post(
            nodes[0]
                .api
                .url(&format!("/v1/admin/accounts/{account_id}/disable")),
        )
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(socket.expect_close().await, Some(4011));
    let closed_after = disabled_at.elapsed();
    eprintln!("socket on node-b closed {closed_after:?} after the disable on node-a");
    assert!(closed_after < Duration::from_secs(1), "{closed_after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_the_wrong_cookie_is_refused_and_logged() {
    let Some(cql) = cql_node() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut specs = three_nodes();
    specs.truncate(2);
    specs.push(NodeSpec {
        name: "intruder",
        region: "east",
        host: 4,
    });
    let plan = ClusterPlan::new(dir.path(), cql, specs, "");
    let nodes = plan.start_first(2).await;
    let _intruder = plan.start_with_cookie(2, "not-the-cookie").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for node in &nodes {
        let view = cluster_view(node).await;
        let names: Vec<&str> = view["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"intruder"), "{view}");
        assert_eq!(names.len(), 2, "{view}");
    }
    let logs = plan.log_of("node-a") + &plan.log_of("node-b");
    assert!(logs.contains("wrong cookie"), "the refusal is logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_keeps_every_connection_and_credit() {
    let Some(cql) = cql_node() else { return };
    let dir = tempfile::tempdir().unwrap();
    let plan = ClusterPlan::new(dir.path(), cql, three_nodes(), GRACE_TOML);
    let mut nodes = plan.start_all().await;
    let roster: String = (0..4)
        .map(|pair| format!("+1212555020{pair},Officer {pair},{pair},NYPD\n"))
        .collect();
    let response = nodes[0]
        .api
        .import_roster(&format!("phone,display_name,badge,department\n{roster}"))
        .await;
    assert_eq!(response.status(), 200);
    let mut pairs = Vec::new();
    for pair in 0..4 {
        let token = |body: Value| body["access_token"].as_str().unwrap().to_owned();
        pairs.push((
            token(nodes[0].api.sign_in(&format!("+1212555020{pair}")).await),
            token(nodes[0].api.sign_in(&format!("+1212555030{pair}")).await),
        ));
    }
    // One connection per pair: before the restarts, and after each node's drain
    // and return, with the sessions of the next pair open while the node drains.
    for (pair, (officer_token, citizen_token)) in pairs.iter().enumerate() {
        let asked = &nodes[(pair + 1) % nodes.len()];
        let (_, url, _) = owner_at(asked, citizen_token, CITIZEN_AT).await;
        let spot = (CITIZEN_AT.0 + 0.000_5 * pair as f64, CITIZEN_AT.1);
        let mut officer = available_officer(&url, officer_token, spot).await;
        let mut citizen = connect(&url, citizen_token).await;
        citizen.send(location(spot)).await;
        let shown = nearest_until(&mut citizen, |officer| {
            officer["display_name"] == format!("Officer {pair}").as_str()
        })
        .await;
        citizen
            .send(json!({ "t": "request_connection", "officer": shown["handle"], "op_id": "op" }))
            .await;
        let request_id = officer.next_of("connection_requested").await["request_id"].clone();
        officer
            .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
            .await;
        assert_eq!(
            citizen.next_of("connection_established").await["points"],
            10
        );
        if pair < nodes.len() {
            let status = nodes[pair].terminate().await;
            assert!(
                status.success(),
                "{} drained cleanly: {status:?}",
                nodes[pair].name
            );
            nodes[pair] = plan.start(pair).await;
            for node in &nodes {
                common::cluster::wait_for_peers(node, nodes.len()).await;
            }
        }
    }
    for (officer_token, citizen_token) in &pairs {
        for node in &nodes {
            assert_eq!(
                credits(node, officer_token).await,
                (1, 1, 10),
                "{}",
                node.name
            );
            assert_eq!(
                credits(node, citizen_token).await,
                (1, 1, 10),
                "{}",
                node.name
            );
        }
    }
}
