//! The API contract documents as client authors get them: the server serves the
//! committed AsyncAPI and OpenAPI documents, `heyblue contract` prints the same,
//! independent validators (the AsyncAPI Initiative's parser plus Ajv for every
//! example against its schema, and an OpenAPI 3.1 schema validator;
//! scripts/api-contract) accept them and refuse broken copies, and the
//! TypeScript client generated from it (clients/typescript) is current, builds
//! with `tsc --strict`, passes its tests (against this server binary among
//! them) and packs into a package that installs.
//! scripts/test installs node's packages for both; without them these tests
//! fail, unless `HEYBLUE_SKIP_API_CONTRACT=1`: then they are reported as SKIPPED.

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

fn committed_openapi() -> String {
    std::fs::read_to_string(repository_file("docs/openapi.json")).unwrap()
}

#[tokio::test]
async fn the_server_serves_the_committed_documents() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(root.path()).await;
    for (path, committed) in [
        ("/v1/asyncapi.json", committed_asyncapi()),
        ("/v1/openapi.json", committed_openapi()),
    ] {
        let response = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        assert_eq!(response.text().await.unwrap(), committed, "{path}");
    }
    server.stop().await;
}

#[test]
fn the_contract_command_prints_the_committed_documents() {
    for (document, committed) in [
        ("asyncapi", committed_asyncapi()),
        ("openapi", committed_openapi()),
    ] {
        let output = Command::new(BINARY)
            .args(["contract", document])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            committed,
            "{document}"
        );
    }
}

/// Whether node and `package`'s packages (`marker` under its node_modules) are
/// installed; `false` when they are not and the skip was asked for.
fn node_packages_ready(package: &str, marker: &str) -> bool {
    let installed = repository_file(package)
        .join("node_modules")
        .join(marker)
        .is_dir()
        && Command::new("node").arg("--version").output().is_ok();
    if installed {
        return true;
    }
    if std::env::var("HEYBLUE_SKIP_API_CONTRACT").as_deref() == Ok("1") {
        report_skip(&format!(
            "api contract: node or {package}'s packages are missing and HEYBLUE_SKIP_API_CONTRACT=1"
        ));
        return false;
    }
    panic!(
        "node and {package}'s packages are needed: install node and run `npm ci` in \
         {package} (scripts/test does), or set HEYBLUE_SKIP_API_CONTRACT=1 to skip this test"
    );
}

/// `node scripts/api-contract/validate.mjs <document>`, or `None` when the
/// validator is not installed and the skip was asked for.
fn run_validator(document: &Path) -> Option<std::process::Output> {
    if !node_packages_ready("scripts/api-contract", "@asyncapi/parser") {
        return None;
    }
    let validator = repository_file("scripts/api-contract");
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
fn an_independent_validator_accepts_the_openapi_document() {
    let Some(output) = run_validator(&repository_file("docs/openapi.json")) else {
        return;
    };
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the validator refused docs/openapi.json:\n{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("valid OpenAPI 3.1.0"), "{printed}");
}

#[test]
fn the_validator_refuses_an_openapi_document_with_a_dangling_reference() {
    let mut document: serde_json::Value = serde_json::from_str(&committed_openapi()).unwrap();
    document["paths"]["/v1/me/profile"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"] = serde_json::json!({ "$ref": "#/components/schemas/Nowhere" });
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("openapi.json");
    std::fs::write(&broken, serde_json::to_vec(&document).unwrap()).unwrap();
    let Some(output) = run_validator(&broken) else {
        return;
    };
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains("Nowhere"), "{printed}");
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

fn run_in(directory: &Path, program: &str, arguments: &[&str]) -> String {
    let output = Command::new(program)
        .args(arguments)
        .current_dir(directory)
        // The client's live tests start this server binary.
        .env("HEYBLUE_BINARY", BINARY)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "`{program} {}` failed in {}:\n{printed}",
        arguments.join(" "),
        directory.display()
    );
    printed
}

#[test]
fn the_typescript_client_is_current_builds_passes_its_tests_and_installs() {
    if !node_packages_ready("clients/typescript", "typescript") {
        return;
    }
    let client = repository_file("clients/typescript");
    // Stale generated types fail here, then tsc --strict and the node tests,
    // among them an officer and a citizen connecting through the client
    // against this binary, and both carrying on after it is killed.
    let printed = run_in(&client, "npm", &["test"]);
    assert!(printed.contains("# fail 0"), "{printed}");
    assert!(printed.contains("# skipped 0"), "{printed}");
    let packed = tempfile::tempdir().unwrap();
    let destination = packed.path().to_str().unwrap();
    run_in(
        &client,
        "npm",
        &[
            "pack",
            "--pack-destination",
            destination,
            "--loglevel=error",
        ],
    );
    let tarball = std::fs::read_dir(packed.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|extension| extension == "tgz"))
        .expect("npm pack wrote no tarball");
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("package.json"),
        r#"{"name":"app","private":true,"type":"module"}"#,
    )
    .unwrap();
    run_in(
        app.path(),
        "npm",
        &[
            "install",
            "--prefer-offline",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            tarball.to_str().unwrap(),
        ],
    );
    let printed = run_in(
        app.path(),
        "node",
        &[
            "--input-type=module",
            "-e",
            "import { decodeServerMessage, CLOSE_CODES } from '@heyblue/client'; \
             console.log(decodeServerMessage('{\"t\":\"pong\"}').t, CLOSE_CODES[4010].clientAction);",
        ],
    );
    assert_eq!(printed.trim(), "pong route_again");
}
