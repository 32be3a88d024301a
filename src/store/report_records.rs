//! Report aggregates as the store keeps them. Every event a report counts
//! (a connection, a ledger entry, a voucher, a completed donation, an
//! officer's availability window) becomes one or more [`ReportFact`]s, each
//! with an id derived from the event, and a fact adds to the cells of its
//! period at three time grains (its UTC hour, its UTC day, its UTC month),
//! at three area levels (ZIP, 3-digit ZIP, nation) and under each role it
//! counts for, so a long span reads few cells; facts of vouchers and pledges also name their
//! partner (the retailer or municipality, the charity), a dimension of their
//! cells. A cell of `participants` counts distinct people within its own
//! period and area (an hour, a day or a month): distinct counts cannot be
//! summed from finer cells, so each grain keeps its own.
//! Regions are not stored: they are unions of 3-digit ZIPs from the config,
//! summed when a report is read.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::report_area::{MAX_AREA_BYTES, ReportArea};
use crate::domain::{AccountId, Role};

/// Milliseconds in an hour.
const MS_PER_HOUR: i64 = 3_600_000;
/// Hours in a day.
const HOURS_PER_DAY: i64 = 24;

/// What a report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReportMetric {
    /// Connections established.
    Connections,
    /// Distinct people who took part in a connection (per cell).
    Participants,
    /// Points credited for connections.
    PointsCredited,
    /// Points debited for vouchers.
    PointsRedeemed,
    /// Points debited for donations.
    PointsDonated,
    /// Points given back.
    PointsRefunded,
    /// Minutes officers were available (from their availability windows).
    AvailabilityMinutes,
    /// Vouchers issued, per retailer (or municipality).
    VouchersIssued,
    /// Vouchers redeemed at the counter, per retailer (or municipality).
    VouchersRedeemed,
    /// Pledges (completed donations), per charity.
    Pledges,
}

impl ReportMetric {
    /// Every metric, in a fixed order.
    pub(crate) const ALL: [ReportMetric; 10] = [
        ReportMetric::Connections,
        ReportMetric::Participants,
        ReportMetric::PointsCredited,
        ReportMetric::PointsRedeemed,
        ReportMetric::PointsDonated,
        ReportMetric::PointsRefunded,
        ReportMetric::AvailabilityMinutes,
        ReportMetric::VouchersIssued,
        ReportMetric::VouchersRedeemed,
        ReportMetric::Pledges,
    ];

    /// The URL and storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReportMetric::Connections => "connections",
            ReportMetric::Participants => "participants",
            ReportMetric::PointsCredited => "points_credited",
            ReportMetric::PointsRedeemed => "points_redeemed",
            ReportMetric::PointsDonated => "points_donated",
            ReportMetric::PointsRefunded => "points_refunded",
            ReportMetric::AvailabilityMinutes => "availability_minutes",
            ReportMetric::VouchersIssued => "vouchers_issued",
            ReportMetric::VouchersRedeemed => "vouchers_redeemed",
            ReportMetric::Pledges => "pledges",
        }
    }

    /// The metric with this name.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|metric| metric.as_str() == name)
    }

    /// A one-byte tag for keys.
    pub(crate) fn tag(self) -> u8 {
        match self {
            ReportMetric::Connections => 1,
            ReportMetric::Participants => 2,
            ReportMetric::PointsCredited => 3,
            ReportMetric::PointsRedeemed => 4,
            ReportMetric::PointsDonated => 5,
            ReportMetric::PointsRefunded => 6,
            ReportMetric::AvailabilityMinutes => 7,
            ReportMetric::VouchersIssued => 8,
            ReportMetric::VouchersRedeemed => 9,
            ReportMetric::Pledges => 10,
        }
    }

    /// Whether its cells count distinct people rather than add amounts.
    pub(crate) fn is_distinct(self) -> bool {
        self == ReportMetric::Participants
    }

    /// Whether its cells are kept per partner (retailer, municipality or
    /// charity) as well as per area.
    pub(crate) fn has_partner(self) -> bool {
        match self {
            ReportMetric::VouchersIssued
            | ReportMetric::VouchersRedeemed
            | ReportMetric::Pledges => true,
            ReportMetric::Connections
            | ReportMetric::Participants
            | ReportMetric::PointsCredited
            | ReportMetric::PointsRedeemed
            | ReportMetric::PointsDonated
            | ReportMetric::PointsRefunded
            | ReportMetric::AvailabilityMinutes => false,
        }
    }
}

/// The role a cell counts for: everyone, or one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReportRole {
    /// Everyone (a connection counts once here, not once per person).
    All,
    /// Citizens.
    Citizen,
    /// Officers.
    Officer,
}

impl ReportRole {
    /// Every role, in a fixed order.
    pub(crate) const ALL: [ReportRole; 3] =
        [ReportRole::All, ReportRole::Citizen, ReportRole::Officer];

    /// The URL and storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReportRole::All => "all",
            ReportRole::Citizen => "citizen",
            ReportRole::Officer => "officer",
        }
    }

    /// The role with this name.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        [ReportRole::All, ReportRole::Citizen, ReportRole::Officer]
            .into_iter()
            .find(|role| role.as_str() == name)
    }

    /// A one-byte tag for keys.
    pub(crate) fn tag(self) -> u8 {
        match self {
            ReportRole::All => 0,
            ReportRole::Citizen => 1,
            ReportRole::Officer => 2,
        }
    }

    /// The role with this tag.
    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        [ReportRole::All, ReportRole::Citizen, ReportRole::Officer]
            .into_iter()
            .find(|role| role.tag() == tag)
    }
}

impl From<Role> for ReportRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Citizen => ReportRole::Citizen,
            Role::Officer => ReportRole::Officer,
        }
    }
}

/// Whether a store adds the facts of the records it writes to the report
/// aggregates (`reports.maintain_aggregates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReportUpkeep {
    /// Facts are added in the transaction of their record (the default).
    #[default]
    Maintain,
    /// Facts are not added as records are written: reports are stale until
    /// `heyblue reports rebuild` runs.
    Skip,
}

/// How long a stored cell's period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Grain {
    /// One UTC hour of one day: what `hour_of_day` reports read.
    Hour,
    /// One UTC day (hour 0 in its key): what reports by day and week read.
    Day,
    /// One UTC month, keyed by its first day (hour 0): what reports by month
    /// and totals read for the whole months of a span.
    Month,
}

impl Grain {
    /// Every stored grain.
    pub(crate) const ALL: [Grain; 3] = [Grain::Hour, Grain::Day, Grain::Month];

    /// A one-byte tag for keys.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Grain::Hour => 0,
            Grain::Day => 1,
            Grain::Month => 2,
        }
    }

    /// The grain with this tag.
    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|grain| grain.tag() == tag)
    }

    /// The (day, hour) of the cell of this grain a moment on `day` at `hour`
    /// falls in.
    pub(crate) fn period_of(self, day: i64, hour: u8) -> (i64, u8) {
        match self {
            Grain::Hour => (day, hour),
            Grain::Day => (day, 0),
            Grain::Month => (month_start(day), 0),
        }
    }
}

/// The date of a day since the Unix epoch.
pub(crate) fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::try_days(day)?))
}

/// The first day of the UTC month of `day` (days since the Unix epoch).
pub(crate) fn month_start(day: i64) -> i64 {
    date_of_day(day).map_or(day, |date| day - i64::from(date.day0()))
}

/// The first day of the UTC month after the one of `day`.
pub(crate) fn next_month_start(day: i64) -> i64 {
    let start = month_start(day);
    // 31 days on from the 1st is always in the next month.
    month_start(start + 31)
}

/// Which stored cells a read wants: one range of one (metric, grain, level,
/// role), over the cells whose period starts on days `from_day..=to_day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CellSelection {
    /// What is counted.
    pub(crate) metric: ReportMetric,
    /// How long each cell's period is.
    pub(crate) grain: Grain,
    /// How fine each cell's area is.
    pub(crate) level: AreaLevel,
    /// Whom.
    pub(crate) role: ReportRole,
    /// The first day a wanted cell's period may start on.
    pub(crate) from_day: i64,
    /// The last day a wanted cell's period may start on.
    pub(crate) to_day: i64,
}

impl CellSelection {
    /// Whether `key` is one of the cells it wants.
    pub(crate) fn contains(&self, key: &CellKey) -> bool {
        key.metric == self.metric
            && key.grain == self.grain
            && key.level == self.level
            && key.role == self.role
            && (self.from_day..=self.to_day).contains(&key.day)
    }
}

/// How fine a stored cell's area is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AreaLevel {
    /// A 5-digit ZIP: never finer.
    Zip,
    /// A 3-digit ZIP prefix.
    Zip3,
    /// The whole nation (area `""`), which also counts events with no ZIP.
    Nation,
}

impl AreaLevel {
    /// Every stored level.
    pub(crate) const ALL: [AreaLevel; 3] = [AreaLevel::Zip, AreaLevel::Zip3, AreaLevel::Nation];

    /// A one-byte tag for keys.
    pub(crate) fn tag(self) -> u8 {
        match self {
            AreaLevel::Zip => 0,
            AreaLevel::Zip3 => 1,
            AreaLevel::Nation => 2,
        }
    }

    /// The level with this tag.
    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.tag() == tag)
    }

    /// The area of `zip` (a checked [`report_zip`]) at this level; `None`
    /// when the level needs a ZIP and there is none.
    pub(crate) fn area_of(self, zip: Option<ReportArea>) -> Option<ReportArea> {
        match self {
            AreaLevel::Zip => zip,
            AreaLevel::Zip3 => zip.map(|zip| zip.prefix(3)),
            AreaLevel::Nation => Some(ReportArea::NATION),
        }
    }
}

/// A 5-digit ZIP, or `None` for anything else (an event without a US ZIP
/// counts only at the nation level).
pub(crate) fn report_zip(zip: Option<&str>) -> Option<ReportArea> {
    zip.filter(|zip| zip.len() == MAX_AREA_BYTES)
        .and_then(ReportArea::parse)
}

/// One counted thing, derived from a stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportFact {
    /// Derived from the event, the metric and the role: the same event
    /// always gives the same ids, so a fact written twice is one fact.
    pub(crate) fact_id: Uuid,
    /// What it counts.
    pub(crate) metric: ReportMetric,
    /// When the event happened (Unix ms).
    pub(crate) at_ms: i64,
    /// The 5-digit ZIP where it happened, if known.
    pub(crate) zip: Option<String>,
    /// The roles it counts for.
    pub(crate) roles: Vec<ReportRole>,
    /// How much it adds (1 for a count, points for points).
    pub(crate) amount: i64,
    /// For `participants`: the person counted once per cell.
    pub(crate) person: Option<AccountId>,
    /// For metrics kept per partner: the retailer or municipality of a
    /// voucher, the charity of a pledge (an organisation, never a person).
    #[serde(default)]
    pub(crate) partner: Option<Uuid>,
}

impl ReportFact {
    /// Its UTC day (days since the Unix epoch).
    pub(crate) fn day(&self) -> i64 {
        self.at_ms.div_euclid(MS_PER_HOUR * HOURS_PER_DAY)
    }

    /// Its UTC hour of day (0..=23).
    pub(crate) fn hour(&self) -> u8 {
        hour_of(self.at_ms)
    }

    /// The cells it adds to: every (grain, level, area) it has, under every
    /// role.
    pub(crate) fn cell_keys(&self) -> Vec<CellKey> {
        let zip = report_zip(self.zip.as_deref());
        let mut keys =
            Vec::with_capacity(Grain::ALL.len() * AreaLevel::ALL.len() * self.roles.len());
        let (day, hour) = (self.day(), self.hour());
        for grain in Grain::ALL {
            let (period_day, period_hour) = grain.period_of(day, hour);
            for level in AreaLevel::ALL {
                let Some(area) = level.area_of(zip) else {
                    continue;
                };
                for role in &self.roles {
                    keys.push(CellKey {
                        metric: self.metric,
                        grain,
                        level,
                        day: period_day,
                        hour: period_hour,
                        area,
                        role: *role,
                        partner: self.partner,
                    });
                }
            }
        }
        keys
    }
}

/// The UTC hour of day of a time.
pub(crate) fn hour_of(at_ms: i64) -> u8 {
    let hour = at_ms.div_euclid(MS_PER_HOUR).rem_euclid(HOURS_PER_DAY);
    u8::try_from(hour).unwrap_or(0)
}

/// A fact id: the first 16 bytes of SHA-256 over the event id and a tag
/// naming the metric and role, so ids of one event never collide.
pub(crate) fn fact_id(event_id: Uuid, metric: ReportMetric, tag: &str) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(b"heyblue report fact\0");
    hasher.update(event_id.as_bytes());
    hasher.update(metric.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(tag.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// Where a cell is: metric, grain and period, area level and area, role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CellKey {
    /// What it counts.
    pub(crate) metric: ReportMetric,
    /// How long its period is.
    pub(crate) grain: Grain,
    /// How fine its area is.
    pub(crate) level: AreaLevel,
    /// The first UTC day of its period.
    pub(crate) day: i64,
    /// UTC hour of day of an hourly cell (0 for days and months).
    pub(crate) hour: u8,
    /// The ZIP, the 3-digit ZIP, or `""` for the nation.
    pub(crate) area: ReportArea,
    /// Whom it counts.
    pub(crate) role: ReportRole,
    /// The partner it counts for, for metrics kept per partner.
    pub(crate) partner: Option<Uuid>,
}

/// One stored aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportCell {
    /// Where it is.
    pub(crate) key: CellKey,
    /// Its count or sum.
    pub(crate) value: i64,
}

/// What a roll-up of dirty days did (the CQL store; the embedded store keeps
/// its cells in each write's transaction and never has any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RollUpPass {
    /// (metric, day)s rolled up: the days found dirty.
    pub(crate) days: u64,
    /// (metric, month)s recomputed.
    pub(crate) months: u64,
    /// Fact rows read.
    pub(crate) fact_rows_read: u64,
}

impl RollUpPass {
    /// Adds what another roll-up did.
    pub(crate) fn add(&mut self, other: RollUpPass) {
        self.days = self.days.saturating_add(other.days);
        self.months = self.months.saturating_add(other.months);
        self.fact_rows_read = self.fact_rows_read.saturating_add(other.fact_rows_read);
    }
}
