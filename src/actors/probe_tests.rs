//! Each structural actor on its own, with probe actors standing in for the ones
//! it talks to and tokio's clock paused: a `Cell` reports idleness to its shard
//! only once its last member has been gone for the idle time; a `ZipShard` starts
//! cells on first entry and stops idle ones; `Placement` starts each shard once
//! and describes the node; the `NodeRouter` turns a peer's officer change into a
//! push to a local citizen, and sheds what a flooding peer sends beyond its
//! queue while still doing the rest.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::mpsc;

use super::cell::{Cell, CellArgs, CellMsg};
use super::messages::CellCommand;
use super::node_router::{NodeRouter, RouterArgs};
use super::officer_presence::OfficerMap;
use super::placement::{Placement, PlacementArgs, PlacementMsg};
use super::tests::{TIMES_SQUARE, node, north_of_times_square};
use super::zip_shard::{ZipShard, ZipShardArgs, ZipShardMsg};
use crate::cluster::link::ClusterLink;
use crate::cluster::wire::{OfficerReplica, RouterMsg, Wire, WireFrame, WireOfficer};
use crate::config::PresenceConfig;
use crate::domain::{AccountId, Role};
use crate::geo::{self, LatLng};
use crate::presence::index::PresenceIndex;
use crate::privacy::ShownPosition;

/// Forwards every message it gets to a channel.
struct Probe<M>(PhantomData<fn() -> M>);

impl<M: ractor::Message> Actor for Probe<M> {
    type Msg = M;
    type State = mpsc::UnboundedSender<M>;
    type Arguments = mpsc::UnboundedSender<M>;

    async fn pre_start(
        &self,
        _myself: ActorRef<M>,
        sender: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(sender)
    }

    async fn handle(
        &self,
        _myself: ActorRef<M>,
        message: M,
        sender: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let _test_done = sender.send(message);
        Ok(())
    }
}

async fn probe<M: ractor::Message>() -> (ActorRef<M>, mpsc::UnboundedReceiver<M>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let (actor, _handle) = Actor::spawn(None, Probe(PhantomData), sender)
        .await
        .unwrap();
    (actor, receiver)
}

fn cell_at((lat, lng): (f64, f64)) -> h3o::CellIndex {
    geo::cell_at(LatLng::new(lat, lng).unwrap(), h3o::Resolution::Eight)
}

const IDLE: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn a_cell_reports_idle_only_once_its_last_member_has_been_gone_for_the_idle_time() {
    let (shard, mut told) = probe::<ZipShardMsg>().await;
    let cell = cell_at(TIMES_SQUARE);
    let args = CellArgs {
        cell,
        idle_after: IDLE,
        shard,
    };
    let (actor, _handle) = Actor::spawn(None, Cell, args).await.unwrap();
    let someone = AccountId::random();
    actor
        .cast(CellMsg::Command(CellCommand::Enter(someone)))
        .unwrap();
    tokio::time::sleep(IDLE * 2).await;
    assert!(told.try_recv().is_err(), "a cell with a member is not idle");
    actor
        .cast(CellMsg::Command(CellCommand::Leave(someone)))
        .unwrap();
    tokio::time::sleep(IDLE - Duration::from_secs(1)).await;
    assert!(told.try_recv().is_err(), "not idle before the idle time");
    tokio::time::sleep(Duration::from_secs(2)).await;
    match told.try_recv() {
        Ok(ZipShardMsg::CellIdle {
            cell: idle,
            actor: reporter,
        }) => {
            assert_eq!(idle, cell);
            assert_eq!(reporter.get_id(), actor.get_id());
        }
        other => panic!("expected CellIdle, got {other:?}"),
    }
    let stopping = ractor::call_t!(actor, CellMsg::StopIfIdle, 1_000).unwrap();
    assert!(stopping, "an idle cell agrees to stop");
}

#[tokio::test(start_paused = true)]
async fn a_shard_starts_cells_on_first_entry_and_stops_the_idle_ones() {
    let args = ZipShardArgs {
        shard: geo::shard_for_cell(cell_at(TIMES_SQUARE)),
        cell_idle_after: IDLE,
    };
    let (shard, _handle) = Actor::spawn(None, ZipShard, args).await.unwrap();
    let (here, there) = (
        cell_at(TIMES_SQUARE),
        cell_at(north_of_times_square(2_000.0)),
    );
    let (first, second) = (AccountId::random(), AccountId::random());
    for (cell, account) in [(here, first), (there, second), (here, second)] {
        let command = CellCommand::Enter(account);
        shard.cast(ZipShardMsg::Route { cell, command }).unwrap();
    }
    let stats = ractor::call_t!(shard, ZipShardMsg::Stats, 1_000).unwrap();
    assert_eq!(stats.cells, 2, "one cell per H3 cell entered");
    let command = CellCommand::Leave(second);
    shard
        .cast(ZipShardMsg::Route {
            cell: there,
            command,
        })
        .unwrap();
    tokio::time::sleep(IDLE + Duration::from_secs(1)).await;
    let stats = ractor::call_t!(shard, ZipShardMsg::Stats, 1_000).unwrap();
    assert_eq!(
        stats.cells, 1,
        "the emptied cell stopped; the other lives on"
    );
}

#[tokio::test(start_paused = true)]
async fn placement_starts_each_shard_once_and_describes_this_node() {
    let link = Arc::new(ClusterLink::new("solo", "default", false, Vec::new()));
    let directory = Arc::new(DashMap::new());
    let args = PlacementArgs {
        link: link.clone(),
        directory: directory.clone(),
        officers: OfficerMap {
            index: Arc::new(PresenceIndex::new()),
            link,
            radius_m: 5_000.0,
        },
        sessions: Arc::new(DashMap::new()),
        cell_idle_after: IDLE,
        disconnect_grace: Duration::from_secs(30),
        cluster: None,
    };
    let (placement, _handle) = Actor::spawn(None, Placement, args).await.unwrap();
    let shard = geo::shard_for_cell(cell_at(TIMES_SQUARE));
    let ensure = |placement: ActorRef<PlacementMsg>| async move {
        ractor::call_t!(
            placement,
            |reply| PlacementMsg::EnsureShard { shard, reply },
            1_000
        )
        .unwrap()
        .unwrap()
    };
    let first = ensure(placement.clone()).await;
    let again = ensure(placement.clone()).await;
    assert_eq!(first.get_id(), again.get_id(), "a shard starts once");
    assert_eq!(directory.len(), 1, "and is published in the directory");
    let nodes = ractor::call_t!(placement, PlacementMsg::Nodes, 1_000).unwrap();
    assert_eq!(nodes.len(), 1);
    assert!(nodes[0].this_node && nodes[0].owner);
    assert_eq!(nodes[0].status.name, "solo");
    assert_eq!(nodes[0].status.shards, 1);
}

#[tokio::test(start_paused = true)]
async fn the_router_turns_a_peer_officer_into_a_push_to_a_local_citizen() {
    let mut node = node(PresenceConfig::default()).await;
    let mut citizen = node.connect(Role::Citizen, "Citizen").await;
    citizen.locate(TIMES_SQUARE);
    assert_eq!(citizen.expect_nearest().await, None);
    let (router, _handle) =
        Actor::spawn(None, NodeRouter, RouterArgs::new(node.runtime.services()))
            .await
            .unwrap();
    let shown = ShownPosition::of(LatLng::new(TIMES_SQUARE.0, TIMES_SQUARE.1).unwrap());
    let officer = WireOfficer {
        account_id: AccountId::random(),
        handle: "o_peer".to_owned(),
        display_name: "Officer 7".to_owned(),
        lat: shown.point().lat(),
        lng: shown.point().lng(),
        available_until_ms: i64::MAX,
        version: 1,
        home: "peer".to_owned(),
    };
    let frame = WireFrame::encode(&Wire::Replica(OfficerReplica::Upsert(officer)));
    router.cast(RouterMsg::Frame(frame)).unwrap();
    let seen = citizen.expect_nearest().await.expect("the peer's officer");
    assert_eq!(&*seen.handle, "o_peer");
    assert_eq!(&*seen.display_name, "Officer 7");
    router.stop(None);
}

#[tokio::test]
async fn a_flooding_peer_is_shed_beyond_the_routers_queue_and_the_router_keeps_working() {
    const FLOOD: usize = 20_000;
    const CAPACITY: usize = 64;
    let mut node = node(PresenceConfig::default()).await;
    let mut citizen = node.connect(Role::Citizen, "Citizen").await;
    citizen.locate(TIMES_SQUARE);
    assert_eq!(citizen.expect_nearest().await, None);
    let args = RouterArgs::with_capacity(node.runtime.services(), CAPACITY);
    let intake = args.intake();
    let (router, _handle) = Actor::spawn(None, NodeRouter, args).await.unwrap();
    // Pushes for people this node does not hold, as fast as casts go: the
    // mailbox takes them all at once, the router offers each to its queue.
    let nobody = WireFrame::encode(&Wire::Push {
        account_id: AccountId::random(),
        message: crate::proto::ServerMessage::Nearest { officer: None },
        origin: "peer".to_owned(),
    });
    for _ in 0..FLOOD {
        router.cast(RouterMsg::Frame(nobody.clone())).unwrap();
    }
    // The flood is over once the router has offered every frame: then a
    // frame sent after it reaches the citizen.
    let shown = ShownPosition::of(LatLng::new(TIMES_SQUARE.0, TIMES_SQUARE.1).unwrap());
    let officer = WireOfficer {
        account_id: AccountId::random(),
        handle: "o_after_flood".to_owned(),
        display_name: "Officer 8".to_owned(),
        lat: shown.point().lat(),
        lng: shown.point().lng(),
        available_until_ms: i64::MAX,
        version: 1,
        home: "peer".to_owned(),
    };
    let replica = WireFrame::encode(&Wire::Replica(OfficerReplica::Upsert(officer)));
    let mut seen = None;
    for _ in 0..50 {
        router.cast(RouterMsg::Frame(replica.clone())).unwrap();
        if let Ok(Some(view)) =
            tokio::time::timeout(Duration::from_millis(100), citizen.expect_nearest()).await
        {
            seen = Some(view);
            break;
        }
    }
    let seen = seen.expect("the router still works after the flood");
    assert_eq!(&*seen.handle, "o_after_flood");
    let shed = usize::try_from(intake.shed()).unwrap();
    assert!(shed > 0, "a flood beyond the queue is shed");
    assert!(shed <= FLOOD, "only flood frames were shed ({shed})");
    router.stop(None);
}
