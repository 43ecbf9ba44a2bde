//! `fn f() -> T`: the span is entered for the call and ends when the function returns.

use quote::{quote, ToTokens};

use super::Model;

pub(super) fn expand(m: &Model<'_>) -> proc_macro2::TokenStream {
    let start = &m.start;
    let p = m.private();
    // A loop workflow's guard also adds the iterations its loops counted before the span ends.
    // Without loops to count, `start` has declared `__zdk_guard` (the span started entered).
    let (block, enter) = match &m.loops {
        None => (m.func.block.to_token_stream(), quote!()),
        Some((block, _)) => (
            block.clone(),
            quote! {
                #[allow(unused_mut)]
                let mut __zdk_guard = #p::enter_loop(&mut __zdk_span);
            },
        ),
    };
    let counter = match &m.loops {
        Some((_, true)) => quote!(let __zdk_loop = __zdk_guard.counter();),
        _ => quote!(),
    };
    let body = match &m.on_return {
        // The original body stays the tail expression, so `return` and `?` leave the function
        // as before; the guard ends the span on every exit.
        None => {
            let tail = match &m.loops {
                // Loops were rewritten to tick: that block, braces and all.
                Some((_, true)) => crate::item::block_as_expr(block.clone(), m.func.block.span()),
                Some((_, false)) | None => m.func.body_expr(),
            };
            quote! {
                #start
                #enter
                #counter
                #tail
            }
        }
        // To see the value on every exit (`return`, `?`), the body runs in a closure called
        // once, as tracing's `#[instrument(err)]` does; the binding is spanned at the return
        // type so type errors point at user code.
        Some(hook) => {
            let ret = m.func.return_type();
            quote! {
                #start
                #enter
                #counter
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
    m.with_body(body)
}
