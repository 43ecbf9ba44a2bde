//! `fn f() -> impl Future<Output = T>`: the span starts at the call, is entered while the body
//! builds the future, and the returned future is instrumented with it (and boxed again for a
//! `Pin<Box<dyn Future>>` return type, as `#[async_trait]` writes). An early `return` in
//! such a body would return the uninstrumented future and does not compile.

use quote::quote;

use super::Model;

/// `boxed`: the declared type is a boxed future, so the instrumented future is boxed again
/// (an unsized coercion to the same `Pin<Box<dyn Future + ...>>`).
pub(super) fn expand(m: &Model<'_>, boxed: bool) -> proc_macro2::TokenStream {
    let block = m.func.body_expr();
    let start = &m.start;
    let p = m.private();
    let run = m.instrument_future(quote!(__zdk_fut));
    let run = if boxed {
        quote!(#p::Box::pin(#run))
    } else {
        run
    };
    m.with_body(quote! {
        #start
        let __zdk_fut = {
            let __zdk_guard = __zdk_span.enter();
            #block
        };
        #run
    })
}
