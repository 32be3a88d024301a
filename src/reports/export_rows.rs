//! The rows of a de-identified export: one per person per connection, with
//! a pseudonymous participant id (a keyed hash), the UTC day and hour only,
//! the 3-digit ZIP (or the ZIP when at least the threshold of people took
//! part there in the exported span), the role and the points credited.
//! Nothing else about a person leaves the store.

use std::collections::{BTreeMap, BTreeSet};

use super::rebuild_command::day_text;
use crate::domain::connection::utc_day;
use crate::domain::{AccountId, Role};
use crate::identity::keys::keyed_hash;
use crate::store::ConnectionRecord;
use crate::store::report_area::ReportArea;
use crate::store::report_records::{hour_of, report_zip};

/// Hex characters of a pseudonym (64 bits).
const PSEUDONYM_HEX: usize = 16;

/// One exported row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ExportRow {
    /// UTC day, `YYYY-MM-DD`.
    pub(crate) day: String,
    /// UTC hour of day.
    pub(crate) hour: i32,
    /// The pseudonymous connection id.
    pub(crate) connection: String,
    /// `citizen` or `officer`.
    pub(crate) role: &'static str,
    /// The pseudonymous participant id.
    pub(crate) participant: String,
    /// The ZIP or 3-digit ZIP, or `""` when unknown.
    pub(crate) area: String,
    /// `zip`, `zip3` or `""`.
    pub(crate) area_level: &'static str,
    /// Points credited to the person for it.
    pub(crate) points: i64,
}

/// The keyed hash that names people and connections in one export.
#[derive(Clone)]
pub(crate) struct Pseudonymizer {
    /// The key: random per export unless stable pseudonyms were asked for.
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Pseudonymizer(..)")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with `key`.
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The pseudonym of an id under a domain tag.
    fn name(&self, tag: &[u8], id: &uuid::Uuid) -> String {
        let digest = keyed_hash(&self.key, &[tag, id.as_bytes()]);
        let mut text = hex::encode(digest);
        text.truncate(PSEUDONYM_HEX);
        text
    }
}

/// The rows of `records` (connections in the exported span); a ZIP is kept
/// only where at least `threshold` distinct people took part.
pub(crate) fn export_rows(
    records: &[ConnectionRecord],
    pseudonymizer: &Pseudonymizer,
    threshold: u32,
) -> Vec<ExportRow> {
    let mut people_by_zip: BTreeMap<ReportArea, BTreeSet<AccountId>> = BTreeMap::new();
    for record in records {
        if let Some(zip) = report_zip(record.zip.as_deref()) {
            let people = people_by_zip.entry(zip).or_default();
            people.insert(record.citizen.account_id);
            people.insert(record.officer.account_id);
        }
    }
    let mut rows = Vec::with_capacity(records.len() * 2);
    for record in records {
        let (area, area_level) = match report_zip(record.zip.as_deref()) {
            Some(zip)
                if people_by_zip
                    .get(&zip)
                    .is_some_and(|people| people.len() >= threshold as usize) =>
            {
                (zip.to_string(), "zip")
            }
            Some(zip) => (zip.prefix(3).to_string(), "zip3"),
            None => (String::new(), ""),
        };
        let connection = pseudonymizer.name(b"connection", &record.connection_id);
        for (role, party) in [
            (Role::Citizen, &record.citizen),
            (Role::Officer, &record.officer),
        ] {
            rows.push(ExportRow {
                day: day_text(utc_day(record.established_at_ms)),
                hour: i32::from(hour_of(record.established_at_ms)),
                connection: connection.clone(),
                role: role.as_str(),
                participant: pseudonymizer.name(b"participant", &party.account_id.0),
                area: area.clone(),
                area_level,
                points: party.points,
            });
        }
    }
    rows.sort();
    rows
}
