use super::*;

fn event(seq: u64, kind: ProfileEventKind) -> ProfileEvent {
    ProfileEvent {
        account_id: AccountId(uuid::Uuid::nil()),
        seq,
        at_ms: 1_000 * seq as i64,
        kind,
    }
}

#[test]
fn fold_applies_events_in_order() {
    let events = vec![
        event(
            1,
            ProfileEventKind::ProfileCreated {
                display_name: "Citizen 0000".into(),
                role: Role::Citizen,
            },
        ),
        event(
            2,
            ProfileEventKind::ProfileUpdated(ProfileChanges {
                display_name: Some("Ada".into()),
                bio: Some("hello".into()),
                ..ProfileChanges::default()
            }),
        ),
        event(
            3,
            ProfileEventKind::RoleChanged {
                role: Role::Officer,
            },
        ),
    ];
    let profile = fold(&events).expect("created");
    assert_eq!(profile.display_name, "Ada");
    assert_eq!(profile.bio, "hello");
    assert_eq!(profile.role, Role::Officer);
    assert_eq!(profile.version, 3);
    assert_eq!(profile.created_at_ms, 1_000);
    assert_eq!(profile.updated_at_ms, 3_000);
}

#[test]
fn updates_before_creation_are_ignored() {
    let events = vec![event(
        1,
        ProfileEventKind::RoleChanged {
            role: Role::Officer,
        },
    )];
    assert_eq!(fold(&events), None);
}

#[test]
fn display_name_rules() {
    let too_long = ProfileChanges {
        display_name: Some("x".repeat(41)),
        ..ProfileChanges::default()
    };
    assert_eq!(too_long.validated().unwrap_err().field, "display_name");
    let blank = ProfileChanges {
        display_name: Some("   ".into()),
        ..ProfileChanges::default()
    };
    assert_eq!(blank.validated().unwrap_err().field, "display_name");
    let padded = ProfileChanges {
        display_name: Some("  Ada  ".into()),
        ..ProfileChanges::default()
    };
    assert_eq!(
        padded.validated().unwrap().display_name.as_deref(),
        Some("Ada")
    );
}

#[test]
fn bio_and_avatar_rules() {
    let long_bio = ProfileChanges {
        bio: Some("b".repeat(281)),
        ..ProfileChanges::default()
    };
    assert_eq!(long_bio.validated().unwrap_err().field, "bio");
    for bad in [
        "http://example.com/a.png",
        "https://",
        "https://a b/c",
        "javascript:x",
    ] {
        let changes = ProfileChanges {
            avatar_url: Some(Some(bad.into())),
            ..ProfileChanges::default()
        };
        assert_eq!(
            changes.validated().unwrap_err().field,
            "avatar_url",
            "{bad}"
        );
    }
    let good = ProfileChanges {
        avatar_url: Some(Some("https://cdn.example.com/a.png".into())),
        ..ProfileChanges::default()
    };
    assert!(good.validated().is_ok());
}
