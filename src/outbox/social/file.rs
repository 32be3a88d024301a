//! The social file (`outbox.social_file`): a TOML file with the post
//! templates by event type and the city name of each 3-digit ZIP, read and
//! checked once at startup. Without one, the default templates are used and
//! posts name no place.
//!
//! ```toml
//! [templates]
//! "trophy.awarded" = "Hey Blue! {{ person }} earned {{ trophy }} on {{ day }}."
//!
//! [places]
//! "100" = "New York"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use super::templates::{MAX_PLACE_CHARS, PostTemplates, TemplateError};

/// Longest social file, in bytes.
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SocialFileText {
    /// Event type name → template source.
    #[serde(default)]
    templates: BTreeMap<String, String>,
    /// 3-digit ZIP → city name.
    #[serde(default)]
    places: BTreeMap<String, String>,
}

/// Why the social file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SocialFileError {
    /// It cannot be read.
    #[error("cannot read outbox.social_file {path}: {detail}")]
    Unreadable {
        /// Where.
        path: String,
        /// Why.
        detail: String,
    },
    /// It is not the expected TOML.
    #[error("outbox.social_file {path}: {detail}")]
    Invalid {
        /// Where.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

/// The checked contents: what posts say.
#[derive(Debug)]
pub(crate) struct SocialSettings {
    /// The post text per event type.
    pub(crate) templates: PostTemplates,
    /// The city name of each 3-digit ZIP the operator named.
    pub(crate) places: HashMap<String, String>,
}

impl SocialSettings {
    /// The defaults: built-in templates, no place names.
    pub(crate) fn defaults() -> Self {
        Self {
            templates: PostTemplates::defaults(),
            places: HashMap::new(),
        }
    }

    /// Reads and checks the file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, SocialFileError> {
        let shown = path.display().to_string();
        let unreadable = |detail: String| SocialFileError::Unreadable {
            path: shown.clone(),
            detail,
        };
        let size = std::fs::metadata(path)
            .map_err(|error| unreadable(error.to_string()))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(unreadable(format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|error| unreadable(error.to_string()))?;
        Self::from_toml_str(&text).map_err(|detail| SocialFileError::Invalid {
            path: shown.clone(),
            detail,
        })
    }

    /// Parses and checks the file's text.
    pub(crate) fn from_toml_str(text: &str) -> Result<Self, String> {
        let parsed: SocialFileText = toml::from_str(text).map_err(|error| error.to_string())?;
        let templates = PostTemplates::new(&parsed.templates)
            .map_err(|error: TemplateError| error.to_string())?;
        let mut places = HashMap::with_capacity(parsed.places.len());
        for (zip3, name) in parsed.places {
            if zip3.len() != 3 || !zip3.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(format!("places.\"{zip3}\": a key is a 3-digit ZIP prefix"));
            }
            let name = name.trim().to_owned();
            if name.is_empty()
                || name.chars().count() > MAX_PLACE_CHARS
                || name.chars().any(char::is_control)
            {
                return Err(format!(
                    "places.\"{zip3}\": a name is 1 to {MAX_PLACE_CHARS} characters, no control characters"
                ));
            }
            places.insert(zip3, name);
        }
        Ok(Self { templates, places })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_social_file_is_checked_whole() {
        let settings = SocialSettings::from_toml_str(
            "[templates]\n\"trophy.awarded\" = \"{{ person }} won {{ trophy }}\"\n[places]\n\"100\" = \"New York\"\n",
        )
        .expect("valid");
        assert_eq!(
            settings.places.get("100").map(String::as_str),
            Some("New York")
        );
        for (text, complaint) in [
            ("[places]\n\"1000\" = \"x\"\n", "3-digit"),
            ("[places]\n\"100\" = \"\"\n", "1 to"),
            (
                "[templates]\n\"trophy.awarded\" = \"{{ nope }}\"\n",
                "trophy.awarded",
            ),
            ("[other]\n", "unknown field"),
        ] {
            let error = SocialSettings::from_toml_str(text).unwrap_err();
            assert!(error.contains(complaint), "{text}: {error}");
        }
    }

    #[test]
    fn an_unreadable_file_names_its_path() {
        let error = SocialSettings::load(Path::new("/nonexistent/social.toml")).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/social.toml"),
            "{error}"
        );
    }
}
