//! ANSI colours, only on a terminal and only without `NO_COLOR` (<https://no-color.org>).

use std::io::IsTerminal;

/// Whether stdout gets colours.
pub(crate) fn stdout_colors() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Wraps text in ANSI styles when enabled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Painter {
    pub(crate) on: bool,
}

pub(crate) const BOLD: &str = "1";
pub(crate) const DIM: &str = "2";
pub(crate) const RED: &str = "31";
pub(crate) const GREEN: &str = "32";
pub(crate) const YELLOW: &str = "33";
pub(crate) const CYAN: &str = "36";

impl Painter {
    pub(crate) fn paint(self, style: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{style}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}
