//! Disclosure control of published report cells. A cell counting fewer than
//! the threshold (`admin.min_report_cell_count`: 11 by default, never below
//! 5) but more than nothing is suppressed: published as `null`
//! with a flag. Then complementary suppression: within every period, within
//! every area, and over the whole table, a suppressed cell never stands
//! alone, so subtracting the visible cells from a total (the report's total,
//! an area's total in the top list, a period's sum) yields only the sum of
//! two or more suppressed cells, never one of them. Tables kept per partner
//! (vouchers, pledges) also protect every partner, every (period, partner)
//! and every (area, partner) the same way, the sums a report of the same
//! metric at another area level publishes. Rounds repeat until no group has
//! exactly one suppressed cell.

use std::collections::BTreeMap;

/// One published cell before and after suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableCell {
    /// The period it belongs to.
    pub(crate) period: String,
    /// The area it belongs to.
    pub(crate) area: String,
    /// The partner it belongs to (`None` for metrics not kept per partner).
    pub(crate) partner: Option<String>,
    /// Its true value.
    pub(crate) value: i64,
    /// Whether it is withheld.
    pub(crate) suppressed: bool,
}

/// Whether a value below the threshold must be withheld (zero is absent,
/// not small).
pub(crate) fn is_small(value: i64, threshold: u32) -> bool {
    value > 0 && value < i64::from(threshold)
}

/// Suppresses the small cells of `cells` and enough others that none can be
/// recovered by subtraction.
pub(crate) fn suppress(cells: &mut [TableCell], threshold: u32) {
    for cell in cells.iter_mut() {
        cell.suppressed = is_small(cell.value, threshold);
    }
    loop {
        let by_period = complete_groups(cells, |cell| cell.period.clone());
        let by_area = complete_groups(cells, |cell| cell.area.clone());
        let overall = complete_groups(cells, |_| String::new());
        let by_partner = complete_groups(cells, partner_group(|_| String::new()));
        let by_period_partner = complete_groups(cells, partner_group(|cell| cell.period.clone()));
        let by_area_partner = complete_groups(cells, partner_group(|cell| cell.area.clone()));
        if !(by_period || by_area || overall || by_partner || by_period_partner || by_area_partner)
        {
            break;
        }
    }
}

/// A grouping by partner within `within`: cells without a partner form one
/// group per `within`, the same groups the rounds without partners check.
fn partner_group(within: impl Fn(&TableCell) -> String) -> impl Fn(&TableCell) -> String {
    move |cell| {
        format!(
            "{}\u{1f}{}",
            within(cell),
            cell.partner.as_deref().unwrap_or("")
        )
    }
}

/// For each group holding exactly one suppressed cell, suppresses its
/// smallest visible cell too; returns whether anything changed.
fn complete_groups(cells: &mut [TableCell], group_of: impl Fn(&TableCell) -> String) -> bool {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, cell) in cells.iter().enumerate() {
        groups.entry(group_of(cell)).or_default().push(index);
    }
    let mut changed = false;
    for members in groups.values() {
        let suppressed = members
            .iter()
            .filter(|index| cells[**index].suppressed)
            .count();
        if suppressed != 1 {
            continue;
        }
        let partner = members
            .iter()
            .filter(|index| !cells[**index].suppressed)
            .min_by_key(|index| (cells[**index].value, **index));
        if let Some(partner) = partner {
            cells[*partner].suppressed = true;
            changed = true;
        }
    }
    changed
}
