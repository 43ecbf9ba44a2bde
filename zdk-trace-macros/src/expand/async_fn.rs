//! `async fn f() -> T`: the body moves into an `async move` block that runs inside the span,
//! which starts at the first poll (when the body would start) and ends when the block
//! completes or is dropped.
//!
//! The span is a local of the `async fn` and the block's future borrows it
//! (`__private::in_span(async move { .. }, &mut __zdk_span, hook).await`): a future that owned
//! the 320-byte span record would be copied once more into the `.await` slot, which made the
//! expansion measurably slower than the hand-written `fut.instrument(span).await`.

use quote::quote;

use super::Model;

pub(super) fn expand(m: &Model<'_>) -> proc_macro2::TokenStream {
    let block = &m.func.block;
    let start = &m.start;
    let ret = m.func.return_type();
    // `return` and `?` inside the body leave the inner block. Its output type is pinned to
    // the declared return type by a fake return that never runs (tracing's trick), so `?`
    // converts errors as before and type errors point at user code; the body stays the tail,
    // so a diverging body (`-> !`, `loop {}`) adds no unreachable code.
    // Not for `_` (an erased `impl Trait`: nothing to pin) nor `!` (unstable in a `let`).
    let fake_return = if matches!(ret.to_string().as_str(), "_" | "!") {
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
    };
    let inner = quote! {
        async move {
            #fake_return
            #block
        }
    };
    let p = m.private();
    let hook = m.hook_closure();
    m.with_body(quote! {
        #start
        #p::in_span(#inner, &mut __zdk_span, #hook).await
    })
}
