//! Sign-in abuse over real HTTP: SMS regions and budgets, per-address limits that
//! address rotation and forged forwarding headers do not escape, and guessing
//! that neither collides nor locks a person out. Loopback addresses 127.0.0.N
//! stand for different clients.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{TestServer, error_code};
use serde_json::json;

/// A client whose connections come from `127.0.0.<last>`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn request_code(
    server: &TestServer,
    client: &reqwest::Client,
    phone: &str,
) -> reqwest::Response {
    client
        .post(server.url("/v1/auth/otp/request"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .unwrap()
}

async fn verify(
    server: &TestServer,
    client: &reqwest::Client,
    phone: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(server.url("/v1/auth/otp/verify"))
        .json(&json!({ "phone": phone, "code": code }))
        .send()
        .await
        .unwrap()
}

/// Lines the `file` SMS adapter wrote.
fn sms_sent(server: &TestServer) -> usize {
    std::fs::read_to_string(&server.sms_file)
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn wrong_code_for(code: &str) -> String {
    if code == "000000" {
        "000001".into()
    } else {
        "000000".into()
    }
}

#[tokio::test]
async fn codes_go_only_to_allowed_regions() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let client = client_from(2);
    // Toronto (Canada) and Kingston (Jamaica) share +1 with the US.
    for phone in ["+14165550123", "+18769270123", "+442079460123"] {
        let response = request_code(&server, &client, phone).await;
        assert_eq!(
            error_code(response).await,
            (422, "phone_region_not_allowed".into()),
            "{phone}"
        );
    }
    assert_eq!(sms_sent(&server), 0);
    let response = request_code(&server, &client, "+12125550123").await;
    assert_eq!(response.status(), 202);
    assert_eq!(sms_sent(&server), 1);
}

#[tokio::test]
async fn rotating_addresses_and_numbers_cannot_escape_the_prefix_budget() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    // 10 addresses, 6 numbers each, all in NPA-NXX 212-555: 60 requests.
    let mut accepted = 0;
    let mut exhausted = 0;
    for address in 0..10u8 {
        let client = client_from(10 + address);
        for number in 0..6u32 {
            let phone = format!("+1212555{:04}", 100 + u32::from(address) * 6 + number);
            let response = request_code(&server, &client, &phone).await;
            if response.status() == 202 {
                accepted += 1;
                continue;
            }
            assert!(retry_after(&response) >= 1);
            assert_eq!(
                error_code(response).await,
                (429, "sms_budget_exhausted".into())
            );
            exhausted += 1;
        }
    }
    println!("sms sent to one NPA-NXX from 10 addresses: {accepted} of 60");
    assert_eq!(accepted, 20, "the default per-prefix budget");
    assert_eq!(exhausted, 40);
    assert_eq!(sms_sent(&server), 20);
    let metrics = server.scrape_metrics().await;
    assert!(
        metrics.contains("heyblue_sms_refused_total{reason=\"prefix_budget\"} 40"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_global_budget_holds_across_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), "[identity]\nsms_max_per_hour = 25\n").await;
    let mut accepted = 0;
    for address in 0..10u8 {
        let client = client_from(30 + address);
        for number in 0..5u32 {
            // A different exchange per request: no prefix budget is reached.
            let exchange = 200 + u32::from(address) * 5 + number;
            let phone = format!("+1212{exchange}0123");
            let response = request_code(&server, &client, &phone).await;
            if response.status() == 202 {
                accepted += 1;
            } else {
                assert_eq!(
                    error_code(response).await,
                    (429, "sms_budget_exhausted".into())
                );
            }
        }
    }
    assert_eq!(accepted, 25);
    assert_eq!(sms_sent(&server), 25);
}

#[tokio::test]
async fn a_forged_forwarded_header_from_an_untrusted_peer_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_with(dir.path(), "[identity]\notp_max_per_ip_per_hour = 2\n").await;
    let client = client_from(50);
    for (index, phone) in ["+12125550101", "+12125550102", "+12125550103"]
        .into_iter()
        .enumerate()
    {
        let response = client
            .post(server.url("/v1/auth/otp/request"))
            .header("x-forwarded-for", format!("198.51.100.{index}"))
            .header("forwarded", format!("for=203.0.113.{index}"))
            .json(&json!({ "phone": phone }))
            .send()
            .await
            .unwrap();
        if index < 2 {
            assert_eq!(response.status(), 202);
        } else {
            assert!(retry_after(&response) >= 1);
            assert_eq!(error_code(response).await, (429, "rate_limited".into()));
        }
    }
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_that_is_limited() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[identity]\notp_max_per_ip_per_hour = 2\n[http]\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    )
    .await;
    let proxy = client_from(1);
    let send = |phone: &'static str, forwarded_for: &'static str| {
        proxy
            .post(server.url("/v1/auth/otp/request"))
            // The client forged the first entry; the proxy appended the real one.
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({ "phone": phone }))
            .send()
    };
    for phone in ["+12125550201", "+12125550202"] {
        let response = send(phone, "10.9.9.9, 198.51.100.7").await.unwrap();
        assert_eq!(response.status(), 202);
    }
    let response = send("+12125550203", "10.8.8.8, 198.51.100.7")
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (429, "rate_limited".into()));
    // Another client behind the same proxy has its own allowance.
    let response = send("+12125550204", "198.51.100.8").await.unwrap();
    assert_eq!(response.status(), 202);
}

/// A PROXY protocol v2 header (TCP over IPv4) naming `client`, written from the
/// specification.
fn proxy_header(client: Ipv4Addr) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend_from_slice(&[0x21, 0x11, 0, 12]);
    header.extend_from_slice(&client.octets());
    header.extend_from_slice(&[127, 0, 0, 1]);
    header.extend_from_slice(&40_000_u16.to_be_bytes());
    header.extend_from_slice(&8080_u16.to_be_bytes());
    header
}

/// Sends `prefix` then a code request for `phone` over one connection from
/// `127.0.0.<last>`; the answer's status, or `None` when the server closed the
/// connection without one.
async fn request_code_raw(
    server: &TestServer,
    last: u8,
    prefix: &[u8],
    phone: &str,
) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address: std::net::SocketAddr = server.base_url["http://".len()..].parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind((Ipv4Addr::new(127, 0, 0, last), 0).into())
        .unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let body = json!({ "phone": phone }).to_string();
    let mut request = prefix.to_vec();
    request.extend_from_slice(
        format!(
            "POST /v1/auth/otp/request HTTP/1.1\r\nHost: heyblue\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    // A server that closes at once may reset the connection under the write.
    if stream.write_all(&request).await.is_err() {
        return None;
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
    let _reset_or_eof = read.await.expect("the server answers or closes in time");
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[tokio::test]
async fn a_proxy_protocol_header_names_the_client_and_only_trusted_proxies_may_send_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::launch(
        dir.path(),
        "[identity]\notp_max_per_ip_per_hour = 2\n\
         [http]\nproxy_protocol = true\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    )
    .await;
    let first_client = proxy_header(Ipv4Addr::new(198, 51, 100, 7));
    // The first answer also tells that the server is up.
    let mut first = None;
    for _ in 0..400 {
        first = request_code_raw(&server, 1, &first_client, "+12125550211").await;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(first, Some(202));
    assert_eq!(
        request_code_raw(&server, 1, &first_client, "+12125550212").await,
        Some(202)
    );
    assert_eq!(
        request_code_raw(&server, 1, &first_client, "+12125550213").await,
        Some(429),
        "the header's client is limited, not the proxy"
    );
    let second_client = proxy_header(Ipv4Addr::new(198, 51, 100, 8));
    assert_eq!(
        request_code_raw(&server, 1, &second_client, "+12125550214").await,
        Some(202),
        "another client behind the same proxy has its own allowance"
    );
    assert_eq!(
        request_code_raw(&server, 1, b"", "+12125550215").await,
        None,
        "no header: closed without an answer"
    );
    assert_eq!(
        request_code_raw(&server, 2, &second_client, "+12125550216").await,
        None,
        "a peer that is not a trusted proxy may not name a client"
    );
}

#[tokio::test]
async fn concurrent_verifies_never_conflict_and_the_right_code_wins() {
    let dir = tempfile::tempdir().unwrap();
    // Enough attempts per code that every racing guess is a write.
    let server = TestServer::start_with(dir.path(), "[identity]\notp_max_attempts = 100\n").await;
    // One phone: 60 wrong guesses from 6 addresses racing the right code.
    let phone = "+12125550301";
    assert_eq!(
        request_code(&server, &client_from(60), phone)
            .await
            .status(),
        202
    );
    let code = server.last_code_for(phone);
    let wrong = wrong_code_for(&code);
    let clients: Vec<reqwest::Client> = (0..6).map(|n| client_from(61 + n)).collect();
    let mut racing = Vec::new();
    for guess in 0..60 {
        racing.push(verify(&server, &clients[guess % 6], phone, &wrong));
    }
    racing.insert(30, verify(&server, &clients[0], phone, &code));
    let answers = futures::future::join_all(racing).await;
    let statuses: Vec<u16> = answers
        .iter()
        .map(|answer| answer.status().as_u16())
        .collect();
    let conflicts = statuses.iter().filter(|status| **status == 409).count();
    println!("409 answers among 61 racing verifies: {conflicts}");
    assert_eq!(conflicts, 0, "{statuses:?}");

    // Twelve phones, each with four wrong guesses racing the right code: attempts
    // remain, so the right code signs in every time.
    let mut signed_in = 0;
    let mut rounds = Vec::new();
    for person in 0..12u8 {
        let phone = format!("+121255504{person:02}");
        let client = client_from(80 + person);
        assert_eq!(request_code(&server, &client, &phone).await.status(), 202);
        let code = server.last_code_for(&phone);
        let wrong = wrong_code_for(&code);
        rounds.push((phone, code, wrong, client));
    }
    let mut racing = Vec::new();
    for (phone, code, wrong, client) in &rounds {
        for _ in 0..4 {
            racing.push(verify(&server, client, phone, wrong));
        }
        racing.push(verify(&server, client, phone, code));
    }
    let answers = futures::future::join_all(racing).await;
    for (index, answer) in answers.iter().enumerate() {
        let status = answer.status().as_u16();
        if index % 5 == 4 {
            signed_in += usize::from(status == 200);
        } else {
            assert_eq!(status, 401);
        }
    }
    assert_eq!(signed_in, 12);
}

#[tokio::test]
async fn no_code_and_a_wrong_code_look_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let client = client_from(100);
    let never_asked = verify(&server, &client, "+12125550501", "123456").await;
    let never_asked = error_code(never_asked).await;
    assert_eq!(
        request_code(&server, &client, "+12125550502")
            .await
            .status(),
        202
    );
    let code = server.last_code_for("+12125550502");
    let wrong = verify(&server, &client, "+12125550502", &wrong_code_for(&code)).await;
    assert_eq!(never_asked, error_code(wrong).await);
    assert_eq!(never_asked, (401, "invalid_code".into()));
}

#[tokio::test]
async fn wrong_guesses_are_budgeted_per_phone_across_codes_and_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[identity]\notp_min_interval_seconds = 0\notp_max_attempts = 4\notp_max_per_phone_per_hour = 20\n",
    )
    .await;
    let phone = "+12125550601";
    let mut failures = 0;
    let mut refused = None;
    // Each code is void after four wrong guesses; fresh codes and fresh addresses
    // leave only the per-phone budget to stop the guessing.
    'guessing: for round in 0..6u8 {
        let client = client_from(110 + round);
        assert_eq!(request_code(&server, &client, phone).await.status(), 202);
        let code = server.last_code_for(phone);
        for _ in 0..4 {
            let response = verify(&server, &client, phone, &wrong_code_for(&code)).await;
            if response.status() == 429 {
                assert!(retry_after(&response) >= 1);
                refused = Some(error_code(response).await);
                break 'guessing;
            }
            failures += 1;
        }
    }
    println!("wrong guesses at one phone before refusal: {failures}");
    assert_eq!(failures, 10);
    assert_eq!(refused, Some((429, "rate_limited".into())));
}
