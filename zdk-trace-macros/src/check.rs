//! Rules that involve more than one option or the function itself, one function per rule.
//! Each reports to the [`Ctxt`] and never stops early.

use crate::args::{Args, MacroKind};
use crate::ctxt::Ctxt;
use crate::item::{FnShape, ItemFn};

pub(crate) fn check(cx: &Ctxt, args: &Args, item: &ItemFn) {
    no_const_fn(cx, item);
    llm_call_required(cx, args);
    usage_event_name(cx, args);
    unique_field_keys(cx, args);
    stream_without_result(cx, args, item);
}

/// A stream has no single return value for `err` to look at (token usage of an `#[llm_call]`
/// stream is summed over its items instead).
fn stream_without_result(cx: &Ctxt, args: &Args, item: &ItemFn) {
    if item.shape() != FnShape::Stream {
        return;
    }
    if let Some(err) = &args.err {
        cx.error_spanned_by(
            err,
            "`err` does not apply to a function returning a stream; remove it",
        );
    }
}

/// A `const fn` cannot start a span (spans read the clock and thread-local state).
fn no_const_fn(cx: &Ctxt, item: &ItemFn) {
    if let Some(constness) = &item.sig.constness {
        cx.error_spanned_by(
            constness,
            "tracing macros cannot be used on a `const fn`; remove `const` or the attribute",
        );
    }
}

/// `#[llm_call]` needs to know which provider and model it calls.
fn llm_call_required(cx: &Ctxt, args: &Args) {
    if args.kind != MacroKind::LlmCall {
        return;
    }
    if args.provider.is_none() {
        cx.error_at(
            args.attr_span,
            "`#[llm_call]` needs `provider = \"...\"` (for example `provider = \"openai\"`)",
        );
    }
    if args.model.is_none() {
        cx.error_at(
            args.attr_span,
            "`#[llm_call]` needs `model = ...` (a string literal or an expression)",
        );
    }
}

/// Each key of `fields(...)` once.
fn unique_field_keys(cx: &Ctxt, args: &Args) {
    for (i, field) in args.fields.iter().enumerate() {
        if args.fields[..i].iter().any(|f| f.key == field.key) {
            cx.error_spanned_by(
                &field.key_tokens,
                format!("duplicate field `{}`; remove one", field.key),
            );
        }
    }
}

/// A usage event's name is part of the usage schema: written out, so that renaming the
/// function does not rename the event.
fn usage_event_name(cx: &Ctxt, args: &Args) {
    if args.kind == MacroKind::UsageEvent && args.name.is_none() {
        cx.error_at(
            args.attr_span,
            "`#[usage_event]` needs `name = \"...\"` (for example `name = \"agent.run\"`)",
        );
    }
}
