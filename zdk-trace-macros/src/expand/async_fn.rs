//! `async fn f() -> T`: the body moves into an `async move` block that runs inside the span,
//! which starts at the first poll (when the body would start) and ends when the block
//! completes or is dropped.

use quote::quote;

use super::Model;
use crate::item::ItemFn;

pub(super) fn expand(m: &Model<'_>) -> proc_macro2::TokenStream {
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
    let ret = m.func.return_type();
    // `return` and `?` inside the body leave the inner block, whose output is pinned to the
    // declared return type by the binding (spanned on user code for type errors).
    let inner = quote! {
        async move {
            let __zdk_ret: #ret = #block;
            __zdk_ret
        }
    };
    let run = match &m.on_return {
        None => quote!(#p::FutureExt::instrument(#inner, __zdk_span).await),
        Some(hook) => quote! {
            #p::instrument_with(#inner, __zdk_span, |__zdk_span, __zdk_ret| { #hook }).await
        },
    };
    let body = quote! {
        #start
        #run
    };
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
    group.set_span(block.span());
    quote!(#(#attrs)* #vis #sig #group)
}
