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
    let block = match &m.loops {
        // Loops were rewritten to tick: that block, braces and all.
        Some((block, true)) => crate::item::block_as_expr(block.clone(), m.func.block.span()),
        Some((_, false)) | None => m.func.body_expr(),
    };
    let start = &m.start;
    let ret = m.func.return_type();
    let fake_return = fake_return(&ret);
    let inner = quote! {
        async move {
            #fake_return
            #block
        }
    };
    let p = m.private();
    let hook = m.hook_closure();
    let run = match &m.loops {
        None => quote!(#p::in_span(#inner, &mut __zdk_span, #hook).await),
        // The body moves its own handle on the counter (`__zdk_loop`) into the block; the span
        // gets the iterations before it ends, on completion, panic or drop.
        Some((_, has_loops)) => {
            let ticks = if *has_loops {
                quote!(let __zdk_loop_end = ::core::clone::Clone::clone(&__zdk_loop);)
            } else {
                quote!(let __zdk_loop_end = __zdk_loop;)
            };
            quote! {
                let __zdk_loop = #p::LoopCounter::new(&__zdk_span);
                #ticks
                #p::in_span_loop(#inner, &mut __zdk_span, #hook, __zdk_loop_end).await
            }
        }
    };
    m.with_body(quote! {
        #start
        #run
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
