//! `async fn f() -> T`: the body moves into an `async move` block that runs inside the span,
//! which starts at the first poll (when the body would start) and ends when the block
//! completes or is dropped.

use quote::quote;

use super::Model;

pub(super) fn expand(m: &Model<'_>) -> proc_macro2::TokenStream {
    let block = &m.func.block;
    let start = &m.start;
    let ret = m.func.return_type();
    let fake_return = fake_return(&ret);
    let inner = quote! {
        async move {
            #fake_return
            #block
        }
    };
    let run = m.instrument_future(inner);
    m.with_body(quote! {
        #start
        #run.await
    })
}

/// A fake `return` of type `ret` that never runs, pinning the output type of the `async move`
/// block that holds the body.
pub(super) fn fake_return(ret: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    // `return` and `?` inside the body leave the inner block. Its output type is pinned to
    // the declared return type by a fake return that never runs (tracing's trick), so `?`
    // converts errors as before and type errors point at user code; the body stays the tail,
    // so a diverging body (`-> !`, `loop {}`) adds no unreachable code.
    // Not for `_` (an erased `impl Trait`: nothing to pin) nor `!` (unstable in a `let`).
    if matches!(ret.to_string().as_str(), "_" | "!") {
        quote!()
    } else {
        quote! {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let __zdk_ret: #ret = loop {};
                return __zdk_ret;
            }
        }
    }
}
