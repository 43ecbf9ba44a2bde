//! The built-in metrics of a GenAI macro call: the call site the expansion declares as a
//! `static`, and the call that starts them with the span.

pub use crate::tally::genai::{Site, SiteKind};

use crate::span::Span;

/// Starts the built-in metrics of `site` for the call `span` is the span of; they are
/// recorded when the span ends, whether it records or not.
#[inline]
pub fn meter(span: &mut Span, site: &'static Site) {
    span.meter(site);
}
