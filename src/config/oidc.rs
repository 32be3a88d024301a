//! The `[[identity.oidc]]` entries: OpenID Connect providers people may sign
//! in with (authorization code with PKCE, see docs/api.md), each checked once
//! here so a typo stops the start instead of failing the first sign-in.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Longest provider id: it is a path segment of the sign-in URLs.
const MAX_PROVIDER_ID_CHARS: usize = 32;

/// One OpenID Provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderConfig {
    /// Short name in the URLs (`/v1/auth/oidc/{id}/start`): lowercase
    /// letters, digits and `-`.
    pub id: String,
    /// The issuer URL; its discovery document is read from
    /// `<issuer>/.well-known/openid-configuration`, and ID tokens must name
    /// it exactly. `https://`, or `http://` on a loopback address (tests).
    pub issuer: String,
    /// The client id registered with the provider (also the ID token's
    /// expected audience).
    pub client_id: String,
    /// Name of the environment variable holding the client secret; the
    /// server does not start when it is unset or empty.
    pub client_secret_env: String,
    /// The redirect URI registered for the app (RFC 8252: a claimed
    /// `https://` link, a private-use scheme such as `org.example.app:/cb`,
    /// or a loopback `http://127.0.0.1` address). The app receives the code
    /// there and posts it to the callback.
    pub redirect_uri: String,
    /// Scopes asked for; must include `openid`. `email` and `profile` bring
    /// the email and name that prefill a new account.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// What the app shows on the sign-in button.
    pub label: String,
    /// Give up on a call to the provider (discovery, keys, code exchange)
    /// after this long; the client gets 503 `oidc_provider_unavailable`.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(str::to_owned).to_vec()
}

fn default_timeout_seconds() -> u64 {
    10
}

/// Checks every provider and that their ids are distinct.
pub(super) fn validate_providers(providers: &[OidcProviderConfig]) -> Result<(), ConfigError> {
    for (index, provider) in providers.iter().enumerate() {
        provider.validate()?;
        if providers[..index]
            .iter()
            .any(|earlier| earlier.id == provider.id)
        {
            return Err(invalid("identity.oidc.id", "must be unique"));
        }
    }
    Ok(())
}

impl OidcProviderConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let id_shaped = !self.id.is_empty()
            && self.id.chars().count() <= MAX_PROVIDER_ID_CHARS
            && self
                .id
                .chars()
                .all(|character| matches!(character, 'a'..='z' | '0'..='9' | '-'));
        if !id_shaped {
            return Err(invalid(
                "identity.oidc.id",
                "must be 1 to 32 lowercase letters, digits or '-'",
            ));
        }
        if !issuer_allowed(&self.issuer) {
            return Err(invalid(
                "identity.oidc.issuer",
                "must be an https:// URL (http:// only on a loopback address)",
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(invalid("identity.oidc.client_id", "must not be empty"));
        }
        if self.client_secret_env.trim().is_empty() {
            return Err(invalid(
                "identity.oidc.client_secret_env",
                "must name an environment variable",
            ));
        }
        if reqwest::Url::parse(&self.redirect_uri).is_err() {
            return Err(invalid(
                "identity.oidc.redirect_uri",
                "must be an absolute URI (https://, a private-use scheme, or loopback http://)",
            ));
        }
        if !self.scopes.iter().any(|scope| scope == "openid") {
            return Err(invalid("identity.oidc.scopes", "must include openid"));
        }
        if self.label.trim().is_empty() {
            return Err(invalid("identity.oidc.label", "must not be empty"));
        }
        if self.timeout_seconds == 0 {
            return Err(invalid(
                "identity.oidc.timeout_seconds",
                "must be greater than 0",
            ));
        }
        Ok(())
    }
}

/// An `https://` URL, or `http://` to a loopback host: ID tokens and keys
/// fetched in the clear could be swapped on the way.
fn issuer_allowed(issuer: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(issuer) else {
        return false;
    };
    if url.query().is_some() || url.fragment().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => url.host_str().is_some_and(|host| {
            host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|address| address.is_loopback())
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn with_provider(fields: &str) -> Result<Config, crate::config::ConfigError> {
        Config::from_toml_str(&format!(
            "[[identity.oidc]]\nclient_id = \"app\"\nclient_secret_env = \"SECRET\"\n\
             redirect_uri = \"org.example.app:/cb\"\nlabel = \"Example\"\n{fields}"
        ))
    }

    #[test]
    fn a_provider_is_read_with_default_scopes() {
        let config =
            with_provider("id = \"example\"\nissuer = \"https://id.example.org\"").unwrap();
        let provider = &config.identity.oidc[0];
        assert_eq!(provider.id, "example");
        assert_eq!(provider.scopes, ["openid", "email", "profile"]);
        assert_eq!(provider.timeout_seconds, 10);
    }

    #[test]
    fn plain_http_issuers_are_refused_unless_loopback() {
        let error =
            with_provider("id = \"example\"\nissuer = \"http://id.example.org\"").unwrap_err();
        assert!(
            error.to_string().contains("identity.oidc.issuer"),
            "{error}"
        );
        with_provider("id = \"local\"\nissuer = \"http://127.0.0.1:9000\"").unwrap();
    }

    #[test]
    fn bad_ids_scopes_and_duplicates_are_refused() {
        let bad_id = with_provider("id = \"Big Co\"\nissuer = \"https://id.example.org\"");
        assert!(bad_id.unwrap_err().to_string().contains("identity.oidc.id"));
        let no_openid = with_provider(
            "id = \"example\"\nissuer = \"https://id.example.org\"\nscopes = [\"email\"]",
        );
        assert!(no_openid.unwrap_err().to_string().contains("scopes"));
        let entry = "[[identity.oidc]]\nid = \"same\"\nissuer = \"https://id.example.org\"\n\
                     client_id = \"app\"\nclient_secret_env = \"SECRET\"\n\
                     redirect_uri = \"org.example.app:/cb\"\nlabel = \"Example\"\n";
        let twice = Config::from_toml_str(&format!("{entry}{entry}"));
        assert!(twice.unwrap_err().to_string().contains("unique"));
    }
}
