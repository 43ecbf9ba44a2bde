//! `#[usage_event]`: no span; a `UsageCall` guard measures the call and sends one usage event
//! when it completes (`success` from the return value) or is cut short (a panic, a future or
//! stream dropped early: `success = false`). While the usage layer is off the guard is
//! `UsageCall::off()`, built after one atomic load, and no field value is computed.
//!
//! Where the call starts: at the call for sync functions and functions returning a future or
//! a stream, at the first poll for an `async fn` (when its body starts).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::LitStr;

use super::async_fn::fake_return;
use super::Model;
use crate::args::Args;
use crate::item::{FnShape, ItemFn};
use crate::keys;

pub(super) fn expand(args: &Args, func: &ItemFn, krate: &TokenStream) -> TokenStream {
    let m = Model {
        func,
        krate: krate.clone(),
        start: TokenStream::new(),
        on_return: None,
        llm_stream: false,
        capture: false,
        loops: None,
    };
    let p = m.private();
    let start = start(args, &p);
    let block = &func.block;
    // Where the body is the value of a block or a `let` (not a closure's body).
    let body_expr = func.body_expr();
    let ret = func.return_type();
    let diverges = ret.to_string() == "!";
    let body = match func.shape() {
        // Never returns: only a panic ends it, and the guard's drop reports that.
        _ if diverges => quote! {
            #start
            #body_expr
        },
        // The body runs in a closure called once, so that `return` and `?` are seen (as
        // `err` does); the binding is spanned at the return type for type errors.
        FnShape::Sync => {
            let success = success(&p, quote!(&__zdk_ret));
            quote! {
                #start
                let __zdk_ret: #ret = #p::call_once(move || -> #ret #block);
                __zdk_usage.finish(#success);
                __zdk_ret
            }
        }
        // The body moves into an `async move` block so that `return` and `?` leave it, not
        // the function, and the event is sent after it.
        FnShape::Async => {
            let fake_return = fake_return(&ret);
            let success = success(&p, quote!(&__zdk_ret));
            quote! {
                #start
                let __zdk_ret: #ret = async move {
                    #fake_return
                    #body_expr
                }
                .await;
                __zdk_usage.finish(#success);
                __zdk_ret
            }
        }
        FnShape::Future | FnShape::BoxedFuture => {
            let success = success(&p, quote!(__zdk_ret));
            let run = quote!(#p::usage_future(__zdk_fut, __zdk_usage, |__zdk_ret| #success));
            let run = if func.shape() == FnShape::BoxedFuture {
                quote!(#p::Box::pin(#run))
            } else {
                run
            };
            quote! {
                #start
                let __zdk_fut = #body_expr;
                #run
            }
        }
        FnShape::Stream => quote! {
            #start
            let __zdk_stream = #body_expr;
            #p::usage_stream(__zdk_stream, __zdk_usage)
        },
        // Boxed again (coerced to the declared type); the body runs in a closure called once
        // so that an early `return` is measured too.
        FnShape::BoxedStream => quote! {
            #start
            let __zdk_stream: #ret = #p::call_once(move || -> #ret #block);
            #p::Box::pin(#p::usage_stream(__zdk_stream, __zdk_usage))
        },
    };
    let key_checks = app_key_checks(args, &p);
    m.with_body(quote! {
        #key_checks
        #body
    })
}

/// `let __zdk_usage = ...;`: the field values are computed only while the usage layer runs.
fn start(args: &Args, p: &TokenStream) -> TokenStream {
    let name = match &args.name {
        Some(name) => name.clone(),
        // Reported by `check`; not reached.
        None => LitStr::new("", Span::call_site()),
    };
    let fields = args.fields.iter().map(|field| {
        let key = LitStr::new(&field.key, field.key_tokens.span());
        let value = match &field.value {
            // A literal is seen here, so it is known not to be user content.
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => quote!(#p::usage_str(#s)),
            // Anything else must implement `UsageFieldValue` (no string type does); spanned
            // on the expression so the error says which value could leak user content.
            value => quote_spanned!(value.span()=> #p::usage_value(&(#value))),
        };
        quote!((#key, #value))
    });
    quote! {
        let __zdk_usage = if #p::usage_enabled() {
            #p::UsageCall::start(#name, [#(#fields),*])
        } else {
            #p::UsageCall::off()
        };
    }
}

/// `success` for a return value `ret` (an expression of type `&R`): `is_ok()` for a `Result`,
/// else `true`, chosen by autoref specialization on the concrete type.
fn success(p: &TokenStream, ret: TokenStream) -> TokenStream {
    quote! {{
        // Only one of the two traits is picked; which one depends on the return type.
        #[allow(unused_imports)]
        use #p::{UsageIsOther as _, UsageIsResult as _};
        #[allow(clippy::needless_borrow)] // the borrow is what selects the impl
        let __zdk_success = (&#p::UsageOutcome(#ret)).usage_success();
        __zdk_success
    }}
}

/// For each application key (not built in, with `keys = LIST`), a `const` that fails to
/// compile, on the key, when `LIST` does not contain it. `LIST` is also type-checked as a
/// `UsageKeys` when every key is built in.
fn app_key_checks(args: &Args, p: &TokenStream) -> TokenStream {
    let Some(list) = &args.usage_keys else {
        return TokenStream::new();
    };
    let list_tokens = list.to_token_stream();
    let mut checks = quote_spanned! {list.span()=>
        const _: #p::UsageKeys = #list_tokens;
    };
    for field in &args.fields {
        if keys::USAGE_ALLOWED_KEYS.contains(&field.key.as_str()) {
            continue;
        }
        let span = field.key_tokens.span();
        let key = LitStr::new(&field.key, span);
        let message = format!(
            "usage key `{}` is not in `{}`; add it to that `usage_keys!` list or use a key \
             that is there",
            field.key,
            path_string(list)
        )
        // `panic!` reads its literal as a format string.
        .replace('{', "{{")
        .replace('}', "}}");
        let message = LitStr::new(&message, span);
        checks.extend(quote_spanned! {span=>
            const _: () = if !#list_tokens.contains(#key) {
                ::core::panic!(#message)
            };
        });
    }
    checks
}

fn path_string(path: &syn::Path) -> String {
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    out.push_str(&segments.join("::"));
    out
}

/// `__usage_allowed_keys!()`: [`keys::USAGE_ALLOWED_KEYS`] as a `&[&str]` expression, which
/// defines `zdk_trace_runtime::usage::ALLOWED_KEYS`. The keys `#[usage_event]` accepts at
/// compile time and those the runtime accepts at run time are then one list, written once.
pub(crate) fn allowed_keys(input: &TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new(input.span(), "`__usage_allowed_keys!` takes no arguments")
            .to_compile_error();
    }
    let keys = keys::USAGE_ALLOWED_KEYS;
    quote!(&[#(#keys),*])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion is the list, in order: a `&[&str]` of exactly the keys of `keys.rs`.
    #[test]
    fn allowed_keys_expand_to_the_list() {
        let expr: syn::Expr = match syn::parse2(allowed_keys(&TokenStream::new())) {
            Ok(expr) => expr,
            Err(e) => panic!("not an expression: {e}"),
        };
        let syn::Expr::Reference(reference) = expr else {
            panic!("not a reference");
        };
        let syn::Expr::Array(array) = *reference.expr else {
            panic!("not an array");
        };
        let keys: Vec<String> = array
            .elems
            .iter()
            .map(|elem| match elem {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(key),
                    ..
                }) => key.value(),
                other => panic!("not a string literal: {}", other.to_token_stream()),
            })
            .collect();
        assert_eq!(keys, keys::USAGE_ALLOWED_KEYS);
    }

    #[test]
    fn allowed_keys_take_no_arguments() {
        let out = allowed_keys(&quote!(extra)).to_string();
        assert!(out.contains("compile_error"), "{out}");
    }
}
