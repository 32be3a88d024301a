//! The five kinds of import and the one schema each: its columns, their type,
//! whether each is required, its constraints and an example. The same tables
//! drive validation (which columns exist and are required) and render the
//! schema section of `docs/imports.md` (a test compares them), so the
//! documentation cannot drift from the code.

use serde::{Deserialize, Serialize};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[derive(clap::ValueEnum)]
pub enum ImportKind {
    /// The officer roster of a department.
    Officers,
    /// Retailers: the shops whose offers points buy.
    Retailers,
    /// Retailers' offers.
    Offers,
    /// Municipalities' schemes (a free transit day).
    Schemes,
    /// Charities points can be donated to.
    Charities,
}

impl ImportKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [ImportKind; 5] = [
        ImportKind::Officers,
        ImportKind::Retailers,
        ImportKind::Offers,
        ImportKind::Schemes,
        ImportKind::Charities,
    ];

    /// The name in commands, URLs and reports (`offers`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Officers => "officers",
            ImportKind::Retailers => "retailers",
            ImportKind::Offers => "offers",
            ImportKind::Schemes => "schemes",
            ImportKind::Charities => "charities",
        }
    }

    /// The kind named `text`, if any.
    pub fn from_text(text: &str) -> Option<Self> {
        ImportKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// Its columns, key first.
    pub(crate) fn columns(self) -> &'static [Column] {
        match self {
            ImportKind::Officers => &OFFICER_COLUMNS,
            ImportKind::Retailers => &RETAILER_COLUMNS,
            ImportKind::Offers => &OFFER_COLUMNS,
            ImportKind::Schemes => &SCHEME_COLUMNS,
            ImportKind::Charities => &CHARITY_COLUMNS,
        }
    }

    /// The column that identifies a row (the external id, or the phone).
    pub(crate) fn key_column(self) -> &'static str {
        self.columns()[0].name
    }
}

impl std::fmt::Display for ImportKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What a column holds, as an admin reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(into = "&'static str")]
pub(crate) enum ColumnType {
    /// An external id: 1 to 64 letters, digits, `.`, `_` or `-`.
    Reference,
    /// A phone number.
    Phone,
    /// Text.
    Text,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A date (`2026-01-01`, midnight UTC) or an RFC 3339 date-time.
    DateTime,
    /// ZIPs and 3-digit ZIP prefixes.
    ZipList,
    /// A UUID.
    Uuid,
    /// One of a fixed set of words.
    Choice,
}

impl From<ColumnType> for &'static str {
    fn from(column_type: ColumnType) -> Self {
        column_type.as_str()
    }
}

impl ColumnType {
    /// The name in the documentation.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ColumnType::Reference => "reference",
            ColumnType::Phone => "phone",
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Boolean => "boolean",
            ColumnType::DateTime => "date-time",
            ColumnType::ZipList => "ZIP list",
            ColumnType::Uuid => "uuid",
            ColumnType::Choice => "choice",
        }
    }
}

/// One column of a schema (served by `GET /v1/admin/import/{kind}/schema`).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub(crate) struct Column {
    /// Header name (CSV) or key (NDJSON).
    pub(crate) name: &'static str,
    /// What it holds.
    #[serde(rename = "type")]
    pub(crate) column_type: ColumnType,
    /// Whether every row must fill it.
    pub(crate) required: bool,
    /// What a value must satisfy, as the documentation says it.
    pub(crate) constraints: &'static str,
    /// A valid value, as the sample files use.
    pub(crate) example: &'static str,
}

const fn column(
    name: &'static str,
    column_type: ColumnType,
    required: bool,
    constraints: &'static str,
    example: &'static str,
) -> Column {
    Column {
        name,
        column_type,
        required,
        constraints,
        example,
    }
}

/// Constraints of every external id column.
const REFERENCE_RULE: &str = "1 to 64 letters, digits, `.`, `_` or `-`; unique in the file";
/// Constraints of every `status` column.
const STATUS_RULE: &str = "`active` (the default) or `suspended`";

const OFFICER_COLUMNS: [Column; 5] = [
    column(
        "phone",
        ColumnType::Phone,
        true,
        "a phone number (national numbers are read in the server's `phone_region`); unique in the file",
        "+12125550101",
    ),
    column(
        "display_name",
        ColumnType::Text,
        true,
        "1 to 40 characters, one line",
        "Officer Diaz",
    ),
    column(
        "badge",
        ColumnType::Text,
        true,
        "1 to 32 characters, one line",
        "4411",
    ),
    column(
        "department",
        ColumnType::Text,
        true,
        "1 to 100 characters, one line",
        "NYPD 1st Precinct",
    ),
    column(
        "active",
        ColumnType::Boolean,
        false,
        "`true` (the default) or `false`: `false` takes the officer off the roster",
        "true",
    ),
];

const RETAILER_COLUMNS: [Column; 6] = [
    column(
        "retailer_ref",
        ColumnType::Reference,
        true,
        REFERENCE_RULE,
        "shop-0001",
    ),
    column(
        "name",
        ColumnType::Text,
        true,
        "1 to 100 characters, one line",
        "Corner Cafe",
    ),
    column(
        "address",
        ColumnType::Text,
        true,
        "1 to 200 characters, one line",
        "1 Main Street",
    ),
    column("zip", ColumnType::Text, true, "a 5-digit ZIP", "10001"),
    column(
        "contact",
        ColumnType::Text,
        true,
        "1 to 200 characters, one line; not shown to people",
        "owner@example.com",
    ),
    column("status", ColumnType::Choice, false, STATUS_RULE, "active"),
];

/// The columns offers and schemes share, after their key and issuer.
macro_rules! offer_columns {
    ($key:expr, $issuer:expr) => {
        [
            $key,
            $issuer,
            column(
                "title",
                ColumnType::Text,
                true,
                "1 to 80 characters, one line",
                "Free coffee",
            ),
            column(
                "description",
                ColumnType::Text,
                true,
                "1 to 1000 characters; line breaks allowed",
                "One small coffee",
            ),
            column(
                "point_cost",
                ColumnType::Integer,
                true,
                "1 to 1000000",
                "50",
            ),
            column(
                "area",
                ColumnType::ZipList,
                true,
                "1 to 100 ZIPs or 3-digit ZIP prefixes, separated by spaces (a JSON array of strings in NDJSON)",
                "10001 112",
            ),
            column(
                "valid_from",
                ColumnType::DateTime,
                true,
                "`2026-01-01` (midnight UTC) or RFC 3339, between 2000 and 2100",
                "2026-01-01",
            ),
            column(
                "valid_until",
                ColumnType::DateTime,
                true,
                "as `valid_from`, and after it (exclusive)",
                "2027-01-01",
            ),
            column(
                "total_quantity",
                ColumnType::Integer,
                false,
                "1 to 1000000; empty: unlimited",
                "500",
            ),
            column(
                "limit_count",
                ColumnType::Integer,
                false,
                "1 to 1000 vouchers per person per `limit_per`; both or neither",
                "1",
            ),
            column(
                "limit_per",
                ColumnType::Choice,
                false,
                "`day`, `month` or `ever`; both or neither with `limit_count`",
                "day",
            ),
            column(
                "voucher_lifetime_seconds",
                ColumnType::Integer,
                true,
                "3600 to 31536000",
                "86400",
            ),
            column("status", ColumnType::Choice, false, STATUS_RULE, "active"),
        ]
    };
}

const OFFER_COLUMNS: [Column; 13] = offer_columns!(
    column(
        "offer_ref",
        ColumnType::Reference,
        true,
        REFERENCE_RULE,
        "offer-0001"
    ),
    column(
        "retailer_ref",
        ColumnType::Reference,
        true,
        "the `retailer_ref` of a retailer imported before",
        "shop-0001"
    )
);

const SCHEME_COLUMNS: [Column; 13] = offer_columns!(
    column(
        "scheme_ref",
        ColumnType::Reference,
        true,
        REFERENCE_RULE,
        "scheme-0001"
    ),
    column(
        "municipality_id",
        ColumnType::Uuid,
        true,
        "the id of a municipality of the catalog (`/v1/admin/catalog/municipalities`); the area must lie inside the municipality's",
        "7d444840-9dc0-11d1-b245-5ffdce74fad2"
    )
);

const CHARITY_COLUMNS: [Column; 5] = [
    column(
        "charity_ref",
        ColumnType::Reference,
        true,
        REFERENCE_RULE,
        "charity-0001",
    ),
    column(
        "name",
        ColumnType::Text,
        true,
        "1 to 100 characters, one line",
        "City Food Bank",
    ),
    column(
        "ein",
        ColumnType::Text,
        true,
        "US Employer Identification Number, `NN-NNNNNNN`",
        "12-3456789",
    ),
    column(
        "description",
        ColumnType::Text,
        true,
        "1 to 1000 characters; line breaks allowed",
        "Meals for families in need",
    ),
    column("status", ColumnType::Choice, false, STATUS_RULE, "active"),
];

/// The schema of `kind` as a Markdown table, as `docs/imports.md` holds it.
#[cfg(test)]
pub(crate) fn schema_markdown(kind: ImportKind) -> String {
    let mut table = String::from(
        "| column | type | required | constraints | example |\n| --- | --- | --- | --- | --- |\n",
    );
    for column in kind.columns() {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} | `{}` |\n",
            column.name,
            column.column_type.as_str(),
            if column.required { "yes" } else { "no" },
            column.constraints,
            column.example
        ));
    }
    table
}
