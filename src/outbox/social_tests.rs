//! Social posts end to end against the local receiver: who consents, who is
//! named, what is cancelled, and what the post says, for every combination
//! of the two people's choices. Also push notifications: sent with the
//! devices registered when they go out, and nothing personal.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use uuid::Uuid;

use super::admin::{EndpointAdmin, NewEndpoint};
use super::delivery::DeliveryState;
use super::dispatcher::{BodyComposer, DispatchSettings, Dispatcher};
use super::message::{EventType, message_id};
use super::schedule::RetrySchedule;
use super::sender::Sender;
use super::social::compose::Composer;
use super::social::file::SocialSettings;
use super::tests::{Mode, Received, Receiver};
use crate::clock::Clock;
use crate::domain::catalog::{CatalogStatus, Charity};
use crate::domain::device::{Device, Platform, device_id};
use crate::domain::profile::ProfileChanges;
use crate::domain::quotes::quote_for;
use crate::domain::trophies::TrophyId;
use crate::domain::{AccountId, Role};
use crate::identity::keys::ServerKeys;
use crate::outbox::message::{PushKind, donation_fact_key, push_notification};
use crate::profiles::Profiles;
use crate::store::embedded::EmbeddedStore;
use crate::store::{
    ConnectionParty, ConnectionRecord, Donation, DonationStatus, Store, TrophyAward,
};

/// 2026-01-01T00:00:00Z.
const START_MS: i64 = 1_767_225_600_000;

/// One person's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// `share_to_social` off.
    Private,
    /// Shared, not named.
    Anonymous,
    /// Shared and named.
    Named,
}

const CHOICES: [Choice; 3] = [Choice::Private, Choice::Anonymous, Choice::Named];

struct Harness {
    store: Arc<dyn Store>,
    profiles: Profiles,
    dispatcher: Dispatcher,
    clock: Clock,
    _data_dir: TempDir,
}

impl Harness {
    async fn start(receiver: &Receiver) -> Self {
        let data_dir = TempDir::new().expect("temporary directory");
        let store: Arc<dyn Store> =
            Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));
        let keys = Arc::new(ServerKeys::derive(&[7; 32]));
        let clock = Clock::starting_at(START_MS);
        let admin = EndpointAdmin::new(Arc::clone(&store), Arc::clone(&keys), true);
        let (_endpoint, secret_text) = admin
            .create(
                NewEndpoint {
                    url: receiver.url.clone(),
                    event_types: EventType::ALL
                        .iter()
                        .map(|event_type| event_type.as_str().to_owned())
                        .collect(),
                    enabled: true,
                    rate_limit_per_second: None,
                },
                clock.now_ms(),
            )
            .await
            .expect("endpoint");
        receiver.set_secret(&secret_text);
        let social = SocialSettings::from_toml_str("[places]\n\"100\" = \"New York\"\n")
            .expect("social file");
        let composer = Composer::new(Arc::clone(&store), Arc::new(social), clock);
        let settings = DispatchSettings {
            node_id: Uuid::new_v4(),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(50),
            batch: 100,
            concurrency: 16,
            backlog_scan_limit: 10_000,
            schedule: RetrySchedule {
                jitter: 0.0,
                ..RetrySchedule::default()
            },
            disable_after_failing: Duration::from_secs(120 * 3_600),
        };
        let sender = Sender::new(true).expect("client");
        let dispatcher = Dispatcher::new(
            Arc::clone(&store),
            keys,
            sender,
            BodyComposer::Social(composer),
            clock,
            settings,
        );
        Self {
            profiles: Profiles::new(Arc::clone(&store), clock),
            store,
            dispatcher,
            clock,
            _data_dir: data_dir,
        }
    }

    /// A person with a profile and `choice` made now.
    async fn person(&self, name: &str, role: Role, choice: Choice) -> AccountId {
        let account_id = AccountId(Uuid::new_v4());
        self.profiles
            .create(account_id, name.to_owned(), role)
            .await
            .expect("profile");
        self.choose(account_id, choice).await;
        account_id
    }

    async fn choose(&self, account_id: AccountId, choice: Choice) {
        let changes = ProfileChanges {
            share_to_social: Some(choice != Choice::Private),
            share_name: Some(choice == Choice::Named),
            ..ProfileChanges::default()
        };
        self.profiles
            .update(account_id, changes)
            .await
            .expect("update");
    }

    /// A connection between the two now, in ZIP `zip`; its message id.
    async fn connect(&self, citizen: AccountId, officer: AccountId, zip: &str) -> (Uuid, Uuid) {
        let party = |account_id| ConnectionParty {
            account_id,
            points: 10,
            withheld: None,
        };
        let record = ConnectionRecord {
            mode: Default::default(),
            connection_id: Uuid::new_v4(),
            citizen: party(citizen),
            officer: party(officer),
            established_at_ms: self.clock.now_ms(),
            cell_r7: None,
            zip: Some(zip.to_owned()),
        };
        self.store.insert_connection(&record).await.expect("insert");
        (
            record.connection_id,
            message_id(
                EventType::ConnectionCompleted,
                &record.connection_id.to_string(),
            ),
        )
    }

    async fn state(&self, id: Uuid) -> DeliveryState {
        self.store
            .outbox_delivery(id)
            .await
            .expect("read")
            .expect("stored")
            .state
    }

    async fn pass(&self) {
        self.dispatcher.run_once().await.expect("pass");
    }
}

async fn later() {
    tokio::time::advance(Duration::from_secs(1)).await;
}

fn posts_of(received: &[Received], id: Uuid) -> Vec<String> {
    received
        .iter()
        .filter(|request| request.webhook_id == id.to_string())
        .map(|request| {
            assert!(request.verified, "signed over the body sent");
            let body: Value = serde_json::from_str(&request.body).expect("json");
            body["post"].as_str().expect("a post").to_owned()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_connection_is_posted_only_with_both_consents_and_names_only_who_agreed() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver).await;
    let mut cases = Vec::new();
    for citizen_choice in CHOICES {
        for officer_choice in CHOICES {
            let citizen = harness
                .person("Ann Lee", Role::Citizen, citizen_choice)
                .await;
            let officer = harness
                .person("Bo Diaz", Role::Officer, officer_choice)
                .await;
            later().await;
            let (connection_id, id) = harness.connect(citizen, officer, "10036").await;
            cases.push((citizen_choice, officer_choice, connection_id, id));
        }
    }
    harness.pass().await;
    let received = receiver.received();
    for (citizen_choice, officer_choice, connection_id, id) in cases {
        let case = format!("citizen {citizen_choice:?}, officer {officer_choice:?}");
        let posts = posts_of(&received, id);
        if citizen_choice == Choice::Private || officer_choice == Choice::Private {
            assert!(posts.is_empty(), "{case}: nothing is sent");
            assert_eq!(harness.state(id).await, DeliveryState::Cancelled, "{case}");
            continue;
        }
        assert_eq!(harness.state(id).await, DeliveryState::Delivered, "{case}");
        let officer = if officer_choice == Choice::Named {
            "Bo Diaz"
        } else {
            "an officer"
        };
        let citizen = if citizen_choice == Choice::Named {
            "Ann Lee"
        } else {
            "a neighbour"
        };
        let expected = format!(
            "Hey Blue! {officer} and {citizen} connected in New York on 2026-01-01. \"{}\"",
            quote_for(connection_id)
        );
        assert_eq!(posts, vec![expected], "{case}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_choice_in_force_at_the_connection_counts_and_a_withdrawal_cancels() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver).await;
    // Opted in only after the connection: not posted.
    let citizen = harness
        .person("Ann Lee", Role::Citizen, Choice::Private)
        .await;
    let officer = harness
        .person("Bo Diaz", Role::Officer, Choice::Named)
        .await;
    later().await;
    let (_, late_opt_in) = harness.connect(citizen, officer, "10036").await;
    later().await;
    harness.choose(citizen, Choice::Named).await;
    // Opted in at the connection, withdrawn before delivery, then on again:
    // the withdrawal cancelled the post.
    later().await;
    let (_, withdrawn) = harness.connect(citizen, officer, "10036").await;
    later().await;
    harness.choose(officer, Choice::Private).await;
    later().await;
    harness.choose(officer, Choice::Named).await;
    // Both in at the connection and since: posted, place unknown to the file.
    later().await;
    let (_, kept) = harness.connect(citizen, officer, "94110").await;
    harness.pass().await;

    let received = receiver.received();
    assert!(posts_of(&received, late_opt_in).is_empty());
    assert_eq!(harness.state(late_opt_in).await, DeliveryState::Cancelled);
    assert!(posts_of(&received, withdrawn).is_empty());
    assert_eq!(harness.state(withdrawn).await, DeliveryState::Cancelled);
    let posts = posts_of(&received, kept);
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].starts_with("Hey Blue! Bo Diaz and Ann Lee connected on 2026-01-01."),
        "no place beyond what the social file names: {}",
        posts[0]
    );
}

#[tokio::test(start_paused = true)]
async fn a_withdrawal_between_retries_stops_the_retries() {
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Fail);
    let harness = Harness::start(&receiver).await;
    let citizen = harness
        .person("Ann Lee", Role::Citizen, Choice::Anonymous)
        .await;
    let officer = harness
        .person("Bo Diaz", Role::Officer, Choice::Anonymous)
        .await;
    later().await;
    let (_, id) = harness.connect(citizen, officer, "10036").await;
    harness.pass().await;
    assert_eq!(harness.state(id).await, DeliveryState::Failed);
    assert_eq!(receiver.received().len(), 1);
    harness.choose(citizen, Choice::Private).await;
    receiver.set_mode(Mode::Accept);
    tokio::time::advance(Duration::from_secs(5)).await;
    harness.pass().await;
    assert_eq!(harness.state(id).await, DeliveryState::Cancelled);
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing sent after withdrawal"
    );
    let delivery = harness
        .store
        .outbox_delivery(id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(delivery.last_error.as_deref(), Some("sharing is off"));
}

#[tokio::test(start_paused = true)]
async fn a_trophy_post_names_its_holder_only_with_consent() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver).await;
    let mut cases = Vec::new();
    for (choice, role) in [
        (Choice::Private, Role::Citizen),
        (Choice::Anonymous, Role::Officer),
        (Choice::Anonymous, Role::Citizen),
        (Choice::Named, Role::Citizen),
    ] {
        let holder = harness.person("Cy Park", role, choice).await;
        later().await;
        let award = TrophyAward {
            account_id: holder,
            trophy: TrophyId::TenConnections,
            awarded_at_ms: harness.clock.now_ms(),
            connection_id: Uuid::new_v4(),
        };
        harness.store.award_trophy(&award).await.expect("award");
        let id = message_id(
            EventType::TrophyAwarded,
            &format!("{}/{}", holder.0, award.trophy.as_str()),
        );
        cases.push((choice, role, id));
    }
    harness.pass().await;
    let received = receiver.received();
    for (choice, role, id) in cases {
        let posts = posts_of(&received, id);
        let expected = match (choice, role) {
            (Choice::Private, _) => {
                assert!(posts.is_empty());
                assert_eq!(harness.state(id).await, DeliveryState::Cancelled);
                continue;
            }
            (Choice::Named, _) => "Cy Park",
            (Choice::Anonymous, Role::Officer) => "an officer",
            (Choice::Anonymous, Role::Citizen) => "a neighbour",
        };
        assert_eq!(
            posts,
            vec![format!(
                "Hey Blue! {expected} earned the Regular trophy on 2026-01-01."
            )]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_donation_post_names_the_charity_and_the_donor_only_with_consent() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver).await;
    let charity = Charity {
        id: Uuid::new_v4(),
        name: "City Food Bank".to_owned(),
        ein: "12-3456789".to_owned(),
        description: String::new(),
        status: CatalogStatus::Active,
        created_at_ms: START_MS,
        updated_at_ms: START_MS,
    };
    harness.store.put_charity(&charity).await.expect("charity");
    let mut cases = Vec::new();
    for choice in CHOICES {
        let donor = harness.person("Cy Park", Role::Officer, choice).await;
        later().await;
        let started = Donation {
            account_id: donor,
            idempotency_key: "gift".to_owned(),
            donation_id: Uuid::new_v4(),
            charity_id: charity.id,
            points: 30,
            dollars_per_point: rust_decimal::Decimal::new(1, 2),
            requested_at_ms: harness.clock.now_ms(),
            attempt: 0,
            attempt_started_at_ms: harness.clock.now_ms(),
            status: DonationStatus::Started,
            refusal: None,
        };
        harness
            .store
            .insert_donation(&started)
            .await
            .expect("insert");
        let completed = Donation {
            status: DonationStatus::Completed,
            ..started.clone()
        };
        assert!(
            harness
                .store
                .update_donation(&completed, 0)
                .await
                .expect("complete")
        );
        let id = message_id(EventType::DonationMade, &donation_fact_key(&completed));
        cases.push((choice, id));
    }
    harness.pass().await;
    let received = receiver.received();
    for (choice, id) in cases {
        let posts = posts_of(&received, id);
        let donor = match choice {
            Choice::Private => {
                assert!(posts.is_empty());
                assert_eq!(harness.state(id).await, DeliveryState::Cancelled);
                continue;
            }
            Choice::Anonymous => "an officer",
            Choice::Named => "Cy Park",
        };
        assert_eq!(
            posts,
            vec![format!(
                "Hey Blue! {donor} gave 30 points to City Food Bank on 2026-01-01."
            )]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_push_goes_to_the_registered_devices_and_says_nothing_personal() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver).await;
    let officer = harness
        .person("Bo Diaz", Role::Officer, Choice::Private)
        .await;
    let family_id = Uuid::new_v4();
    for (platform, token) in [
        (Platform::Ios, "apns-0123456789abcdef"),
        (Platform::Android, "fcm:0123456789abcdef"),
    ] {
        let device = Device {
            account_id: officer,
            device_id: device_id(officer, token),
            platform,
            token: token.to_owned(),
            family_id,
            registered_at_ms: harness.clock.now_ms(),
        };
        harness.store.put_device(&device).await.expect("device");
    }
    let without_devices = harness
        .person("Cy Park", Role::Officer, Choice::Named)
        .await;
    let now_ms = harness.clock.now_ms();
    let request_id = Uuid::new_v4();
    let push = |account_id, expires_at_ms| {
        push_notification(
            account_id,
            PushKind::ConnectionRequested,
            request_id,
            now_ms,
            expires_at_ms,
        )
    };
    let sent = push(officer, now_ms + 60_000);
    let unheard = push(without_devices, now_ms + 60_000);
    for message in [&sent, &unheard] {
        harness
            .store
            .enqueue_outbox_message(message)
            .await
            .expect("queue");
    }
    // Queued twice (a retried request): one delivery.
    harness
        .store
        .enqueue_outbox_message(&sent)
        .await
        .expect("queue again");
    harness.pass().await;

    let received = receiver.received();
    let pushes: Vec<&Received> = received
        .iter()
        .filter(|request| request.webhook_id == sent.message_id.to_string())
        .collect();
    assert_eq!(pushes.len(), 1);
    assert!(pushes[0].verified);
    let body: Value = serde_json::from_str(&pushes[0].body).expect("json");
    assert_eq!(body["type"], "notification.push");
    assert_eq!(body["kind"], "connection_requested");
    assert_eq!(body["alert"], "Someone nearby would like to say hello.");
    let devices = body["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().any(|device| device["platform"] == "ios"
        && device["token"] == "apns-0123456789abcdef"));
    for personal in ["Bo Diaz", &officer.0.to_string(), &request_id.to_string()] {
        assert!(
            !pushes[0].body.contains(personal),
            "{personal} is not on a lock screen: {}",
            pushes[0].body
        );
    }
    assert_eq!(
        harness.state(unheard.message_id).await,
        DeliveryState::Cancelled
    );

    // A push that comes due after its request expired is not sent.
    let late = push_notification(
        officer,
        PushKind::ConnectionRequested,
        Uuid::new_v4(),
        now_ms,
        now_ms + 1_000,
    );
    harness
        .store
        .enqueue_outbox_message(&late)
        .await
        .expect("queue");
    tokio::time::advance(Duration::from_secs(2)).await;
    harness.pass().await;
    assert_eq!(
        harness.state(late.message_id).await,
        DeliveryState::Cancelled
    );
    assert_eq!(receiver.received().len(), received.len());
}

#[tokio::test]
async fn a_broken_social_file_stops_the_outbox_at_startup_naming_the_template() {
    let data_dir = TempDir::new().expect("temporary directory");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));
    let file_dir = TempDir::new().expect("temporary directory");
    let path = file_dir.path().join("social.toml");
    std::fs::write(
        &path,
        "[templates]\n\"trophy.awarded\" = \"{{ persn }} won\"\n",
    )
    .expect("write");
    let config = crate::config::OutboxConfig {
        // Checked on a node that does not send, too.
        send: false,
        social_file: Some(path),
        ..crate::config::OutboxConfig::default()
    };
    let error = super::start(
        &config,
        store,
        Arc::new(ServerKeys::derive(&[7; 32])),
        Clock::starting_at(START_MS),
        tokio_util::sync::CancellationToken::new(),
    )
    .expect_err("refused");
    let message = error.to_string();
    assert!(message.contains("social.toml"), "{message}");
    assert!(message.contains("trophy.awarded"), "{message}");
}
