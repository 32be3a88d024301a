//! Disclosure control withholds exactly the cells of the plain algorithm it
//! replaced (every group of every grouping checked each round, groups formed
//! by name), on random tables with and without partners: keying cells by
//! numbers and skipping unchanged groups is no less strict.

use std::collections::HashMap;

use proptest::prelude::*;

use super::disclosure::{TableCell, is_small, suppress};

/// The key of a cell's group in one grouping.
type GroupKey = dyn Fn(&TableCell) -> (String, String);

/// The plain algorithm: rounds over the six groupings, each group checked,
/// until a round changes nothing.
fn reference(cells: &mut [TableCell], threshold: u32) {
    for cell in cells.iter_mut() {
        cell.suppressed = is_small(cell.value, threshold);
    }
    if !cells.iter().any(|cell| cell.suppressed) {
        return;
    }
    let keys: [&GroupKey; 6] = [
        &|cell| (cell.period.clone(), String::new()),
        &|cell| (cell.area.clone(), String::new()),
        &|_| (String::new(), String::new()),
        &|cell| (String::new(), cell.partner.clone().unwrap_or_default()),
        &|cell| {
            (
                cell.period.clone(),
                cell.partner.clone().unwrap_or_default(),
            )
        },
        &|cell| (cell.area.clone(), cell.partner.clone().unwrap_or_default()),
    ];
    loop {
        let mut changed = false;
        for key_of in keys {
            let mut groups: HashMap<(String, String), Vec<usize>> = HashMap::new();
            for (index, cell) in cells.iter().enumerate() {
                groups.entry(key_of(cell)).or_default().push(index);
            }
            for members in groups.values() {
                let withheld = members
                    .iter()
                    .filter(|index| cells[**index].suppressed)
                    .count();
                if withheld != 1 {
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
        }
        if !changed {
            break;
        }
    }
}

/// A table of up to 60 cells over 4 periods, 6 areas and (maybe) 3
/// partners, most values near the threshold, sorted and without repeats as
/// a report's table is.
fn tables() -> impl Strategy<Value = Vec<TableCell>> {
    (
        any::<bool>(),
        prop::collection::vec((0_u8..4, 0_u8..6, 0_u8..3, 0_i64..30), 0..60),
    )
        .prop_map(|(with_partners, raw)| {
            let mut seen = std::collections::BTreeMap::new();
            for (period, area, partner, value) in raw {
                let partner = with_partners.then(|| format!("p{partner}"));
                seen.insert((format!("d{period}"), format!("a{area}"), partner), value);
            }
            seen.into_iter()
                .map(|((period, area, partner), value)| TableCell {
                    period,
                    area,
                    partner,
                    value,
                    suppressed: false,
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn the_same_cells_are_withheld_as_by_the_plain_algorithm(table in tables(), threshold in 5_u32..15) {
        let mut expected = table.clone();
        reference(&mut expected, threshold);
        let mut actual = table;
        suppress(&mut actual, threshold);
        prop_assert_eq!(actual, expected);
    }
}
