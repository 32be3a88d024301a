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

use std::collections::HashMap;

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
    if !cells.iter().any(|cell| cell.suppressed) {
        return;
    }
    // Groups never change, only which of their cells are withheld: form
    // them once. Within one grouping a cell is in one group, so the order
    // groups are completed in does not change the outcome.
    let groupings = groupings(cells);
    loop {
        let mut changed = false;
        for groups in &groupings {
            changed |= complete_groups(cells, groups);
        }
        if !changed {
            break;
        }
    }
}

/// Small numbers standing for the distinct texts of one column.
fn interned<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<u32> {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    texts
        .map(|text| {
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry(text).or_insert(next)
        })
        .collect()
}

/// The groups of every grouping, in the order rounds check them: by period,
/// by area, the whole table, by partner, by (period, partner), by (area,
/// partner). Cells without a partner form one group per `within`, the same
/// groups the groupings without partners hold.
fn groupings(cells: &[TableCell]) -> Vec<Vec<Vec<usize>>> {
    let periods = interned(cells.iter().map(|cell| cell.period.as_str()));
    let areas = interned(cells.iter().map(|cell| cell.area.as_str()));
    let partners: Vec<u32> = interned(
        cells
            .iter()
            .map(|cell| cell.partner.as_deref().unwrap_or("")),
    );
    let keys: [&dyn Fn(usize) -> (u32, u32); 6] = [
        &|index| (periods[index], 0),
        &|index| (areas[index], 0),
        &|_| (0, 0),
        &|index| (0, partners[index]),
        &|index| (periods[index], partners[index]),
        &|index| (areas[index], partners[index]),
    ];
    keys.iter()
        .map(|key_of| {
            let mut slots: HashMap<(u32, u32), usize> = HashMap::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for index in 0..cells.len() {
                let slot = *slots.entry(key_of(index)).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[slot].push(index);
            }
            groups
        })
        .collect()
}

/// For each group holding exactly one suppressed cell, suppresses its
/// smallest visible cell too; returns whether anything changed.
fn complete_groups(cells: &mut [TableCell], groups: &[Vec<usize>]) -> bool {
    let mut changed = false;
    for members in groups {
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
