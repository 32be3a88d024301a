use serde::Deserialize;

use super::bearer::AdminToken;
use super::json_body::decode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[allow(dead_code)]
    phone: String,
}

fn code_of(bytes: &[u8]) -> &'static str {
    decode::<Body>(bytes).unwrap_err().code()
}

#[test]
fn json_failures_are_classified_for_clients() {
    assert_eq!(code_of(b"{\"phone\":"), "malformed_json");
    assert_eq!(code_of(b"{\"phone\":\"1\"} trailing"), "malformed_json");
    assert_eq!(code_of(b"{\"phone\":1}"), "invalid_type");
    assert_eq!(code_of(b"{}"), "missing_field");
    assert_eq!(
        code_of(b"{\"phone\":\"1\",\"role\":\"officer\"}"),
        "unknown_field"
    );
    assert!(decode::<Body>(b"{\"phone\":\"1\"}").is_ok());
}

#[test]
fn admin_token_matches_only_itself() {
    let token = AdminToken::new("secret-token\n");
    assert!(token.matches("secret-token"));
    assert!(!token.matches("secret-tokem"));
    assert!(!token.matches(""));
    assert_eq!(format!("{token:?}"), "AdminToken(..)");
}
