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

#[test]
fn erasing_keeps_the_log_shape_and_drops_every_personal_field() {
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
                avatar_url: Some(Some("https://cdn.example.com/a.png".into())),
                share_to_social: Some(true),
                share_name: Some(true),
            }),
        ),
        event(
            3,
            ProfileEventKind::RoleChanged {
                role: Role::Officer,
            },
        ),
        event(4, ProfileEventKind::AccountDeleted),
    ];
    let erased: Vec<ProfileEvent> = events
        .iter()
        .map(|event| ProfileEvent {
            kind: event.kind.erased().unwrap_or_else(|| event.kind.clone()),
            ..event.clone()
        })
        .collect();
    let text = format!("{erased:?}");
    for personal in ["Citizen 0000", "Ada", "hello", "cdn.example.com"] {
        assert!(!text.contains(personal), "{personal} is erased: {text}");
    }
    assert_eq!(erased.len(), 4, "no event is removed");
    assert!(
        erased.iter().all(|event| event.kind.erased().is_none()),
        "erasing twice changes nothing"
    );
    assert_eq!(
        events[2].kind.erased(),
        None,
        "a role change holds nothing personal"
    );
    for log in [&events, &erased] {
        let profile = fold(log).expect("created");
        assert_eq!(profile.display_name, DELETED_DISPLAY_NAME);
        assert_eq!(profile.bio, "");
        assert_eq!(profile.avatar_url, None);
        assert!(!profile.share_to_social, "a deleted account shares nothing");
        assert!(!profile.share_name);
        assert_eq!(profile.role, Role::Officer, "the role stays for the books");
        assert_eq!(profile.version, 4);
    }
}
