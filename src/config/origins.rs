//! `http.allowed_origins`: the web origins whose pages may open a WebSocket.
//! Each is an origin exactly as browsers send it (`scheme://host[:port]`), so the
//! gateway compares strings and nothing else.

use super::{ConfigError, invalid};

const KEY: &str = "http.allowed_origins";

/// Every entry is `http(s)://host[:port]`: lowercase, no path, no trailing slash.
pub(super) fn validate_allowed_origins(origins: &[String]) -> Result<(), ConfigError> {
    for origin in origins {
        if let Some(problem) = origin_problem(origin) {
            return Err(ConfigError::Key {
                key: KEY.to_owned(),
                problem: format!("\"{origin}\" {problem}"),
            });
        }
    }
    let mut sorted: Vec<&String> = origins.iter().collect();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != origins.len() {
        return Err(invalid(KEY, "lists an origin twice"));
    }
    Ok(())
}

fn origin_problem(origin: &str) -> Option<&'static str> {
    let Some(authority) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return Some("must start with https:// or http://");
    };
    if authority.is_empty() {
        return Some("names no host");
    }
    if authority.contains(['/', '?', '#', '@', ' ']) {
        return Some("must be scheme://host[:port] with no path, as browsers send it");
    }
    if authority.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("must be lowercase, as browsers send it");
    }
    if let Some((_, port)) = authority.rsplit_once(':')
        && !authority.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Some("has an invalid port");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<String> {
        list.iter().map(|origin| (*origin).to_owned()).collect()
    }

    #[test]
    fn browser_origins_pass_and_urls_with_paths_do_not() {
        let good = origins(&["https://app.example.org", "http://localhost:3000"]);
        assert!(validate_allowed_origins(&good).is_ok());
        for bad in [
            "app.example.org",
            "https://app.example.org/",
            "https://app.example.org/path",
            "https://App.example.org",
            "https://",
            "https://host:http",
            "*",
        ] {
            let error = validate_allowed_origins(&origins(&[bad])).unwrap_err();
            assert!(error.to_string().contains(KEY), "{bad}: {error}");
        }
        let twice = origins(&["https://a.example", "https://a.example"]);
        assert!(validate_allowed_origins(&twice).is_err());
    }
}
