//! The text of social posts: one template per event type, written by the
//! operator in the social file (`outbox.social_file`) or the defaults here,
//! rendered by MiniJinja in a sandbox: plain text (no escaping), no access to
//! files or code, no includes, a bounded amount of work per render (fuel),
//! and variables that must exist (a misspelt one is an error, not an empty
//! string). Every template is rendered against sample posts when it is
//! loaded, so a broken one stops the server at startup with its name.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::outbox::message::EventType;

/// Longest template source, in bytes.
pub(crate) const MAX_TEMPLATE_BYTES: usize = 2_048;
/// Longest rendered post, in characters.
pub(crate) const MAX_POST_CHARS: usize = 1_000;
/// Work allowed per render (MiniJinja fuel units, about one per instruction).
const FUEL_PER_RENDER: u64 = 20_000;

/// The default text of each event type's post.
const DEFAULTS: [(EventType, &str); 3] = [
    (
        EventType::ConnectionCompleted,
        "Hey Blue! {{ officer }} and {{ citizen }} connected{% if place %} in {{ place }}{% endif %} on {{ day }}. \"{{ quote }}\"",
    ),
    (
        EventType::TrophyAwarded,
        "Hey Blue! {{ person }} earned the {{ trophy }} trophy on {{ day }}.",
    ),
    (
        EventType::DonationMade,
        "Hey Blue! {{ person }} gave {{ points }} points to {{ charity }} on {{ day }}.",
    ),
];

/// What a template may use. Absent fields are undefined in the template
/// (test them with `{% if place %}`); which are present depends on the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PostContext {
    /// The UTC day of the fact, `YYYY-MM-DD`.
    pub(crate) day: String,
    /// connection.completed: the citizen's name, or "a neighbour".
    pub(crate) citizen: Option<String>,
    /// connection.completed: the officer's name, or "an officer".
    pub(crate) officer: Option<String>,
    /// connection.completed: the quote the connection was given.
    pub(crate) quote: Option<String>,
    /// The city of the 3-digit ZIP, when the social file names it.
    pub(crate) place: Option<String>,
    /// trophy.awarded, donation.made: the person's name, or their role's
    /// "an officer" / "a neighbour".
    pub(crate) person: Option<String>,
    /// trophy.awarded: the trophy's title.
    pub(crate) trophy: Option<String>,
    /// donation.made: the points given.
    pub(crate) points: Option<u32>,
    /// donation.made: the charity's name.
    pub(crate) charity: Option<String>,
}

impl PostContext {
    /// The template's variables: the present fields only.
    fn to_value(&self) -> Value {
        let text = |name: &'static str, value: &Option<String>| {
            value
                .as_ref()
                .map(|value| (name, Value::from(value.as_str())))
        };
        let fields = [
            Some(("day", Value::from(self.day.as_str()))),
            text("citizen", &self.citizen),
            text("officer", &self.officer),
            text("quote", &self.quote),
            text("place", &self.place),
            text("person", &self.person),
            text("trophy", &self.trophy),
            self.points.map(|points| ("points", Value::from(points))),
            text("charity", &self.charity),
        ];
        Value::from_pairs(fields.into_iter().flatten())
    }
}

/// Why the templates cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TemplateError {
    /// A key is not a social event type.
    #[error("templates.\"{0}\": not an event type with a post")]
    UnknownEventType(String),
    /// A template is too long.
    #[error("templates.\"{0}\": longer than {MAX_TEMPLATE_BYTES} bytes")]
    TooLong(&'static str),
    /// A template does not parse or does not render a sample post.
    #[error("templates.\"{event_type}\": {detail}")]
    Broken {
        /// Which.
        event_type: &'static str,
        /// The engine's message.
        detail: String,
    },
}

/// The loaded, checked templates.
#[derive(Debug)]
pub(crate) struct PostTemplates {
    /// The sandboxed engine holding one template per event type.
    environment: Environment<'static>,
}

impl PostTemplates {
    /// The defaults, with `overrides` (event type name → source) in their
    /// place; every template is checked against sample posts.
    pub(crate) fn new(overrides: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let mut environment = Environment::new();
        environment.set_auto_escape_callback(|_name| AutoEscape::None);
        environment.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        environment.set_fuel(Some(FUEL_PER_RENDER));
        environment.set_recursion_limit(16);
        for name in overrides.keys() {
            if !EventType::from_name(name)
                .is_some_and(|event_type| EventType::SOCIAL.contains(&event_type))
            {
                return Err(TemplateError::UnknownEventType(name.clone()));
            }
        }
        for (event_type, default) in DEFAULTS {
            let name = event_type.as_str();
            let source = overrides
                .get(name)
                .cloned()
                .unwrap_or_else(|| default.to_owned());
            if source.len() > MAX_TEMPLATE_BYTES {
                return Err(TemplateError::TooLong(name));
            }
            environment
                .add_template_owned(name, source)
                .map_err(|error| broken(name, &error))?;
        }
        let templates = Self { environment };
        templates.check_samples()?;
        Ok(templates)
    }

    /// The default templates.
    pub(crate) fn defaults() -> Self {
        match Self::new(&BTreeMap::new()) {
            Ok(templates) => templates,
            // The defaults are checked by a test.
            Err(error) => panic!("default post templates are broken: {error}"),
        }
    }

    /// The post for `event_type` with `context`.
    pub(crate) fn render(
        &self,
        event_type: EventType,
        context: &PostContext,
    ) -> Result<String, TemplateError> {
        let name = event_type.as_str();
        let template = self
            .environment
            .get_template(name)
            .map_err(|error| broken(name, &error))?;
        let text = template
            .render(context.to_value())
            .map_err(|error| broken(name, &error))?;
        let text = text.trim().to_owned();
        if text.is_empty() || text.chars().count() > MAX_POST_CHARS {
            return Err(TemplateError::Broken {
                event_type: name,
                detail: format!("a post must be 1 to {MAX_POST_CHARS} characters"),
            });
        }
        Ok(text)
    }

    /// Renders each template with the longest sample context and with the
    /// sparsest one (no names, no place), so what a real post may lack is
    /// found now.
    fn check_samples(&self) -> Result<(), TemplateError> {
        let long_name = "N".repeat(crate::domain::profile::DISPLAY_NAME_MAX_CHARS);
        for event_type in EventType::SOCIAL {
            for full in [true, false] {
                let name = |anonymous: &str| {
                    if full {
                        long_name.clone()
                    } else {
                        anonymous.to_owned()
                    }
                };
                let context = match event_type {
                    EventType::ConnectionCompleted => PostContext {
                        citizen: Some(name("a neighbour")),
                        officer: Some(name("an officer")),
                        quote: Some(longest_quote().to_owned()),
                        place: full.then(|| "N".repeat(MAX_PLACE_CHARS)),
                        ..sample_day()
                    },
                    EventType::TrophyAwarded => PostContext {
                        person: Some(name("a neighbour")),
                        trophy: Some("Week of hellos".to_owned()),
                        ..sample_day()
                    },
                    EventType::DonationMade => PostContext {
                        person: Some(name("an officer")),
                        points: Some(u32::MAX),
                        charity: Some("N".repeat(crate::domain::profile::DISPLAY_NAME_MAX_CHARS)),
                        ..sample_day()
                    },
                    // Not a post: its text is fixed.
                    EventType::PushNotification => continue,
                };
                self.render(event_type, &context)?;
            }
        }
        Ok(())
    }
}

/// Longest place name in the social file, in characters.
pub(crate) const MAX_PLACE_CHARS: usize = 60;

fn sample_day() -> PostContext {
    PostContext {
        day: "2026-01-01".to_owned(),
        ..PostContext::default()
    }
}

fn longest_quote() -> &'static str {
    crate::domain::quotes::QUOTES
        .iter()
        .copied()
        .max_by_key(|quote| quote.len())
        .unwrap_or_default()
}

fn broken(event_type: &'static str, error: &minijinja::Error) -> TemplateError {
    TemplateError::Broken {
        event_type,
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(event_type: &str, source: &str) -> Result<PostTemplates, TemplateError> {
        PostTemplates::new(&BTreeMap::from([(
            event_type.to_owned(),
            source.to_owned(),
        )]))
    }

    #[test]
    fn the_defaults_render_plain_text_without_escaping() {
        let templates = PostTemplates::defaults();
        let text = templates
            .render(
                EventType::ConnectionCompleted,
                &PostContext {
                    citizen: Some("Ann & <Bo>".to_owned()),
                    officer: Some("an officer".to_owned()),
                    quote: Some("It takes a village.".to_owned()),
                    place: None,
                    ..sample_day()
                },
            )
            .expect("renders");
        assert_eq!(
            text,
            "Hey Blue! an officer and Ann & <Bo> connected on 2026-01-01. \"It takes a village.\""
        );
    }

    #[test]
    fn a_broken_template_is_refused_with_its_event_type() {
        let error = with("trophy.awarded", "{{ person ").unwrap_err();
        assert!(error.to_string().contains("trophy.awarded"), "{error}");
        // A variable the event does not have.
        let error = with("trophy.awarded", "{{ persn }} won").unwrap_err();
        assert!(error.to_string().contains("trophy.awarded"), "{error}");
        // A place printed without checking it is there.
        let error = with("connection.completed", "{{ officer }} in {{ place }}").unwrap_err();
        assert!(
            error.to_string().contains("connection.completed"),
            "{error}"
        );
        let error = with("connection.made", "hi").unwrap_err();
        assert!(matches!(error, TemplateError::UnknownEventType(_)));
        let error = with("trophy.awarded", &"x".repeat(MAX_TEMPLATE_BYTES + 1)).unwrap_err();
        assert!(matches!(error, TemplateError::TooLong(_)));
    }

    #[test]
    fn templates_reach_no_files_and_run_out_of_fuel() {
        assert!(with("trophy.awarded", "{% include 'other' %}").is_err());
        assert!(with("trophy.awarded", "{% extends '/etc/passwd' %}").is_err());
        let endless = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}{{ person }}";
        let error = with("trophy.awarded", endless).unwrap_err();
        assert!(error.to_string().contains("fuel"), "{error}");
        let empty = with("trophy.awarded", "{% if false %}{{ person }}{% endif %}").unwrap_err();
        assert!(empty.to_string().contains("characters"), "{empty}");
    }

    #[test]
    fn an_operator_template_replaces_the_default() {
        let templates = with("trophy.awarded", "{{ person|upper }}: {{ trophy }}").expect("valid");
        let text = templates
            .render(
                EventType::TrophyAwarded,
                &PostContext {
                    person: Some("an officer".to_owned()),
                    trophy: Some("Regular".to_owned()),
                    ..sample_day()
                },
            )
            .expect("renders");
        assert_eq!(text, "AN OFFICER: Regular");
    }
}
