//! A citizen who spoofs its position tries to locate an officer, as an attacker
//! with one ordinary account and a script would: it walks lines through the
//! officer's shown cell and binary-searches every edge it can observe — the
//! distance band of `nearest`, the `nearby` alert, the `out_of_range` answer to
//! `request_connection` — then solves for the centre of each circle; with two
//! officers it finds the line where "nearest" switches and reflects the officer it
//! knows across it. Each estimate must land far from the officer's true point
//! (placed 110 m from its cell centre): the attacker learns the cell, no more.
//!
//! The server's own limits (plausible speed, request caps, pacing) are opened up
//! here, so the test checks the geometry alone, not the rate limits.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{Format, Frame, WsClient, location};
use serde_json::{Value, json};

/// Limits opened up so the attack runs in seconds; the privacy must not rest on them.
const OPEN_LIMITS: &str = "[presence]\nlocation_min_interval_ms = 20\ncontrol_messages_per_minute = 1000000\nmax_plausible_speed_mps = 1000000.0\n[connections]\nrequest_cooldown_seconds = 0\nmax_requests_per_hour = 1000000\n";

/// How far the officer stands from its cell's centre.
const OFFICER_OFFSET_M: f64 = 110.0;
/// An estimate closer than this to the officer would be a leak.
const LEAK_RADIUS_M: f64 = 40.0;
/// Binary-search steps per edge (1,000 m / 2^11 ≈ 0.5 m).
const SEARCH_STEPS: usize = 11;
/// Metres per degree of latitude.
const METRES_PER_DEGREE: f64 = 111_195.0;

/// A point in metres east and north of a local origin.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Local {
    east: f64,
    north: f64,
}

impl Local {
    fn along(self, direction: Local, metres: f64) -> Local {
        Local {
            east: self.east + direction.east * metres,
            north: self.north + direction.north * metres,
        }
    }

    fn minus(self, other: Local) -> Local {
        Local {
            east: self.east - other.east,
            north: self.north - other.north,
        }
    }

    fn dot(self, other: Local) -> f64 {
        self.east * other.east + self.north * other.north
    }

    fn length(self) -> f64 {
        self.dot(self).sqrt()
    }

    fn negated(self) -> Local {
        Local {
            east: -self.east,
            north: -self.north,
        }
    }

    fn unit(self) -> Local {
        let length = self.length();
        Local {
            east: self.east / length,
            north: self.north / length,
        }
    }

    fn bearing(degrees: f64) -> Local {
        let radians = degrees.to_radians();
        Local {
            east: radians.sin(),
            north: radians.cos(),
        }
    }
}

/// The tangent plane around an origin (errors well under a metre at 1 km).
#[derive(Debug, Clone, Copy)]
struct Plane {
    origin: (f64, f64),
}

impl Plane {
    fn to_degrees(self, point: Local) -> (f64, f64) {
        let (lat, lng) = self.origin;
        (
            lat + point.north / METRES_PER_DEGREE,
            lng + point.east / (METRES_PER_DEGREE * lat.to_radians().cos()),
        )
    }

    fn to_local(self, (lat, lng): (f64, f64)) -> Local {
        let (origin_lat, origin_lng) = self.origin;
        Local {
            east: (lng - origin_lng) * METRES_PER_DEGREE * origin_lat.to_radians().cos(),
            north: (lat - origin_lat) * METRES_PER_DEGREE,
        }
    }
}

/// The centre of the resolution-9 cell containing a point.
fn cell_centre((lat, lng): (f64, f64)) -> (f64, f64) {
    let cell = h3o::LatLng::new(lat, lng)
        .unwrap()
        .to_cell(h3o::Resolution::Nine);
    let centre = h3o::LatLng::from(cell);
    (centre.lat(), centre.lng())
}

fn same_cell(first: (f64, f64), second: (f64, f64)) -> bool {
    cell_centre(first) == cell_centre(second)
}

/// The point that fits `direction · centre = offset` best over every line.
fn least_squares(lines: &[(Local, f64)]) -> Local {
    let (mut xx, mut xy, mut yy, mut bx, mut by) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (direction, offset) in lines {
        xx += direction.east * direction.east;
        xy += direction.east * direction.north;
        yy += direction.north * direction.north;
        bx += direction.east * offset;
        by += direction.north * offset;
    }
    let determinant = xx * yy - xy * xy;
    Local {
        east: (bx * yy - by * xy) / determinant,
        north: (by * xx - bx * xy) / determinant,
    }
}

/// What the attacker's socket has been told.
struct Attacker {
    socket: WsClient,
    plane: Plane,
    /// The server's location interval (from `welcome`), waited after each fix.
    interval: Duration,
    /// The last `nearest` answer's officer (null when none).
    nearest: Value,
}

impl Attacker {
    async fn connect(server: &TestServer, token: &str, plane: Plane) -> Self {
        let url = server.base_url.replace("http://", "ws://") + "/v1/ws";
        let mut socket = WsClient::connect(&url, Some(token), Format::Json)
            .await
            .expect("upgrade accepted");
        let welcome = socket.next_of("welcome").await;
        let interval = Duration::from_millis(welcome["location_interval_ms"].as_u64().unwrap());
        Self {
            socket,
            plane,
            interval,
            nearest: Value::Null,
        }
    }

    /// Sends a control message, waiting out `rate_limited` answers.
    async fn send_control(
        &mut self,
        message: Value,
        mut answered_by: impl FnMut(&Value) -> bool,
    ) -> Value {
        loop {
            self.socket.send(message.clone()).await;
            loop {
                let received = match self.socket.next_within(Duration::from_secs(10)).await {
                    Frame::Message(received) => received,
                    other => panic!("attacker socket ended: {other:?}"),
                };
                self.note(&received);
                if received["t"] == "error" && received["code"] == "rate_limited" {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
                if answered_by(&received) {
                    return received;
                }
            }
        }
    }

    fn note(&mut self, received: &Value) {
        if received["t"] == "nearest" {
            self.nearest = received["officer"].clone();
        }
    }

    /// Reports a position and reads everything it caused (up to a `pong`);
    /// returns whether a `nearby` alert was among it.
    async fn stand_at(&mut self, point: Local) -> bool {
        self.socket
            .send(location(self.plane.to_degrees(point)))
            .await;
        // The server handles one fix per interval; wait so this one is not
        // replaced by the next, then let a ping mark the end of its answers.
        tokio::time::sleep(self.interval + Duration::from_millis(10)).await;
        let mut nearby = false;
        self.send_control(json!({ "t": "ping" }), |received| {
            if received["t"] == "nearby" {
                nearby = true;
            }
            received["t"] == "pong"
        })
        .await;
        nearby
    }

    fn nearest_name(&self) -> Option<String> {
        self.nearest["display_name"].as_str().map(str::to_owned)
    }

    fn nearest_band(&self) -> u64 {
        self.nearest["distance_band_m"]
            .as_u64()
            .expect("an officer is shown")
    }

    /// Whether a request from `point` is admitted (then cancelled) rather than
    /// `out_of_range`.
    async fn in_request_range(&mut self, point: Local, count: &mut u64) -> bool {
        self.stand_at(point).await;
        let handle = self.nearest["handle"]
            .as_str()
            .expect("a handle")
            .to_owned();
        *count += 1;
        let op_id = format!("probe-{count}");
        let update = self
            .send_control(
                json!({ "t": "request_connection", "officer": handle, "op_id": op_id }),
                |received| received["t"] == "request_update" && received["op_id"] == op_id.as_str(),
            )
            .await;
        match update["state"].as_str() {
            Some("pending") => {
                let request_id = update["request_id"].clone();
                self.send_control(
                    json!({ "t": "cancel_request", "request_id": request_id }),
                    |received| {
                        received["t"] == "request_update"
                            && received["request_id"] == request_id
                            && received["state"] == "cancelled"
                    },
                )
                .await;
                true
            }
            Some("out_of_range") => false,
            other => panic!("unexpected request state {other:?}: {update}"),
        }
    }
}

/// Which observable edge a search walks.
#[derive(Debug, Clone, Copy)]
enum Edge {
    /// `distance_band_m` ≤ 500 versus above.
    Band500,
    /// A `nearby` alert on arrival (after standing far away to re-arm it).
    Nearby,
    /// `request_connection` admitted versus `out_of_range`.
    RequestRange,
}

/// Whether `point` is inside the edge's circle, as the attacker observes it.
async fn inside(attacker: &mut Attacker, edge: Edge, point: Local, requests: &mut u64) -> bool {
    match edge {
        Edge::Band500 => {
            attacker.stand_at(point).await;
            attacker.nearest_band() <= 500
        }
        Edge::Nearby => {
            // Far enough from any point of the cell to re-arm the alert.
            attacker
                .stand_at(Local {
                    east: 0.0,
                    north: -900.0,
                })
                .await;
            attacker.stand_at(point).await
        }
        Edge::RequestRange => attacker.in_request_range(point, requests).await,
    }
}

/// Walks out from `centre` along `direction` and returns how far the edge is.
async fn edge_distance(
    attacker: &mut Attacker,
    edge: Edge,
    centre: Local,
    direction: Local,
    requests: &mut u64,
) -> f64 {
    let (mut inner, mut outer) = (0.0, 1_000.0);
    assert!(
        inside(attacker, edge, centre, requests).await,
        "{edge:?}: inside at the centre"
    );
    assert!(
        !inside(attacker, edge, centre.along(direction, outer), requests).await,
        "{edge:?}: outside 1 km away"
    );
    for _ in 0..SEARCH_STEPS {
        let middle = (inner + outer) / 2.0;
        if inside(attacker, edge, centre.along(direction, middle), requests).await {
            inner = middle;
        } else {
            outer = middle;
        }
    }
    (inner + outer) / 2.0
}

/// The centre of the edge's circle, from chords along three lines through
/// `through` (the midpoint of each chord is the centre's projection on it).
async fn locate_circle_centre(attacker: &mut Attacker, edge: Edge, through: Local) -> Local {
    let mut requests = 0;
    let mut lines = Vec::new();
    for bearing in [0.0, 60.0, 120.0] {
        let direction = Local::bearing(bearing);
        let ahead = edge_distance(attacker, edge, through, direction, &mut requests).await;
        let behind = edge_distance(
            attacker,
            edge,
            through,
            Local::bearing(bearing + 180.0),
            &mut requests,
        )
        .await;
        lines.push((direction, direction.dot(through) + (ahead - behind) / 2.0));
    }
    least_squares(&lines)
}

struct Scene {
    server: TestServer,
    _dir: tempfile::TempDir,
}

async fn scene(officers: &[(&str, &str)]) -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), OPEN_LIMITS).await;
    let mut roster = String::from("phone,display_name,badge,department\n");
    for (number, (phone, name)) in officers.iter().enumerate() {
        roster.push_str(&format!("{phone},{name},{},NYPD\n", 100 + number));
    }
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    Scene { server, _dir: dir }
}

/// Signs an officer in, places it at `at` and makes it available; its socket is
/// read in the background (requests keep arriving) until the test ends.
async fn available_officer(server: &TestServer, phone: &str, at: (f64, f64)) {
    let token = server.sign_in(phone).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = server.base_url.replace("http://", "ws://") + "/v1/ws";
    let mut officer = WsClient::connect(&url, Some(&token), Format::Json)
        .await
        .expect("upgrade accepted");
    officer.next_of("welcome").await;
    officer.send(location(at)).await;
    officer.send(json!({ "t": "go_available" })).await;
    officer.next_of("availability").await;
    tokio::spawn(async move {
        loop {
            if let Frame::Closed(_) = officer.next_within(Duration::from_secs(30)).await {
                return;
            }
            officer.received.clear();
        }
    });
}

async fn attacker(server: &TestServer, plane: Plane) -> Attacker {
    let token = server.sign_in("+12125550177").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Attacker::connect(server, &token, plane).await
}

#[tokio::test]
async fn band_alert_and_request_edges_reveal_only_the_cell() {
    let scene = scene(&[("+12125550140", "Officer Reyes")]).await;
    // An officer 110 m north-east of its cell's centre, near Bryant Park.
    let centre = cell_centre((40.7536, -73.9832));
    let plane = Plane { origin: centre };
    let origin = Local {
        east: 0.0,
        north: 0.0,
    };
    let officer_local = origin.along(Local::bearing(45.0), OFFICER_OFFSET_M);
    let officer_at = plane.to_degrees(officer_local);
    assert!(
        same_cell(officer_at, centre),
        "the officer stands in the cell"
    );
    available_officer(&scene.server, "+12125550140", officer_at).await;

    let mut attacker = attacker(&scene.server, plane).await;
    attacker.stand_at(origin).await;
    assert_eq!(attacker.nearest_name().as_deref(), Some("Officer Reyes"));
    let shown = plane.to_local((
        attacker.nearest["approx_lat"].as_f64().unwrap(),
        attacker.nearest["approx_lng"].as_f64().unwrap(),
    ));
    assert!(
        shown.length() < 0.5,
        "the cell's centre is shown: {shown:?}"
    );

    for edge in [Edge::Band500, Edge::Nearby, Edge::RequestRange] {
        let estimate = locate_circle_centre(&mut attacker, edge, origin).await;
        let miss_m = estimate.minus(officer_local).length();
        println!(
            "{edge:?}: estimate {:.1} m from the officer, {:.1} m from the cell centre",
            miss_m,
            estimate.length()
        );
        assert!(
            miss_m > LEAK_RADIUS_M,
            "{edge:?} located the officer to {miss_m:.1} m"
        );
        // The search itself worked: it found the circle it could see, centred on
        // the cell.
        assert!(estimate.length() < 5.0, "{edge:?}: {estimate:?}");
    }
}

#[tokio::test]
async fn the_switch_between_two_officers_reveals_only_their_cells() {
    let scene = scene(&[
        ("+12125550141", "Officer One"),
        ("+12125550142", "Officer Two"),
    ])
    .await;
    let first_centre = cell_centre((40.7536, -73.9832));
    let plane = Plane {
        origin: first_centre,
    };
    // The second officer's cell lies about 600 m east; the officer stands 110 m
    // north of its centre.
    let second_centre = cell_centre(plane.to_degrees(Local {
        east: 600.0,
        north: 0.0,
    }));
    let second_centre_local = plane.to_local(second_centre);
    let second_local = second_centre_local.along(Local::bearing(0.0), OFFICER_OFFSET_M);
    let second_at = plane.to_degrees(second_local);
    assert!(same_cell(second_at, second_centre));
    available_officer(&scene.server, "+12125550141", first_centre).await;
    available_officer(&scene.server, "+12125550142", second_at).await;

    let mut attacker = attacker(&scene.server, plane).await;
    let first_local = Local {
        east: 0.0,
        north: 0.0,
    };
    let across = second_centre_local.minus(first_local);
    let direction = across.unit();
    let normal = Local {
        east: -direction.north,
        north: direction.east,
    };
    // Two lines parallel to the one joining the shown positions; on each, the
    // points where the answer switches one way and back straddle the bisector
    // (hysteresis) and their midpoint lies on it.
    let mut bisector = Vec::new();
    for offset in [0.0, 150.0] {
        let start = first_local.along(normal, offset);
        let end = start.along(direction, across.length());
        let mut switch_points = Vec::new();
        for (from, towards, to_name) in [
            (start, direction, "Officer Two"),
            (end, direction.negated(), "Officer One"),
        ] {
            let (mut inner, mut outer) = (0.0, across.length());
            for _ in 0..SEARCH_STEPS {
                let middle = (inner + outer) / 2.0;
                attacker.stand_at(from).await;
                assert_ne!(attacker.nearest_name().as_deref(), Some(to_name));
                attacker.stand_at(from.along(towards, middle)).await;
                if attacker.nearest_name().as_deref() == Some(to_name) {
                    outer = middle;
                } else {
                    inner = middle;
                }
            }
            switch_points.push(from.along(towards, (inner + outer) / 2.0));
        }
        bisector.push(Local {
            east: (switch_points[0].east + switch_points[1].east) / 2.0,
            north: (switch_points[0].north + switch_points[1].north) / 2.0,
        });
    }
    // Reflect the officer the attacker can place (the first stands at its cell's
    // centre) across the bisector found.
    let along = bisector[1].minus(bisector[0]).unit();
    let foot = bisector[0].along(along, first_local.minus(bisector[0]).dot(along));
    let estimate = Local {
        east: 2.0 * foot.east - first_local.east,
        north: 2.0 * foot.north - first_local.north,
    };
    let miss_m = estimate.minus(second_local).length();
    println!(
        "bisector: estimate {miss_m:.1} m from the second officer, {:.1} m from its cell centre",
        estimate.minus(second_centre_local).length()
    );
    assert!(
        miss_m > LEAK_RADIUS_M,
        "the bisector located the officer to {miss_m:.1} m"
    );
    assert!(estimate.minus(second_centre_local).length() < 10.0);
}
