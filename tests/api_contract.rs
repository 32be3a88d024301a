//! The API contract documents as client authors get them: the server serves the
//! committed AsyncAPI document, `heyblue contract asyncapi` prints the same, and
//! an independent validator (the AsyncAPI Initiative's parser, plus Ajv for every
//! example against its schema; scripts/api-contract, installed by scripts/test)
//! accepts it. Without node or those packages the validator test fails, unless
//! `HEYBLUE_SKIP_API_CONTRACT=1`: then it is reported as SKIPPED.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestServer, report_skip};

const BINARY: &str = env!("CARGO_BIN_EXE_heyblue");

fn repository_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn committed_asyncapi() -> String {
    std::fs::read_to_string(repository_file("docs/asyncapi.json")).unwrap()
}

#[tokio::test]
async fn the_server_serves_the_committed_asyncapi_document() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(root.path()).await;
    let response = server
        .http
        .get(server.url("/v1/asyncapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(response.text().await.unwrap(), committed_asyncapi());
    server.stop().await;
}

#[test]
fn the_contract_command_prints_the_committed_document() {
    let output = Command::new(BINARY)
        .args(["contract", "asyncapi"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        committed_asyncapi()
    );
}

/// `node scripts/api-contract/validate.mjs <document>`, or `None` when the
/// validator is not installed and the skip was asked for.
fn run_validator(document: &Path) -> Option<std::process::Output> {
    let validator = repository_file("scripts/api-contract");
    let installed = validator.join("node_modules/@asyncapi/parser").is_dir()
        && Command::new("node").arg("--version").output().is_ok();
    if !installed {
        if std::env::var("HEYBLUE_SKIP_API_CONTRACT").as_deref() == Ok("1") {
            report_skip(
                "api contract validator: node or its packages are missing and \
                 HEYBLUE_SKIP_API_CONTRACT=1",
            );
            return None;
        }
        panic!(
            "node and scripts/api-contract's packages are needed: install node and run \
             `npm ci` in scripts/api-contract (scripts/test does), or set \
             HEYBLUE_SKIP_API_CONTRACT=1 to skip this test"
        );
    }
    Some(
        Command::new("node")
            .arg(validator.join("validate.mjs"))
            .arg(document)
            .output()
            .unwrap(),
    )
}

#[test]
fn an_independent_validator_accepts_the_asyncapi_document() {
    let Some(output) = run_validator(&repository_file("docs/asyncapi.json")) else {
        return;
    };
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the validator refused docs/asyncapi.json:\n{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("valid AsyncAPI 3.0.0"), "{printed}");
}

#[test]
fn the_validator_refuses_an_example_its_schema_does_not_allow() {
    let mut document: serde_json::Value = serde_json::from_str(&committed_asyncapi()).unwrap();
    document["components"]["messages"]["points"]["examples"][0]["payload"]["balance"] =
        serde_json::json!("a lot");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("asyncapi.json");
    std::fs::write(&broken, serde_json::to_vec(&document).unwrap()).unwrap();
    let Some(output) = run_validator(&broken) else {
        return;
    };
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains("example of points: /balance must be integer"),
        "{printed}"
    );
}
