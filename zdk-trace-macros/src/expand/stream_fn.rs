//! `fn f() -> impl Stream<Item = T>`: the span starts at the call, is entered while the body
//! builds the stream, and the returned stream is instrumented with it: current during every
//! `poll_next`, ended when the stream ends, marked cancelled if it is dropped early; the item
//! count, the time to the first item and, for `#[llm_call]`, the summed token usage are
//! recorded.

use quote::quote;

use super::Model;

pub(super) fn expand(m: &Model<'_>) -> proc_macro2::TokenStream {
    let block = &m.func.block;
    let start = &m.start;
    let p = m.private();
    // `#[llm_call]` sums the items' token usage, so its items must implement `LlmOutput`.
    // With `capture`, it also concatenates their text.
    let wrap = match (m.llm_stream, m.capture) {
        (true, true) => quote!(instrument_llm_stream_captured(
            __zdk_stream,
            __zdk_span,
            __zdk_content
        )),
        (true, false) => quote!(instrument_llm_stream(__zdk_stream, __zdk_span)),
        (false, _) => quote!(instrument_stream(__zdk_stream, __zdk_span)),
    };
    m.with_body(quote! {
        #start
        let __zdk_stream = {
            let __zdk_guard = __zdk_span.enter();
            #block
        };
        #p::#wrap
    })
}
