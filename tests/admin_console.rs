//! The admin console in a real headless Chromium, driven through WebDriver
//! (chromedriver, started by the test on a free loopback port): a wrong key is
//! refused, the admin signs in, the dashboard shows the report API's numbers
//! and draws the map, a report's CSV link downloads what the API serves, a bad
//! import file shows its report, forms without the session's CSRF token are
//! refused, and the analyst sees no import page. A screenshot of each page is
//! saved under `target/tmp/browser-screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (`scripts/test` installs them); without
//! them the test fails, unless `HEYBLUE_SKIP_BROWSER=1`: then it says SKIPPED.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::points::earn_points;
use common::rewards::token_of;
use common::{ADMIN_TOKEN, ANALYST_TOKEN, TestServer, report_skip};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550409";
const CITIZEN_PHONES: [&str; 5] = [
    "+12125550411",
    "+12125550412",
    "+12125550413",
    "+12125550414",
    "+12125550415",
];
/// How long chromedriver gets to answer its status endpoint.
const DRIVER_START: Duration = Duration::from_secs(30);

/// The chromedriver binary, if installed.
fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// Where screenshots go.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// A running chromedriver, stopped when dropped.
struct Driver {
    child: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start(binary: &Path) -> Self {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let child = tokio::process::Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group, which the browsers it starts join, so
            // that dropping the driver (a failed assertion too) stops them.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + DRIVER_START;
        // Ask its status until it is ready (a state query, not a guess).
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .send()
                .await
                .ok()
                .filter(|response| response.status().is_success());
            if let Some(response) = ready {
                let status: Value = response.json().await.unwrap();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(group) = self.child.id() {
            let stopped = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .status();
            if !stopped.is_ok_and(|status| status.success()) {
                eprintln!("the chromedriver process group {group} could not be stopped");
            }
        }
        if let Err(error) = self.child.start_kill() {
            eprintln!("chromedriver could not be stopped: {error}");
        }
    }
}

async fn headless_chromium(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1400"],
        }),
    );
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

/// The text of the element `css` names, once the page shows it.
async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
        .text()
        .await
        .unwrap()
}

/// Signs in with `key` and waits for the page at `lands_on`.
async fn sign_in(server: &TestServer, browser: &Client, key: &str, lands_on: &str) {
    browser.goto(&server.url("/admin/login")).await.unwrap();
    browser
        .find(Locator::Id("key"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
    browser
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(browser, lands_on).await;
}

/// Waits until the browser shows the page at `path` (asked of the browser
/// until it does, for a form whose answer is a redirect).
async fn wait_for_path(browser: &Client, path: &str) {
    let mut expected = browser.current_url().await.unwrap();
    expected.set_path(path);
    expected.set_query(None);
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&expected)
        .await
        .unwrap_or_else(|error| panic!("never reached {path}: {error}"));
}

async fn api_report(server: &TestServer, query: &str) -> reqwest::Response {
    let response = server
        .http
        .get(server.url(&format!("/v1/admin/reports/{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response
}

/// The `Cookie` header of the browser's console session.
async fn session_cookie(browser: &Client) -> String {
    let cookie = browser.get_named_cookie("heyblue_console").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    format!("heyblue_console={}", cookie.value())
}

#[tokio::test]
async fn the_console_works_in_a_real_browser() {
    let Some(binary) = chromedriver() else {
        if std::env::var("HEYBLUE_SKIP_BROWSER").as_deref() == Ok("1") {
            report_skip("browser test: chromedriver is not installed and HEYBLUE_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "chromium and chromedriver are not installed: run scripts/test (it installs them), \
             or set HEYBLUE_SKIP_BROWSER=1 to skip this test"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[admin]\nmin_report_cell_count = 5\n[connections]\ncitizen_points_per_connection = 10\n\
         officer_points_per_connection = 4\n",
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer C,513,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    for phone in CITIZEN_PHONES {
        let citizen = token_of(&server.sign_in(phone).await);
        earn_points(&server, &officer, &citizen).await;
    }
    // A name a careless page would run as markup.
    let retailers = server
        .http
        .post(server.url("/v1/admin/import/retailers"))
        .bearer_auth(ADMIN_TOKEN)
        .header("Content-Type", "text/csv")
        .body(
            "retailer_ref,name,address,zip,contact,status\n\
             shop-1,<b>Bold & Co</b>,1 Main Street,10001,owner@example.com,active\n",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(retailers.status(), 200);
    let driver = Driver::start(&binary).await;
    let browser = headless_chromium(&driver).await;

    // Not signed in: the console sends the browser to its login page.
    browser.goto(&server.url("/admin")).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/admin/login");
    screenshot(&browser, "01-login").await;
    sign_in(&server, &browser, "not-the-key", "/admin/login").await;
    assert!(
        text_of(&browser, "#login-problem")
            .await
            .contains("not the admin token")
    );
    screenshot(&browser, "02-login-refused").await;

    sign_in(&server, &browser, ADMIN_TOKEN, "/admin").await;
    assert_eq!(browser.current_url().await.unwrap().path(), "/admin");
    let connections: Value = api_report(&server, "connections?area=nation")
        .await
        .json()
        .await
        .unwrap();
    let credited: Value = api_report(&server, "points_credited?area=nation")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(connections["total"]["value"], 5);
    assert_eq!(
        text_of(&browser, "#total-connections").await,
        connections["total"]["value"].to_string()
    );
    assert_eq!(
        text_of(&browser, "#total-earned").await,
        credited["total"]["value"].to_string()
    );
    let top_area = text_of(&browser, "#top-areas tbody th").await;
    // Times Square: a Manhattan 3-digit area.
    assert!(
        top_area.starts_with("10") && top_area.ends_with("xx"),
        "{top_area}"
    );
    let dots = browser
        .find_all(Locator::Css("#zip3-map circle.dot"))
        .await
        .unwrap();
    assert_eq!(dots.len(), 1, "one published area, drawn once");
    assert_eq!(
        dots[0].attr("data-area").await.unwrap().as_deref(),
        Some(&top_area[..3])
    );
    screenshot(&browser, "03-dashboard").await;

    // A report, and its CSV through the page's link with the session cookie.
    browser
        .goto(&server.url("/admin/reports?metric=connections&area=zip&group_by=day"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "#report-total").await, "5");
    screenshot(&browser, "04-reports").await;
    let href = browser
        .find(Locator::Id("csv-link"))
        .await
        .unwrap()
        .prop("href")
        .await
        .unwrap()
        .unwrap();
    let cookie = session_cookie(&browser).await;
    let download = server
        .http
        .get(&href)
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert!(
        download.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = download.text().await.unwrap();
    let from_api = api_report(&server, "connections.csv?area=zip&group_by=day")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv, from_api);
    assert!(csv.contains(",5,false"), "{csv}");
    let anonymous = server.http.get(&href).send().await.unwrap();
    assert_eq!(anonymous.url().path(), "/admin/login", "no cookie, no CSV");

    // A bad file: its import report, with the problems.
    browser.goto(&server.url("/admin/import")).await.unwrap();
    screenshot(&browser, "05-import").await;
    let bad_file = dir.path().join("retailers.csv");
    std::fs::write(&bad_file, "name,colour\n=HYPERLINK(\"x\"),blue\n").unwrap();
    browser
        .find(Locator::Id("kind"))
        .await
        .unwrap()
        .select_by_value("retailers")
        .await
        .unwrap();
    browser
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(bad_file.to_str().unwrap())
        .await
        .unwrap();
    browser
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&browser, "#outcome").await.starts_with("Rejected"));
    let problems = text_of(&browser, "#problems").await;
    assert!(problems.contains("unknown_column"), "{problems}");
    screenshot(&browser, "06-import-report").await;

    // Forms without the session's token are refused, and change nothing.
    let no_token = server
        .http
        .post(server.url("/admin/logout"))
        .header("Cookie", &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("csrf=guessed")
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let upload = "--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nretailers\r\n\
                  --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n\
                  Content-Type: text/csv\r\n\r\nname\nShop\n\r\n--b--\r\n";
    let no_token = server
        .http
        .post(server.url("/admin/import"))
        .header("Cookie", &cookie)
        .header("Content-Type", "multipart/form-data; boundary=b")
        .body(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let still_signed_in = server
        .http
        .get(server.url("/admin"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(still_signed_in.url().path(), "/admin");

    browser
        .goto(&server.url("/admin/catalog/retailers"))
        .await
        .unwrap();
    let catalog = text_of(&browser, "#catalog").await;
    assert!(
        catalog.contains("<b>Bold & Co</b>"),
        "shown as text: {catalog}"
    );
    screenshot(&browser, "07-catalog").await;
    browser.goto(&server.url("/admin/cluster")).await.unwrap();
    assert!(text_of(&browser, "#nodes").await.contains("this node"));
    screenshot(&browser, "08-cluster").await;
    browser.goto(&server.url("/admin/outbox")).await.unwrap();
    assert!(text_of(&browser, "#deliveries").await.contains("None."));
    screenshot(&browser, "08b-outbox").await;

    // Signing out ends the session on the server too.
    browser
        .find(Locator::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&browser, "/admin/login").await;
    let after_logout = server
        .http
        .get(server.url("/admin"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after_logout.url().path(), "/admin/login");

    let audit: Value = server
        .http
        .get(server.url("/v1/admin/audit"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert_eq!(
        actions[..3],
        ["console_signed_out", "data_imported", "console_signed_in"],
        "newest first: {actions:?}"
    );

    // The analyst: the dashboard and the reports, no import.
    sign_in(&server, &browser, ANALYST_TOKEN, "/admin").await;
    assert_eq!(
        text_of(&browser, "#total-connections").await,
        connections["total"]["value"].to_string()
    );
    let navigation = text_of(&browser, "header nav").await;
    assert!(navigation.contains("Reports") && !navigation.contains("Import"));
    browser.goto(&server.url("/admin/import")).await.unwrap();
    assert!(
        text_of(&browser, "main")
            .await
            .contains("needs the admin token")
    );
    screenshot(&browser, "09-analyst-refused").await;
    browser.set_window_size(390, 1600).await.unwrap();
    browser.goto(&server.url("/admin")).await.unwrap();
    screenshot(&browser, "10-dashboard-phone").await;

    browser.close().await.unwrap();
    drop(driver);
}

/// The login form's cookie (`name=value`) and the token it pairs with.
async fn login_form(server: &TestServer) -> (String, String) {
    let page = server
        .http
        .get(server.url("/admin/login"))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let token = html
        .split("name=\"login_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, token)
}

async fn post_login(server: &TestServer, cookie: Option<&str>, token: &str, key: &str) -> u16 {
    let mut request = server
        .http
        .post(server.url("/admin/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("login_token={token}&key={key}"));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn login_needs_its_own_form_and_attempts_are_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let (cookie, token) = login_form(&server).await;
    assert!(cookie.starts_with("heyblue_console_login="));
    assert_eq!(
        post_login(&server, None, &token, ADMIN_TOKEN).await,
        403,
        "a form posted without the browser's login cookie (another site's)"
    );
    for _ in 1..20 {
        assert_eq!(
            post_login(&server, Some(&cookie), &token, "guess").await,
            401
        );
    }
    assert_eq!(
        post_login(&server, Some(&cookie), &token, ADMIN_TOKEN).await,
        429,
        "the 21st attempt within the hour is refused, right key or not"
    );
}
