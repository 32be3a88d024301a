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
//!
//! The cells are keyed by small integers (the caller names periods, areas
//! and partners once), and a round only looks at the groups that came to
//! hold exactly one suppressed cell since it last looked: a group that did
//! not change cannot need another cell, so skipping it changes nothing.

/// One published cell before and after suppression, by name.
#[cfg(test)]
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

/// One cell of a table, by the numbers of its period, area and partner
/// (equal numbers, equal names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyedCell {
    /// Its period's number.
    pub(crate) period: u32,
    /// Its area's number.
    pub(crate) area: u32,
    /// Its partner's number (one number for all cells without a partner).
    pub(crate) partner: u32,
    /// Its true value.
    pub(crate) value: i64,
}

/// Whether a value below the threshold must be withheld (zero is absent,
/// not small).
pub(crate) fn is_small(value: i64, threshold: u32) -> bool {
    value > 0 && value < i64::from(threshold)
}

/// Suppresses the small cells of `cells` and enough others that none can be
/// recovered by subtraction.
#[cfg(test)]
pub(crate) fn suppress(cells: &mut [TableCell], threshold: u32) {
    let mut periods = Names::default();
    let mut areas = Names::default();
    let mut partners = Names::default();
    let keyed: Vec<KeyedCell> = cells
        .iter()
        .map(|cell| KeyedCell {
            period: periods.number(&cell.period),
            area: areas.number(&cell.area),
            partner: partners.number(cell.partner.as_deref().unwrap_or("")),
            value: cell.value,
        })
        .collect();
    for (cell, withheld) in cells.iter_mut().zip(withheld(&keyed, threshold)) {
        cell.suppressed = withheld;
    }
}

/// Numbers for the distinct names of one column.
#[cfg(test)]
#[derive(Debug, Default)]
struct Names(std::collections::HashMap<String, u32>);

#[cfg(test)]
impl Names {
    fn number(&mut self, name: &str) -> u32 {
        let next = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        *self.0.entry(name.to_owned()).or_insert(next)
    }
}

/// The cells of `cells` (in table order: by period, area, partner) to
/// withhold: the small ones and enough others that none can be recovered by
/// subtraction.
pub(crate) fn withheld(cells: &[KeyedCell], threshold: u32) -> Vec<bool> {
    let mut state = State {
        withheld: cells
            .iter()
            .map(|cell| is_small(cell.value, threshold))
            .collect(),
        groupings: Vec::new(),
        steps: Vec::new(),
    };
    if !state.withheld.iter().any(|withheld| *withheld) {
        return state.withheld;
    }
    let with_partners = cells.iter().any(|cell| cell.partner != cells[0].partner);
    let by_period = Grouping::of(cells, &state.withheld, |cell| u64::from(cell.period));
    let by_area = Grouping::of(cells, &state.withheld, |cell| u64::from(cell.area));
    let whole = Grouping::of(cells, &state.withheld, |_| 0);
    state.groupings = vec![by_period, by_area, whole];
    // Rounds check, in order: by period, by area, the whole table, by
    // partner, by (period, partner), by (area, partner). Without partners
    // the last three hold the groups of the first three: the same groups,
    // checked again at their turn.
    let partner_steps = if with_partners {
        state
            .groupings
            .push(Grouping::of(cells, &state.withheld, |cell| {
                u64::from(cell.partner)
            }));
        state
            .groupings
            .push(Grouping::of(cells, &state.withheld, |cell| {
                u64::from(cell.period) << 32 | u64::from(cell.partner)
            }));
        state
            .groupings
            .push(Grouping::of(cells, &state.withheld, |cell| {
                u64::from(cell.area) << 32 | u64::from(cell.partner)
            }));
        [3, 4, 5]
    } else {
        [2, 0, 1]
    };
    for grouping in [0, 1, 2].into_iter().chain(partner_steps) {
        let pending = state.groupings[grouping]
            .suppressed
            .iter()
            .enumerate()
            .filter(|(_, count)| **count == 1)
            .map(|(group, _)| group as u32)
            .collect();
        state.steps.push(Step { grouping, pending });
    }
    loop {
        let mut changed = false;
        for step in 0..state.steps.len() {
            changed |= state.complete(step, cells);
        }
        if !changed {
            break;
        }
    }
    state.withheld
}

/// The groups of one grouping of a table's cells.
#[derive(Debug)]
struct Grouping {
    /// The group of each cell.
    group_of: Vec<u32>,
    /// Where each group's members start in `members` (one more entry than
    /// groups).
    starts: Vec<u32>,
    /// The cells of each group, in table order.
    members: Vec<u32>,
    /// How many cells of each group are withheld.
    suppressed: Vec<u32>,
}

impl Grouping {
    /// Groups `cells` by `key_of`, counting the `withheld` cells of each
    /// group.
    fn of(cells: &[KeyedCell], withheld: &[bool], key_of: impl Fn(&KeyedCell) -> u64) -> Self {
        let mut slots: rustc_hash::FxHashMap<u64, u32> = rustc_hash::FxHashMap::default();
        let group_of: Vec<u32> = cells
            .iter()
            .map(|cell| {
                let next = u32::try_from(slots.len()).unwrap_or(u32::MAX);
                *slots.entry(key_of(cell)).or_insert(next)
            })
            .collect();
        let groups = slots.len();
        let mut starts = vec![0_u32; groups + 1];
        for group in &group_of {
            starts[*group as usize + 1] += 1;
        }
        for group in 0..groups {
            starts[group + 1] += starts[group];
        }
        let mut next = starts.clone();
        let mut members = vec![0_u32; cells.len()];
        for (cell, group) in group_of.iter().enumerate() {
            let slot = &mut next[*group as usize];
            members[*slot as usize] = cell as u32;
            *slot += 1;
        }
        let mut suppressed = vec![0_u32; groups];
        for (group, withheld) in group_of.iter().zip(withheld) {
            suppressed[*group as usize] += u32::from(*withheld);
        }
        Self {
            group_of,
            starts,
            members,
            suppressed,
        }
    }

    /// The cells of `group`.
    fn members(&self, group: u32) -> &[u32] {
        let group = group as usize;
        &self.members[self.starts[group] as usize..self.starts[group + 1] as usize]
    }
}

/// One check of a round: a grouping, and its groups to look at.
#[derive(Debug)]
struct Step {
    /// Index of the grouping in [`State::groupings`].
    grouping: usize,
    /// Groups that came to hold exactly one withheld cell since this step
    /// last looked.
    pending: Vec<u32>,
}

/// Suppression under way.
#[derive(Debug)]
struct State {
    /// Whether each cell is withheld.
    withheld: Vec<bool>,
    /// The distinct groupings.
    groupings: Vec<Grouping>,
    /// The checks of a round, in order.
    steps: Vec<Step>,
}

impl State {
    /// Withholds `cell`, noting the groups that now hold exactly one
    /// withheld cell for every step that checks them.
    fn withhold(&mut self, cell: u32) {
        self.withheld[cell as usize] = true;
        for grouping in self.groupings.iter_mut() {
            let group = grouping.group_of[cell as usize];
            grouping.suppressed[group as usize] += 1;
        }
        for step in self.steps.iter_mut() {
            let grouping = &self.groupings[step.grouping];
            let group = grouping.group_of[cell as usize];
            if grouping.suppressed[group as usize] == 1 {
                step.pending.push(group);
            }
        }
    }

    /// For each group of `step` holding exactly one withheld cell, withholds
    /// its smallest visible cell too (the first in table order among equal
    /// values); returns whether anything changed.
    fn complete(&mut self, step: usize, cells: &[KeyedCell]) -> bool {
        let pending = std::mem::take(&mut self.steps[step].pending);
        let grouping = self.steps[step].grouping;
        let mut changed = false;
        for group in pending {
            if self.groupings[grouping].suppressed[group as usize] != 1 {
                continue;
            }
            let partner = self.groupings[grouping]
                .members(group)
                .iter()
                .copied()
                .filter(|cell| !self.withheld[*cell as usize])
                .min_by_key(|cell| (cells[*cell as usize].value, *cell));
            if let Some(partner) = partner {
                self.withhold(partner);
                changed = true;
            }
        }
        changed
    }
}
