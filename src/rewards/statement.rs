//! Monthly pledge statements: for one UTC month, per charity, how many
//! pledges were made, their points and their dollars (summed from each
//! pledge's stored value, never re-priced, and rounded to cents only at the
//! end), and whether the month was settled. Pledges are paid out off-system;
//! marking a statement settled is recorded once, and marking it again answers
//! the first settlement. Rendered as JSON or as CSV for spreadsheets.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::import::csv_text_cell as csv_cell;

use super::StatementError;
use crate::domain::donation::{Month, statement_dollars};
use crate::store::{StatementSettlement, Store, StoreResult};

/// Charities and pledges read per store call.
const READ_PAGE: usize = 500;

/// A month's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Statement {
    /// The UTC month, `YYYY-MM`.
    #[serde(serialize_with = "month_text")]
    pub(crate) month: Month,
    /// One line per charity with pledges, in the catalog's order.
    pub(crate) charities: Vec<CharityLine>,
    /// Pledges of every charity.
    pub(crate) total_pledges: u64,
    /// Points of every charity.
    pub(crate) total_points: u64,
    /// Dollars of every charity: the exact sum, rounded to cents.
    pub(crate) total_dollars: Decimal,
    /// Whether the month was marked settled.
    pub(crate) settled: bool,
    /// When it was marked settled (Unix ms), once it was.
    pub(crate) settled_at_ms: Option<i64>,
}

/// One charity's part of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CharityLine {
    /// The charity.
    pub(crate) charity_id: Uuid,
    /// Its name now.
    pub(crate) name: String,
    /// Its EIN, which the payment is made to.
    pub(crate) ein: String,
    /// Pledges made to it in the month.
    pub(crate) pledges: u64,
    /// Their points.
    pub(crate) points: u64,
    /// Their dollars: the exact sum, rounded to cents.
    pub(crate) dollars: Decimal,
}

/// Answer to marking a statement settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settled {
    /// The settlement that stands (the first one).
    pub(crate) settlement: StatementSettlement,
    /// Whether this call recorded it.
    pub(crate) newly: bool,
}

/// Statements over a store.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// Charities, pledges and settlements.
    store: Arc<dyn Store>,
}

impl Statements {
    /// Statements over `store`.
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The statement of `month`.
    pub(crate) async fn statement(&self, month: Month) -> StoreResult<Statement> {
        let mut charities = Vec::new();
        let mut total_points = 0;
        let mut total_pledges = 0;
        let mut total_exact = Decimal::ZERO;
        let mut after = None;
        loop {
            let page = self.store.charities(after, READ_PAGE).await?;
            for charity in &page {
                let (pledges, points, exact) = self.sum_pledges(month, charity.id).await?;
                if pledges == 0 {
                    continue;
                }
                total_pledges += pledges;
                total_points += points;
                total_exact += exact;
                charities.push(CharityLine {
                    charity_id: charity.id,
                    name: charity.name.clone(),
                    ein: charity.ein.clone(),
                    pledges,
                    points,
                    dollars: statement_dollars(exact),
                });
            }
            match page.last() {
                Some(last) if page.len() == READ_PAGE => after = Some(last.id),
                Some(_) | None => break,
            }
        }
        let settlement = self.store.statement_settlement(month).await?;
        Ok(Statement {
            month,
            charities,
            total_pledges,
            total_points,
            total_dollars: statement_dollars(total_exact),
            settled: settlement.is_some(),
            settled_at_ms: settlement.map(|settlement| settlement.settled_at_ms),
        })
    }

    /// Marks `month` settled by `settled_by` at `now_ms`, once: a month not
    /// yet over cannot be settled (pledges may still come).
    pub(crate) async fn settle(
        &self,
        month: Month,
        settled_by: String,
        now_ms: i64,
    ) -> Result<Settled, StatementError> {
        if Month::holding(now_ms) <= month {
            return Err(StatementError::MonthNotOver);
        }
        let wanted = StatementSettlement {
            month,
            settled_at_ms: now_ms,
            settled_by,
        };
        let settlement = self.store.settle_statement(&wanted).await?;
        Ok(Settled {
            newly: settlement == wanted,
            settlement,
        })
    }

    /// Pledges, points and exact dollars of one charity in `month`.
    async fn sum_pledges(
        &self,
        month: Month,
        charity_id: Uuid,
    ) -> StoreResult<(u64, u64, Decimal)> {
        let mut count = 0;
        let mut points = 0;
        let mut dollars = Decimal::ZERO;
        let mut after = None;
        loop {
            let page = self
                .store
                .pledges(month, charity_id, after, READ_PAGE)
                .await?;
            for pledge in &page {
                count += 1;
                points += u64::from(pledge.points);
                dollars += pledge.dollars;
            }
            match page.last() {
                Some(last) if page.len() == READ_PAGE => after = Some(last.pledge_id),
                Some(_) | None => return Ok((count, points, dollars)),
            }
        }
    }
}

impl Statement {
    /// The statement as CSV: a header row, then one row per charity. Text
    /// cells a spreadsheet would run as a formula are defused.
    pub(crate) fn to_csv(&self) -> String {
        let month = self.month.to_string();
        let settled_at = self
            .settled_at_ms
            .map(|at_ms| at_ms.to_string())
            .unwrap_or_default();
        let mut text = String::from(
            "month,charity_id,charity_name,ein,pledges,points,dollars,settled,settled_at_ms\r\n",
        );
        for line in &self.charities {
            let cells = [
                month.clone(),
                line.charity_id.to_string(),
                line.name.clone(),
                line.ein.clone(),
                line.pledges.to_string(),
                line.points.to_string(),
                line.dollars.to_string(),
                self.settled.to_string(),
                settled_at.clone(),
            ];
            let row: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
            text.push_str(&row.join(","));
            text.push_str("\r\n");
        }
        text
    }
}

/// A month as `YYYY-MM` in JSON.
fn month_text<S: Serializer>(month: &Month, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(month)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn statement_with(name: &str) -> Statement {
        Statement {
            month: Month::parse("2026-12").expect("month"),
            charities: vec![CharityLine {
                charity_id: Uuid::nil(),
                name: name.to_owned(),
                ein: "12-3456789".to_owned(),
                pledges: 2,
                points: 300,
                dollars: Decimal::from_str("3.00").expect("decimal"),
            }],
            total_pledges: 2,
            total_points: 300,
            total_dollars: Decimal::from_str("3.00").expect("decimal"),
            settled: false,
            settled_at_ms: None,
        }
    }

    #[test]
    fn csv_rows_are_quoted_and_defused() {
        let csv = statement_with("=HYPERLINK(\"x\"), Inc").to_csv();
        let rows: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            rows[0],
            "month,charity_id,charity_name,ein,pledges,points,dollars,settled,settled_at_ms"
        );
        assert_eq!(
            rows[1],
            "2026-12,00000000-0000-0000-0000-000000000000,\"'=HYPERLINK(\"\"x\"\"), Inc\",\
             12-3456789,2,300,3.00,false,"
        );
        assert_eq!(rows[2], "");
    }

    #[test]
    fn json_names_the_month_and_writes_dollars_as_text() {
        let json = serde_json::to_value(statement_with("Food Bank")).expect("json");
        assert_eq!(json["month"], "2026-12");
        assert_eq!(json["total_dollars"], "3.00");
        assert_eq!(json["charities"][0]["dollars"], "3.00");
        assert_eq!(json["settled_at_ms"], serde_json::Value::Null);
    }
}
