//! The summary table as lines — a header of run labels, rows of figures,
//! section titles and notes — rendered as aligned text for the terminal or as an
//! HTML table for `report.html`. Notes are written with `writeln!`, one per line.

use std::fmt::{self, Write as _};

/// Width of the row names in the text table.
const NAME_WIDTH: usize = 34;
/// Width of each figure in the text table.
const VALUE_WIDTH: usize = 20;

/// One line of the summary.
#[derive(Debug, Clone, PartialEq)]
enum Line {
    /// The title: scenario and machine.
    Title(String),
    /// The run labels, one per column.
    Header(Vec<String>),
    /// A section title inside the table.
    Section(String),
    /// A figure's name and its value for each run.
    Row(String, Vec<String>),
    /// A sentence below the table (samples, breakdowns, the verdict).
    Note(String),
}

/// A summary being written.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// The lines so far.
    lines: Vec<Line>,
    /// Text written with `write!` since the last newline.
    pending: String,
}

impl Summary {
    /// Starts with a title line.
    pub(crate) fn titled(title: String) -> Self {
        Self {
            lines: vec![Line::Title(title)],
            pending: String::new(),
        }
    }

    /// The column labels.
    pub(crate) fn header(&mut self, labels: Vec<String>) {
        self.lines.push(Line::Header(labels));
    }

    /// A section title inside the table.
    pub(crate) fn section(&mut self, title: &str) {
        self.lines.push(Line::Section(title.to_owned()));
    }

    /// A row of figures.
    pub(crate) fn row(&mut self, name: &str, values: Vec<String>) {
        self.lines.push(Line::Row(name.to_owned(), values));
    }

    /// One row per figure, one column per run: `tables` holds each run's
    /// `(name, value)` rows, named as in the first run.
    pub(crate) fn rows_side_by_side(&mut self, tables: &[Vec<(&str, String)>]) {
        let Some(first) = tables.first() else {
            return;
        };
        for (position, (name, _)) in first.iter().enumerate() {
            let values = tables
                .iter()
                .map(|rows| {
                    rows.get(position)
                        .map_or_else(String::new, |row| row.1.clone())
                })
                .collect();
            self.row(name, values);
        }
    }

    /// Aligned text, as printed at the end of a run.
    pub(crate) fn to_text(&self) -> String {
        let mut text = String::from("\n");
        for line in &self.lines {
            let _ = match line {
                Line::Title(title) => writeln!(text, "{title}"),
                Line::Header(labels) => writeln!(text, "{:<NAME_WIDTH$}{}", "", columns(labels)),
                Line::Section(title) => writeln!(text, "{title}"),
                Line::Row(name, values) => writeln!(text, "{name:<NAME_WIDTH$}{}", columns(values)),
                Line::Note(note) => writeln!(text, "{note}"),
            };
        }
        text
    }

    /// An HTML table (title above, notes below as a list).
    pub(crate) fn to_html(&self) -> String {
        let columns = self
            .lines
            .iter()
            .find_map(|line| match line {
                Line::Header(labels) => Some(labels.len()),
                Line::Title(_) | Line::Section(_) | Line::Row(..) | Line::Note(_) => None,
            })
            .unwrap_or(1);
        let mut html = String::new();
        let mut notes = Vec::new();
        html.push_str("<table class=\"summary\">");
        for line in &self.lines {
            match line {
                Line::Title(title) => {
                    let _ = write!(html, "<caption>{}</caption>", escape(title));
                }
                Line::Header(labels) => {
                    html.push_str("<thead><tr><th></th>");
                    for label in labels {
                        let _ = write!(html, "<th>{}</th>", escape(label));
                    }
                    html.push_str("</tr></thead>");
                }
                Line::Section(title) => {
                    let _ = write!(
                        html,
                        "<tr><th class=\"section\" colspan=\"{}\">{}</th></tr>",
                        columns + 1,
                        escape(title)
                    );
                }
                Line::Row(name, values) => {
                    let _ = write!(html, "<tr><th>{}</th>", escape(name));
                    for value in values {
                        let _ = write!(html, "<td>{}</td>", escape(value));
                    }
                    html.push_str("</tr>");
                }
                Line::Note(note) => notes.push(note),
            }
        }
        html.push_str("</table>");
        if !notes.is_empty() {
            html.push_str("<ul class=\"notes\">");
            for note in notes {
                let _ = write!(html, "<li>{}</li>", escape(note.trim()));
            }
            html.push_str("</ul>");
        }
        html
    }
}

impl fmt::Write for Summary {
    /// Notes: every finished line becomes one (blank lines are dropped).
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.pending.push_str(text);
        while let Some(end) = self.pending.find('\n') {
            let note: String = self.pending.drain(..=end).collect();
            let note = note.trim_end();
            if !note.is_empty() {
                self.lines.push(Line::Note(note.to_owned()));
            }
        }
        Ok(())
    }
}

fn columns(values: &[String]) -> String {
    values
        .iter()
        .map(|value| format!("  {value:>VALUE_WIDTH$}"))
        .collect()
}

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Summary {
        let mut summary = Summary::titled("city — 2 CPUs".to_owned());
        summary.header(vec!["heyblue".to_owned(), "echo".to_owned()]);
        summary.section("truth change → push");
        summary.row("truth changes", vec!["12".to_owned(), "-".to_owned()]);
        let _ = writeln!(summary, "  heyblue: citizen 3 <missed>");
        let _ = writeln!(summary, "PASS: every answer correct");
        summary
    }

    #[test]
    fn text_is_aligned_and_notes_follow() {
        let text = example().to_text();
        assert!(text.contains(&format!(
            "{:<34}  {:>20}  {:>20}",
            "truth changes", "12", "-"
        )));
        assert!(text.ends_with("  heyblue: citizen 3 <missed>\nPASS: every answer correct\n"));
    }

    #[test]
    fn html_is_a_table_with_notes_below() {
        let html = example().to_html();
        assert!(html.starts_with("<table class=\"summary\"><caption>city — 2 CPUs</caption>"));
        assert!(html.contains("<th class=\"section\" colspan=\"3\">truth change → push</th>"));
        assert!(html.contains("<tr><th>truth changes</th><td>12</td><td>-</td></tr>"));
        assert!(html.contains("<li>heyblue: citizen 3 &lt;missed&gt;</li>"));
        assert!(!html.contains("<pre>"));
    }
}
