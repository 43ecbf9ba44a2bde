//! `fn f() -> impl Future<Output = T>`: the span starts at the call, is entered while the body
//! builds the future, and the returned future is instrumented with it (and boxed again for a
//! `Pin<Box<dyn Future>>` return type, as `#[async_trait]` writes). An early `return` in
//! such a body would return the uninstrumented future and does not compile.

use quote::quote;

use super::Model;
use crate::item::ItemFn;

/// `boxed`: the declared type is a boxed future, so the instrumented future is boxed again
/// (an unsized coercion to the same `Pin<Box<dyn Future + ...>>`).
pub(super) fn expand(m: &Model<'_>, boxed: bool) -> proc_macro2::TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = m.func;
    let start = &m.start;
    let p = {
        let krate = &m.krate;
        quote!(#krate::__private)
    };
    let run = match &m.on_return {
        None => quote!(#p::instrument_with(__zdk_fut, __zdk_span, |_, _| {})),
        Some(hook) => quote! {
            #p::instrument_with(__zdk_fut, __zdk_span, |__zdk_span, __zdk_ret| { #hook })
        },
    };
    let run = if boxed {
        quote!(#p::Box::pin(#run))
    } else {
        run
    };
    let body = quote! {
        #start
        let __zdk_fut = {
            let __zdk_guard = __zdk_span.enter();
            #block
        };
        #run
    };
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
    group.set_span(block.span());
    quote!(#(#attrs)* #vis #sig #group)
}
