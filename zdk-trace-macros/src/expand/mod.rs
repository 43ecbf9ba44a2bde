//! Expansion: [`entry`] parses, validates, then hands the model to the expander of the
//! function's shape. Everything generated reaches the runtime through
//! `#krate::__private::…`, and every local starts with `__zdk_`.

mod async_fn;
mod future_fn;
mod stream_fn;
mod sync_fn;
mod usage;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::LitStr;

use crate::args::{Args, MacroKind, RawArgs};
use crate::ctxt::Ctxt;
use crate::item::{FnShape, ItemFn};
use crate::keys;
use crate::{check, privacy};

/// The whole pipeline of one attribute: parse → validate (all errors at once) → expand. On
/// error, the errors are emitted together with the function unchanged, so that its callers
/// still type-check and only the real problem is reported.
pub(crate) fn entry(kind: MacroKind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        // A signature that parsed: the problem is the body (a declaration without one).
        Err(error) if syn::parse2::<SigPrefix>(item.clone()).is_ok() => {
            return with_original(error, item);
        }
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                format!("`{}` applies to functions and methods", kind.attr_name()),
            );
            return with_original(error, item);
        }
    };
    let raw: RawArgs = match syn::parse2(attr) {
        Ok(raw) => raw,
        Err(error) => return with_original(error, item),
    };
    let cx = Ctxt::new();
    let args = Args::from_raw(kind, raw, &cx);
    privacy::check(&cx, &args);
    check::check(&cx, &args, &func);
    if let Err(error) = cx.check() {
        return with_original(error, item);
    }
    expand(&args, &func)
}

/// Attributes, visibility and a signature, then anything: "this is a function".
struct SigPrefix;

impl syn::parse::Parse for SigPrefix {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        input.parse::<syn::Signature>()?;
        input.parse::<TokenStream>()?;
        Ok(SigPrefix)
    }
}

fn with_original(error: syn::Error, item: TokenStream) -> TokenStream {
    let errors = error.into_compile_error();
    quote!(#errors #item)
}

/// What every shape needs: the runtime path, the span-starting statements, and the hook
/// that records the return value (for `err` and `#[llm_call]`).
pub(crate) struct Model<'a> {
    pub(crate) func: &'a ItemFn,
    pub(crate) krate: TokenStream,
    /// Declares `__zdk_span` (a `Span`, mutable only when attributes follow) and sets its
    /// attributes when it records.
    pub(crate) start: TokenStream,
    /// Statements run with `__zdk_span: &mut Span` and `__zdk_ret: &R` in scope, or `None`.
    pub(crate) on_return: Option<TokenStream>,
    /// `#[llm_call]` on a stream: usage is summed over the items.
    pub(crate) llm_stream: bool,
}

impl Model<'_> {
    /// `#krate::__private`: the one path expansions reach the runtime through.
    pub(crate) fn private(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private)
    }

    /// The function again (attributes, visibility, signature unchanged) with `body` in place
    /// of its block; the new braces keep the block's span, so errors point at user code.
    pub(crate) fn with_body(&self, body: TokenStream) -> TokenStream {
        let ItemFn {
            attrs,
            vis,
            sig,
            block,
        } = self.func;
        let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
        group.set_span(block.span());
        quote!(#(#attrs)* #vis #sig #group)
    }

    /// `future` instrumented with `__zdk_span`, running the return hook (if any) on its
    /// output before the span ends.
    pub(crate) fn instrument_future(&self, future: TokenStream) -> TokenStream {
        let p = self.private();
        match &self.on_return {
            None => quote!(#p::instrument_with(#future, __zdk_span, |_, _| {})),
            Some(hook) => quote! {
                #p::instrument_with(#future, __zdk_span, |__zdk_span, __zdk_ret| { #hook })
            },
        }
    }
}

fn expand(args: &Args, func: &ItemFn) -> TokenStream {
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::zdk_trace_runtime),
    };
    if args.kind == MacroKind::UsageEvent {
        return usage::expand(args, func, &krate);
    }
    let model = Model {
        func,
        start: start_span(args, func, &krate),
        on_return: on_return(args, func, &krate),
        llm_stream: args.kind == MacroKind::LlmCall,
        krate,
    };
    match func.shape() {
        FnShape::Sync => sync_fn::expand(&model),
        FnShape::Async => async_fn::expand(&model),
        FnShape::Future => future_fn::expand(&model, false),
        FnShape::BoxedFuture => future_fn::expand(&model, true),
        FnShape::Stream => stream_fn::expand(&model),
    }
}

/// `name` if given, else the function's name.
fn name_or_fn(args: &Args, func: &ItemFn) -> String {
    match &args.name {
        Some(name) => name.value(),
        None => func.sig.ident.unraw_string(),
    }
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for syn::Ident {
    fn unraw_string(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}

fn start_span(args: &Args, func: &ItemFn, krate: &TokenStream) -> TokenStream {
    let p = quote!(#krate::__private);
    let lit = |s: &str| LitStr::new(s, Span::call_site());
    let display = |e: &syn::Expr| quote!(#p::display(&(#e)));
    // (key, value tokens) pairs set only when the span records.
    let mut attrs: Vec<(LitStr, TokenStream)> = Vec::new();
    let mut rename = TokenStream::new();
    let (name, kind) = match args.kind {
        // `#[usage_event]` has no span and is expanded by `usage::expand` before this.
        MacroKind::Span | MacroKind::UsageEvent => {
            let kind = match &args.span_kind {
                Some(k) => k.clone(),
                None => syn::Ident::new("Internal", Span::call_site()),
            };
            (name_or_fn(args, func), kind)
        }
        MacroKind::AgentSpan => {
            let name = name_or_fn(args, func);
            attrs.push((
                lit(keys::GEN_AI_OPERATION_NAME),
                lit(keys::OP_INVOKE_AGENT).into_token_stream(),
            ));
            attrs.push((lit(keys::GEN_AI_AGENT_NAME), lit(&name).into_token_stream()));
            if let Some(id) = &args.id {
                attrs.push((lit(keys::GEN_AI_AGENT_ID), display(id)));
            }
            if let Some(c) = &args.conversation {
                attrs.push((lit(keys::GEN_AI_CONVERSATION_ID), display(c)));
            }
            (format!("{} {name}", keys::OP_INVOKE_AGENT), internal())
        }
        MacroKind::ToolCall => {
            let name = name_or_fn(args, func);
            attrs.push((
                lit(keys::GEN_AI_OPERATION_NAME),
                lit(keys::OP_EXECUTE_TOOL).into_token_stream(),
            ));
            attrs.push((lit(keys::GEN_AI_TOOL_NAME), lit(&name).into_token_stream()));
            if let Some(id) = &args.call_id {
                attrs.push((lit(keys::GEN_AI_TOOL_CALL_ID), display(id)));
            }
            attrs.push((
                lit(keys::GEN_AI_TOOL_TYPE),
                lit("function").into_token_stream(),
            ));
            (format!("{} {name}", keys::OP_EXECUTE_TOOL), internal())
        }
        MacroKind::Workflow => {
            let name = name_or_fn(args, func);
            attrs.push((
                lit(keys::GEN_AI_OPERATION_NAME),
                lit(keys::OP_INVOKE_WORKFLOW).into_token_stream(),
            ));
            attrs.push((
                lit(keys::GEN_AI_WORKFLOW_NAME),
                lit(&name).into_token_stream(),
            ));
            if let Some(kind) = &args.workflow_kind {
                attrs.push((lit(keys::WORKFLOW_TYPE), kind.to_token_stream()));
            }
            (format!("{} {name}", keys::OP_INVOKE_WORKFLOW), internal())
        }
        MacroKind::LlmCall => {
            let operation = match &args.operation {
                Some(op) => op.value(),
                None => keys::OP_CHAT.to_owned(),
            };
            attrs.push((
                lit(keys::GEN_AI_OPERATION_NAME),
                lit(&operation).into_token_stream(),
            ));
            if let Some(provider) = &args.provider {
                attrs.push((lit(keys::GEN_AI_PROVIDER_NAME), provider.to_token_stream()));
            }
            let name = match &args.model {
                // A literal model gives a `&'static str` name, built here.
                Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(model),
                    ..
                })) => {
                    attrs.push((lit(keys::GEN_AI_REQUEST_MODEL), model.to_token_stream()));
                    format!("{operation} {}", model.value())
                }
                // Otherwise the span starts as `{operation}` and is renamed only when it
                // records, so a disabled span formats nothing.
                Some(model) => {
                    let value = display(model);
                    let full = lit(&format!("{operation} "));
                    let request_model = lit(keys::GEN_AI_REQUEST_MODEL);
                    rename = quote! {
                        let __zdk_model = #value;
                        __zdk_span.update_name(#p::join_name(#full, &__zdk_model));
                        __zdk_span.set_attribute(#p::KeyValue::new(
                            #request_model,
                            __zdk_model,
                        ));
                    };
                    operation
                }
                None => operation,
            };
            (name, syn::Ident::new("Client", Span::call_site()))
        }
    };
    for field in &args.fields {
        let value = &field.value;
        attrs.push((lit(&field.key), value.to_token_stream()));
    }
    let name = lit(&name);
    if attrs.is_empty() && rename.is_empty() {
        return quote! {
            let __zdk_span = #p::Span::start_with_kind(#name, #p::SpanKind::#kind);
        };
    }
    let sets = attrs
        .iter()
        .map(|(key, value)| quote!(__zdk_span.set_attribute(#p::KeyValue::new(#key, #value));));
    quote! {
        let mut __zdk_span = #p::Span::start_with_kind(#name, #p::SpanKind::#kind);
        // Attribute values are computed only for a span that records.
        if __zdk_span.is_recording() {
            #rename
            #(#sets)*
        }
    }
}

fn internal() -> syn::Ident {
    syn::Ident::new("Internal", Span::call_site())
}

fn on_return(args: &Args, func: &ItemFn, krate: &TokenStream) -> Option<TokenStream> {
    let p = quote!(#krate::__private);
    // Spanned at the return type, so "does not implement `LlmOutput`" or "`err` needs a
    // `Result`" points at the type the user wrote.
    let at = match &func.sig.output {
        syn::ReturnType::Type(_, ty) => syn::spanned::Spanned::span(&**ty),
        syn::ReturnType::Default => func.sig.ident.span(),
    };
    let mut hook = TokenStream::new();
    if args.kind == MacroKind::LlmCall {
        hook.extend(quote_spanned!(at=> #p::record_llm_output(__zdk_span, __zdk_ret);));
    }
    if args.err.is_some() {
        hook.extend(quote_spanned!(at=> #p::record_err(__zdk_span, __zdk_ret);));
    }
    if hook.is_empty() {
        None
    } else {
        Some(hook)
    }
}
