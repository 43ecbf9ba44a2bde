//! `fn f() -> T`: the span is entered for the call and ends when the function returns.

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
    let body = match &m.on_return {
        // The original body stays the tail expression, so `return` and `?` leave the function
        // as before; the guard ends the span on every exit.
        None => quote! {
            #start
            let __zdk_guard = #p::enter(__zdk_span);
            #block
        },
        // To see the value on every exit (`return`, `?`), the body runs in a closure called
        // once, as tracing's `#[instrument(err)]` does; the binding is spanned at the return
        // type so type errors point at user code.
        Some(hook) => {
            let ret = m.func.return_type();
            quote! {
                #start
                let mut __zdk_guard = #p::enter(__zdk_span);
                // `call_once` makes the closure `FnOnce`, so returned borrows of captured
                // references keep their lifetimes.
                let __zdk_ret: #ret = #p::call_once(move || -> #ret #block);
                {
                    let __zdk_span: &mut _ = &mut *__zdk_guard;
                    let __zdk_ret = &__zdk_ret;
                    #hook
                }
                __zdk_ret
            }
        }
    };
    let brace = block.span();
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
    group.set_span(brace);
    quote!(#(#attrs)* #vis #sig #group)
}
