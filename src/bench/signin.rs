//! Signing simulated people in through the real API: the roster import for
//! officers (admin API, in batches) and the one-time-code sign-in for everybody,
//! reading each code from the node's `file` SMS adapter (a JSON line per message,
//! tailed incrementally so thousands of sign-ins stay linear).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::BenchError;
use super::plan::{officer_name, phone_number};
use super::session::Person;
use super::stats::{Counters, bump};

/// Sign-ins one worker runs at the same time.
const SIGN_IN_CONCURRENCY: usize = 32;
/// Roster rows per import request.
const ROSTER_BATCH_ROWS: usize = 2_000;
/// How long to wait for a code to appear in the SMS file.
const CODE_WAIT: Duration = Duration::from_secs(10);
/// Pause between two looks at the SMS file.
const CODE_POLL: Duration = Duration::from_millis(5);

/// Imports officers `0..count` (phones from `phone`) in batches.
pub(crate) async fn import_roster(
    http: &reqwest::Client,
    base_url: &str,
    admin_token: &str,
    count: u32,
    phone: impl Fn(u32) -> String,
) -> Result<(), BenchError> {
    let indices: Vec<u32> = (0..count).collect();
    for batch in indices.chunks(ROSTER_BATCH_ROWS) {
        let mut csv = String::from("phone,display_name,badge,department\n");
        for &index in batch {
            csv.push_str(&format!(
                "{},{},{},BENCH\n",
                phone(index),
                officer_name(index),
                10_000 + index
            ));
        }
        let response = http
            .post(format!("{base_url}/v1/admin/import/officers"))
            .bearer_auth(admin_token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .map_err(|error| BenchError::Setup(format!("roster import failed: {error}")))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(BenchError::Setup(format!(
                "roster import answered {status}: {body}"
            )));
        }
    }
    Ok(())
}

/// Reads codes from the `file` SMS adapter's output as it grows.
#[derive(Debug)]
pub(crate) struct SmsTail {
    /// The file.
    path: PathBuf,
    /// Bytes read so far.
    offset: u64,
    /// An incomplete last line, kept until its end arrives.
    partial: String,
    /// Latest code per phone (E.164).
    codes: HashMap<String, String>,
}

/// One line of the SMS file.
#[derive(Debug, Deserialize)]
struct SmsLine {
    /// E.164 phone.
    phone: String,
    /// The one-time code.
    code: String,
}

impl SmsTail {
    /// Tails `path` from its current end: only codes sent from now on are seen.
    pub(crate) fn from_end(path: &Path) -> Self {
        let offset = std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0);
        Self {
            path: path.to_owned(),
            offset,
            partial: String::new(),
            codes: HashMap::new(),
        }
    }

    /// Takes the latest code sent to `phone` (new lines are read first, so an
    /// older code never wins over a newer one).
    fn take(&mut self, phone: &str) -> Option<String> {
        self.read_new_lines();
        self.codes.remove(phone)
    }

    fn read_new_lines(&mut self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut fresh = String::new();
        let Ok(read) = file.read_to_string(&mut fresh) else {
            return;
        };
        self.offset += read as u64;
        self.partial.push_str(&fresh);
        let complete_up_to = match self.partial.rfind('\n') {
            Some(position) => position + 1,
            None => return,
        };
        let complete: String = self.partial.drain(..complete_up_to).collect();
        for line in complete.lines() {
            if let Ok(message) = serde_json::from_str::<SmsLine>(line) {
                self.codes.insert(message.phone, message.code);
            }
        }
    }
}

/// Who a sign-in signed in.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    /// Bearer token for requests and sockets.
    pub(crate) access_token: String,
    /// The account, as the API names it (admin routes take it).
    pub(crate) account_id: String,
}

/// Requests a code for `phone`, reads it from the SMS file and verifies it;
/// returns the access token and the account.
pub(crate) async fn sign_in(
    http: &reqwest::Client,
    base_url: &str,
    sms: &Mutex<SmsTail>,
    phone: &str,
) -> Result<SignedIn, String> {
    let response = http
        .post(format!("{base_url}/v1/auth/otp/request"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .map_err(|error| format!("code request failed: {error}"))?;
    if response.status() != 202 {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!("code request answered {status}: {body}"));
    }
    let waited = tokio::time::Instant::now();
    let code = loop {
        if let Some(code) = sms.lock().await.take(phone) {
            break code;
        }
        if waited.elapsed() > CODE_WAIT {
            return Err(format!("no code for {phone} in the SMS file"));
        }
        tokio::time::sleep(CODE_POLL).await;
    };
    let response = http
        .post(format!("{base_url}/v1/auth/otp/verify"))
        .json(&json!({ "phone": phone, "code": code }))
        .send()
        .await
        .map_err(|error| format!("code verify failed: {error}"))?;
    if response.status() != 200 {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!("code verify answered {status}: {body}"));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|error| format!("verify answer is not JSON: {error}"))?;
    let text = |field: &str| {
        body[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("verify answer has no {field}"))
    };
    Ok(SignedIn {
        access_token: text("access_token")?,
        account_id: text("account_id")?,
    })
}

/// The node people sign in on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignInTarget<'plan> {
    /// `http://host:port`.
    pub(crate) base_url: &'plan str,
    /// Where the node's `file` SMS adapter writes codes.
    pub(crate) sms_file: &'plan Path,
    /// The phone numbers' block.
    pub(crate) phone_block: u32,
}

/// Signs `people` in, a few at a time, counting successes and failures; their
/// access tokens, or the first failure.
pub(crate) async fn sign_in_people(
    target: &SignInTarget<'_>,
    people: Vec<Person>,
    counters: &Counters,
) -> Result<HashMap<Person, String>, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|error| format!("http client: {error}"))?;
    let sms = Mutex::new(SmsTail::from_end(target.sms_file));
    let results: Vec<(Person, Result<String, String>)> = futures::stream::iter(people)
        .map(|person| {
            let http = &http;
            let sms = &sms;
            async move {
                let phone = phone_number(person.kind, person.index, target.phone_block);
                let outcome = sign_in(http, target.base_url, sms, &phone)
                    .await
                    .map(|signed_in| signed_in.access_token);
                match &outcome {
                    Ok(_) => bump(&counters.signed_in),
                    Err(_) => bump(&counters.sign_in_failures),
                }
                (person, outcome)
            }
        })
        .buffer_unordered(SIGN_IN_CONCURRENCY)
        .collect()
        .await;
    let mut tokens = HashMap::new();
    let mut first_error = None;
    for (person, outcome) in results {
        match outcome {
            Ok(token) => {
                tokens.insert(person, token);
            }
            Err(message) => {
                first_error.get_or_insert(message);
            }
        }
    }
    match first_error {
        Some(message) => Err(format!("sign-in failed: {message}")),
        None => Ok(tokens),
    }
}
