//! What ops read from a node: `/metrics`, whose label values come from closed
//! sets (made-up methods and paths add no series) and which is served on its
//! own listener, never on the public one; and `/v1/version`.

mod common;

use common::TestServer;
use common::process::{ServerProcess, series_count};
use futures::StreamExt;
use reqwest::Method;

/// Requests with a made-up method and path each.
const UNIQUE_REQUESTS: usize = 10_000;
/// Requests in flight at once.
const CONCURRENCY: usize = 32;

/// Sends one request per index with method `M<prefix><index>` to a path of its own.
async fn made_up_requests(server: &ServerProcess, prefix: &str, range: std::ops::Range<usize>) {
    let http = server.api.http.clone();
    let base = server.api.base_url.clone();
    futures::stream::iter(range)
        .map(|index| {
            let http = http.clone();
            let url = format!("{base}/made-up/{prefix}/{index}");
            let method = Method::from_bytes(format!("M{prefix}{index}").as_bytes()).unwrap();
            async move { http.request(method, url).send().await.map(|r| r.status()) }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|outcome| async move {
            let status = outcome.expect("the server answers");
            assert!(status.is_client_error(), "{status}");
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_methods_and_paths_add_no_series() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), "").await;
    // A few first, so every series such requests can make exists already.
    made_up_requests(&server, "warm", 0..4).await;
    let before = series_count(&server.scrape().await);
    let rss_before_kib = server.resident_kib();
    made_up_requests(&server, "burst", 0..UNIQUE_REQUESTS).await;
    let page = server.scrape().await;
    let after = series_count(&page);
    let rss_after_kib = server.resident_kib();
    eprintln!(
        "series before {before}, after {after}; VmRSS before {rss_before_kib} KiB, after {UNIQUE_REQUESTS} unique-method requests {rss_after_kib} KiB"
    );
    assert_eq!(after, before, "made-up methods or paths made series");
    assert!(
        page.contains("method=\"other\""),
        "unknown methods are labelled other"
    );
    assert!(!page.contains("/made-up/"), "paths are never labels");
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_and_not_on_the_public_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let public = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        common::error_code(public).await,
        (404, "not_found".to_owned())
    );
    let page = server.scrape_metrics().await;
    assert!(page.contains("heyblue_build_info"), "{page}");
    let base = server.metrics_base_url.clone().unwrap();
    let elsewhere = server
        .http
        .get(format!("{base}/v1/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        404,
        "the metrics listener serves /metrics only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_gauges_come_from_the_refreshed_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), "").await;
    // Refreshed once a second whatever the scrapes: the gauges are there without
    // a scrape ever asking the actors.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let page = server.scrape().await;
    for gauge in [
        "heyblue_officers_available 0",
        "heyblue_citizens_located 0",
        "heyblue_connection_requests_pending 0",
        "heyblue_process_resident_memory_bytes",
    ] {
        assert!(page.contains(gauge), "{gauge} in {page}");
    }
}

#[tokio::test]
async fn the_version_is_served_as_the_binary_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let response = server
        .http
        .get(server.url("/v1/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let version: serde_json::Value = response.json().await.unwrap();
    assert_eq!(version["version"], heyblue::version::VERSION);
    assert_eq!(version["revision"], heyblue::version::GIT_REVISION);
    assert_eq!(version["build_date"], heyblue::version::BUILD_DATE);
    assert_ne!(version["revision"], "", "{version}");
}
