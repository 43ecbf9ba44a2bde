//! `fn f() -> impl Stream<Item = T>`: the span starts at the call, is entered while the body
//! builds the stream, and the returned stream is instrumented with it: current during every
//! `poll_next`, ended when the stream ends, marked cancelled if it is dropped early; the item
//! count, the time to the first item and, for `#[llm_call]`, the summed token usage are
//! recorded.
//!
//! A boxed stream (`Pin<Box<dyn Stream<..> + ..>>`, `BoxStream`, or an alias marked `stream`)
//! is instrumented the same way and boxed again, coerced to the declared type by
//! `__private::BoxedStream`, whose unmet bound is the error a user sees when `stream` is put
//! on a function that does not return a boxed stream.

use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::Model;

/// `boxed`: the declared return type is a boxed stream (see the module docs).
pub(super) fn expand(m: &Model<'_>, boxed: bool) -> proc_macro2::TokenStream {
    let block = &m.func.block;
    let body_expr = m.func.body_expr();
    let start = &m.start;
    let p = m.private();
    // `#[llm_call]` sums the items' token usage, so its items must implement `LlmOutput`;
    // with `capture`, it also concatenates their text.
    let wrap = |at: proc_macro2::Span, plain: &str, llm: &str, captured: &str| {
        let function = |name: &str| syn::Ident::new(name, at);
        match (m.llm_stream, m.capture) {
            (true, true) => {
                let f = function(captured);
                quote_spanned!(at=> #p::#f(__zdk_stream, __zdk_span, __zdk_content))
            }
            (true, false) => {
                let f = function(llm);
                quote_spanned!(at=> #p::#f(__zdk_stream, __zdk_span))
            }
            (false, _) => {
                let f = function(plain);
                quote_spanned!(at=> #p::#f(__zdk_stream, __zdk_span))
            }
        }
    };
    if !boxed {
        let wrapped = wrap(
            proc_macro2::Span::call_site(),
            "instrument_stream",
            "instrument_llm_stream",
            "instrument_llm_stream_captured",
        );
        return m.with_body(quote! {
            #start
            let __zdk_stream = {
                let __zdk_guard = __zdk_span.enter();
                #body_expr
            };
            #wrapped
        });
    }
    let ret = m.func.return_type();
    // Spanned at the return type: "`stream` needs ... a boxed stream, not `Vec<u32>`" points
    // at the type the user wrote.
    let at = match &m.func.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => m.func.sig.ident.span(),
    };
    let wrapped = wrap(
        at,
        "instrument_boxed_stream",
        "instrument_llm_boxed_stream",
        "instrument_llm_boxed_stream_captured",
    );
    // A boxed stream can be returned early (`return Box::pin(empty())`) and would then skip
    // the instrumentation, so the body runs in a closure called once, as with `err` on a sync
    // function; `call_once` keeps it `FnOnce`, so returned borrows keep their lifetimes.
    m.with_body(quote! {
        #start
        let __zdk_stream: #ret = {
            let __zdk_guard = __zdk_span.enter();
            #p::call_once(move || -> #ret #block)
        };
        #wrapped
    })
}
