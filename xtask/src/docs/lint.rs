//! Figures quoted without a marker: a count followed by `instructions`, `Ir` or `bytes`, or a
//! number in a table of such counts, outside a `<!--history COMMIT-->…<!--/history-->` block.
//!
//! A history block holds figures measured at an older commit, which it names (7 to 40
//! hexadecimal digits); they describe that commit and are neither rewritten nor checked.
//! Everything else that looks like a count must be a marked figure, so a new figure in
//! prose cannot bypass the check.

use super::figures;

const HISTORY_OPEN: &str = "<!--history";
const HISTORY_CLOSE: &str = "<!--/history-->";
const UNITS: [&str; 5] = ["instructions", "instruction", "Ir", "bytes", "byte"];

/// A problem the lint found on one line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unmarked {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// The state carried from line to line of one file.
#[derive(Default)]
pub(crate) struct Lint {
    in_history: bool,
    /// In a markdown table: which of its columns the header says are counts.
    table: Option<Vec<bool>>,
    pub(crate) found: Vec<Unmarked>,
}

const HOW: &str = "mark it `<!--fig BENCHMARK-->N<!--/fig-->` (then `cargo xtask docs`), or put a \
                   figure of an older commit in `<!--history COMMIT-->…<!--/history-->`";

impl Lint {
    /// Lints one line of prose (a markdown line, or a doc comment's text); `markdown` turns on
    /// the table rule.
    pub(crate) fn line(&mut self, number: usize, prose: &str, markdown: bool) {
        let current = self.outside_history(number, prose);
        let stripped = strip_figures(&current);
        for figure in counts_with_units(&stripped) {
            self.found.push(Unmarked {
                line: number,
                message: format!("unmarked figure `{figure}`; {HOW}"),
            });
        }
        if markdown {
            self.table_row(number, prose.trim_start(), &stripped);
        }
    }

    /// Closes the file: an unclosed history block is a problem.
    pub(crate) fn finish(mut self, lines: usize) -> Vec<Unmarked> {
        if self.in_history {
            self.found.push(Unmarked {
                line: lines,
                message: format!("a history block is never closed; end it with `{HISTORY_CLOSE}`"),
            });
        }
        self.found
    }

    /// The text of `line` outside history blocks, following blocks across lines.
    fn outside_history(&mut self, number: usize, line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        loop {
            if self.in_history {
                match rest.find(HISTORY_CLOSE) {
                    Some(i) => {
                        self.in_history = false;
                        out.push(' ');
                        rest = &rest[i + HISTORY_CLOSE.len()..];
                    }
                    None => return out,
                }
            } else {
                let consumed = line.len() - rest.len();
                let open = rest
                    .match_indices(HISTORY_OPEN)
                    .map(|(i, _)| i)
                    .find(|&i| !figures::in_code_span(line, consumed + i));
                match open {
                    Some(i) => {
                        out.push_str(&rest[..i]);
                        rest = &rest[i + HISTORY_OPEN.len()..];
                        let end = rest.find("-->").unwrap_or(rest.len());
                        self.open_history(number, &rest[..end]);
                        rest = rest.get(end + 3..).unwrap_or("");
                    }
                    None => {
                        let close = rest
                            .match_indices(HISTORY_CLOSE)
                            .any(|(i, _)| !figures::in_code_span(line, consumed + i));
                        if close {
                            self.found.push(Unmarked {
                                line: number,
                                message: format!("`{HISTORY_CLOSE}` closes no history block"),
                            });
                        }
                        out.push_str(rest);
                        return out;
                    }
                }
            }
        }
    }

    fn open_history(&mut self, number: usize, commit: &str) {
        let commit = commit.trim();
        let hex = (7..=40).contains(&commit.len()) && commit.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex {
            self.found.push(Unmarked {
                line: number,
                message: format!(
                    "a history block names no commit (`{HISTORY_OPEN} {commit}-->`); name the \
                     commit its figures were measured at, e.g. `{HISTORY_OPEN} 7a753f0-->`"
                ),
            });
        }
        self.in_history = true;
    }

    /// The table rule: in a column whose header names counts, or in a row whose label does,
    /// a cell that starts with a digit is an unmarked figure.
    fn table_row(&mut self, number: usize, line: &str, stripped: &str) {
        if !line.starts_with('|') {
            self.table = None;
            return;
        }
        let stripped = stripped.trim_start();
        let cells: Vec<&str> = stripped
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let Some(counts) = &self.table else {
            self.table = Some(cells.iter().map(|c| names_counts(c)).collect());
            return;
        };
        if cells.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
            return;
        }
        let label_names_counts = cells.first().is_some_and(|c| names_counts(c));
        for (column, cell) in cells.iter().enumerate().skip(1) {
            let is_count = label_names_counts || counts.get(column).copied().unwrap_or(false);
            if is_count && cell.starts_with(|c: char| c.is_ascii_digit()) {
                self.found.push(Unmarked {
                    line: number,
                    message: format!("unmarked figure `{cell}` in a table of counts; {HOW}"),
                });
            }
        }
    }
}

/// Whether a header or label is about instruction or byte counts.
fn names_counts(cell: &str) -> bool {
    cell.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| UNITS.contains(&word))
}

/// `line` with every marked figure replaced by a placeholder.
fn strip_figures(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(figures::OPEN) {
        out.push_str(&rest[..i]);
        out.push_str("FIG");
        rest = &rest[i..];
        match rest.find(figures::CLOSE) {
            Some(end) => rest = &rest[end + figures::CLOSE.len()..],
            None => return out,
        }
    }
    out + rest
}

/// Every `N unit` in `text`: a number (digits, thousands separators) standing alone, one
/// space, and one of [`UNITS`] as a whole word.
fn counts_with_units(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || b"_.".contains(&bytes[i - 1])));
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b',') {
            end += 1;
        }
        let number = text[i..end].trim_end_matches(',');
        let after = &text[i + number.len()..];
        if let Some(unit) = after.strip_prefix(' ').and_then(unit_at) {
            found.push(format!("{number} {unit}"));
        }
        i = end;
    }
    found
}

/// The unit word `text` starts with, if it is one of [`UNITS`] as a whole word.
fn unit_at(text: &str) -> Option<&'static str> {
    let word: String = text
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    UNITS.into_iter().find(|unit| *unit == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(text: &str) -> Vec<String> {
        let mut lint = Lint::default();
        for (i, line) in text.lines().enumerate() {
            lint.line(i + 1, line, true);
        }
        lint.finish(text.lines().count())
            .into_iter()
            .map(|u| format!("{}: {}", u.line, u.message.split(';').next().unwrap()))
            .collect()
    }

    #[test]
    fn prose_counts_must_be_marked() {
        assert_eq!(
            lint("costs 125 instructions\nallocates 27,978 bytes, 5 Ir."),
            [
                "1: unmarked figure `125 instructions`",
                "2: unmarked figure `27,978 bytes`",
                "2: unmarked figure `5 Ir`"
            ]
        );
        let fine = "costs <!--fig ready-->125<!--/fig--> instructions; a 32-byte waker; \
                    `execute_1000_yield_once` bytes; 3 runs; 0.5 instructions; 2 Irs";
        assert!(lint(fine).is_empty(), "{:?}", lint(fine));
    }

    #[test]
    fn history_blocks_hold_older_figures_and_name_their_commit() {
        let text = "It cost <!--history ec9d542-->643 instructions<!--/history--> then.\n\
                    <!--history cd4fedb-->\n124 instructions\n| a | instructions |\n|---|---|\n| x | 5 |\n<!--/history-->\n";
        assert!(lint(text).is_empty(), "{:?}", lint(text));
        assert_eq!(
            lint("<!--history someday-->1 Ir<!--/history-->"),
            ["1: a history block names no commit (`<!--history someday-->`)"]
        );
        assert_eq!(
            lint("<!--history abcdef0-->\n1 Ir"),
            ["2: a history block is never closed"]
        );
        assert_eq!(
            lint("x <!--/history-->"),
            ["1: `<!--/history-->` closes no history block"]
        );
        assert!(lint("write `<!--history COMMIT-->` … `<!--/history-->`").is_empty());
    }

    #[test]
    fn tables_of_counts_need_marked_cells() {
        let table = "| path | instructions | threads |\n|---|---:|---|\n\
                     | ready | 125 | caller only |\n| ok | <!--fig ready-->125<!--/fig--> | 2 |\n";
        assert_eq!(
            lint(table),
            ["3: unmarked figure `125` in a table of counts"]
        );
        let labelled = "| what | a | b |\n|---|---|---|\n| ready future, instructions | 29 | about 400 |\n\
                        | threads | 2 | 3 |\n";
        assert_eq!(
            lint(labelled),
            ["3: unmarked figure `29` in a table of counts"]
        );
        let other = "| file | caught / missed |\n|---|---|\n| src/lib.rs | 4 / 0 |\n";
        assert!(lint(other).is_empty());
    }
}
