//! Disclosure control on a small table, including the subtraction attack.

use super::disclosure::{TableCell, suppress};

fn cell(period: &str, area: &str, value: i64) -> TableCell {
    TableCell {
        period: period.to_owned(),
        area: area.to_owned(),
        partner: None,
        value,
        suppressed: false,
    }
}

/// What an attacker sees: the published cells and the total.
fn published(cells: &[TableCell]) -> (i64, Vec<Option<i64>>) {
    let total = cells.iter().map(|cell| cell.value).sum();
    let shown = cells
        .iter()
        .map(|cell| (!cell.suppressed).then_some(cell.value))
        .collect();
    (total, shown)
}

#[test]
fn small_cells_are_suppressed_and_large_ones_shown() {
    let mut cells = vec![
        cell("d1", "100", 3),
        cell("d1", "101", 40),
        cell("d1", "102", 12),
    ];
    suppress(&mut cells, 11);
    assert!(cells[0].suppressed);
    assert!(
        cells[2].suppressed,
        "the smallest other cell hides the small one"
    );
    assert!(!cells[1].suppressed);
}

#[test]
fn no_suppressed_cell_is_recovered_by_subtracting_from_totals() {
    let mut cells = vec![
        cell("d1", "100", 4),
        cell("d1", "101", 50),
        cell("d1", "102", 30),
        cell("d2", "100", 25),
        cell("d2", "101", 60),
        cell("d2", "102", 2),
        cell("d3", "103", 7),
    ];
    suppress(&mut cells, 11);
    let (total, shown) = published(&cells);
    // The attack: total minus every visible cell, over the whole table, and
    // per period and per area (whose totals a reader may learn elsewhere).
    let hidden: i64 = total - shown.iter().flatten().sum::<i64>();
    let suppressed: Vec<&TableCell> = cells.iter().filter(|cell| cell.suppressed).collect();
    assert!(suppressed.len() >= 2);
    for cell in &suppressed {
        assert_ne!(hidden, cell.value, "the table total gives {cell:?} away");
    }
    for key in ["d1", "d2", "d3", "100", "101", "102", "103"] {
        let in_group: Vec<&TableCell> = cells
            .iter()
            .filter(|cell| cell.period == key || cell.area == key)
            .collect();
        let hidden_in_group = in_group.iter().filter(|cell| cell.suppressed).count();
        if in_group.len() >= 2 {
            assert_ne!(hidden_in_group, 1, "group {key} has one suppressed cell");
        }
    }
    for cell in &cells {
        if cell.value < 11 {
            assert!(cell.suppressed, "{cell:?} is small");
        }
    }
}

#[test]
fn a_table_without_small_cells_is_shown_whole() {
    let mut cells = vec![cell("d1", "100", 11), cell("d2", "100", 12)];
    suppress(&mut cells, 11);
    assert!(cells.iter().all(|cell| !cell.suppressed));
}

#[test]
fn a_partners_total_does_not_give_a_withheld_cell_away() {
    let partner_cell = |period: &str, area: &str, partner: &str, value: i64| TableCell {
        partner: Some(partner.to_owned()),
        ..cell(period, area, value)
    };
    // The food bank had 3 pledges on day 1 and 20 on day 2; the shelter 30
    // and 40. Without the partner rounds, the food bank's total (which a
    // nation-level report of the whole span publishes) minus its day-2
    // cell would give its day-1 cell away.
    let mut cells = vec![
        partner_cell("d1", "", "food bank", 3),
        partner_cell("d1", "", "shelter", 30),
        partner_cell("d2", "", "food bank", 20),
        partner_cell("d2", "", "shelter", 40),
    ];
    suppress(&mut cells, 11);
    for partner in ["food bank", "shelter"] {
        let hidden = cells
            .iter()
            .filter(|cell| cell.partner.as_deref() == Some(partner) && cell.suppressed)
            .count();
        assert_ne!(hidden, 1, "{partner} has one withheld cell: {cells:?}");
    }
    for period in ["d1", "d2"] {
        let hidden = cells
            .iter()
            .filter(|cell| cell.period == period && cell.suppressed)
            .count();
        assert_ne!(hidden, 1, "{period} has one withheld cell: {cells:?}");
    }
    assert!(cells[0].suppressed, "the small cell is withheld");
}
