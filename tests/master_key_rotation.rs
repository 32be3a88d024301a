//! Rotating the master key with real processes on the embedded store: a
//! server started with the new key and the previous one still finds every
//! account and roster entry (and moves them as it goes); `heyblue keys
//! rotate-master` moves the rest, is safe to run twice and refuses to run
//! without the previous key; afterwards a server with the new key alone
//! signs everyone in to the same accounts and roles, opens their sealed
//! phones for their export, and an endpoint's secret still signs.

mod common;

use std::path::Path;
use std::process::Command;

use common::ADMIN_TOKEN;
use common::process::ServerProcess;
use common::rewards::token_of;
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550218";
const CITIZEN_PHONE: &str = "+12125550318";
const OLD_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// The `[identity]` section naming the key files in `root`.
fn identity(root: &Path, current: &str, previous: Option<&str>) -> String {
    let mut section = format!(
        "[identity]\notp_min_interval_seconds = 0\nmaster_key_file = \"{}\"\n",
        root.join(current).display()
    );
    if let Some(previous) = previous {
        section.push_str(&format!(
            "previous_master_key_file = \"{}\"\n",
            root.join(previous).display()
        ));
    }
    section
}

fn write_keys(root: &Path) {
    std::fs::write(root.join("old.key"), OLD_KEY).unwrap();
    std::fs::write(root.join("new.key"), NEW_KEY).unwrap();
}

/// Runs `heyblue keys rotate-master` on `root`'s data; its exit status and
/// output.
fn rotate_master(root: &Path, previous: Option<&str>) -> (bool, String) {
    let config = root.join("rotate.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n{}",
            root.join("data").display(),
            identity(root, "new.key", previous)
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_heyblue"))
        .arg("--config")
        .arg(&config)
        .args(["keys", "rotate-master"])
        .env_remove("HEYBLUE_MASTER_KEY")
        .env_remove("HEYBLUE_PREVIOUS_MASTER_KEY")
        .output()
        .expect("run heyblue");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Signs both people in on a server with the old key, imports the roster
/// and makes an endpoint; their account ids.
async fn populate(root: &Path) -> (String, String) {
    let mut first = ServerProcess::start(root, &identity(root, "old.key", None)).await;
    let server = &first.api;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer M,448,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = server.sign_in(OFFICER_PHONE).await;
    assert_eq!(officer["role"], "officer");
    let citizen = server.sign_in(CITIZEN_PHONE).await;
    let created = server
        .http
        .post(server.url("/v1/admin/outbox/endpoints"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "url": "https://hooks.example.org/heyblue", "event_types": ["connection.completed"], "enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    first.kill();
    (
        officer["account_id"].as_str().unwrap().to_owned(),
        citizen["account_id"].as_str().unwrap().to_owned(),
    )
}

/// Both people sign in to the accounts they had, the officer as an officer,
/// and the citizen's export opens their sealed phone.
async fn same_people(server: &common::TestServer, officer_id: &str, citizen_id: &str) {
    let officer = server.sign_in(OFFICER_PHONE).await;
    assert_eq!(officer["account_id"], officer_id);
    assert_eq!(officer["role"], "officer");
    let citizen = server.sign_in(CITIZEN_PHONE).await;
    assert_eq!(citizen["account_id"], citizen_id);
    let export: Value = server.get_json("/v1/me/export", &token_of(&citizen)).await;
    assert_eq!(export["account"]["phone"], CITIZEN_PHONE, "{export}");
}

#[tokio::test]
async fn the_command_moves_every_record_and_the_new_key_alone_then_serves() {
    let root = tempfile::tempdir().unwrap();
    write_keys(root.path());
    let (officer_id, citizen_id) = populate(root.path()).await;

    let (ok, refused) = rotate_master(root.path(), None);
    assert!(!ok, "no previous key: {refused}");
    assert!(refused.contains("previous_master_key"), "{refused}");

    let (ok, moved) = rotate_master(root.path(), Some("old.key"));
    assert!(ok, "{moved}");
    assert!(
        moved.contains("accounts: 2 moved, 0 already current, 0 left"),
        "{moved}"
    );
    assert!(moved.contains("roster: 1 moved"), "{moved}");
    assert!(
        moved.contains("outbox endpoints: 1 moved, 0 left"),
        "{moved}"
    );
    let (ok, again) = rotate_master(root.path(), Some("old.key"));
    assert!(ok, "{again}");
    assert!(
        again.contains("accounts: 0 moved, 2 already current, 0 left"),
        "{again}"
    );
    assert!(
        again.contains("roster: 0 moved, 1 already current"),
        "{again}"
    );
    assert!(
        again.contains("outbox endpoints: 0 moved, 0 left"),
        "{again}"
    );

    let mut after =
        ServerProcess::start(root.path(), &identity(root.path(), "new.key", None)).await;
    same_people(&after.api, &officer_id, &citizen_id).await;
    after.kill();
}

#[tokio::test]
async fn a_server_with_both_keys_finds_everyone_while_it_moves_them() {
    let root = tempfile::tempdir().unwrap();
    write_keys(root.path());
    let (officer_id, citizen_id) = populate(root.path()).await;

    let mut rotating = ServerProcess::start(
        root.path(),
        &identity(root.path(), "new.key", Some("old.key")),
    )
    .await;
    same_people(&rotating.api, &officer_id, &citizen_id).await;
    rotating.kill();

    // Whatever the server had not moved yet, the command does; then the
    // new key alone serves.
    let (ok, report) = rotate_master(root.path(), Some("old.key"));
    assert!(ok, "{report}");
    assert!(report.contains(", 0 left; roster:"), "{report}");
    let mut after =
        ServerProcess::start(root.path(), &identity(root.path(), "new.key", None)).await;
    same_people(&after.api, &officer_id, &citizen_id).await;
    after.kill();
}
