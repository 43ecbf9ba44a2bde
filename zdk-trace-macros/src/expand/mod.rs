//! Expansion: [`entry`] parses, validates, then hands the model to the expander of the
//! function's shape. Everything generated reaches the runtime through
//! `#krate::__private::…`, and every local starts with `__zdk_`.

mod async_fn;
mod future_fn;
mod loops;
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

pub(crate) use usage::allowed_keys as usage_allowed_keys;

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
    /// Declares `__zdk_span` (a `Span`, mutable when attributes follow or the expansion lends
    /// it out) and sets its attributes when it records. For a sync fn without loops to count,
    /// also `__zdk_guard`: the span starts already entered (one visit to the thread's state)
    /// and its attributes are set through the guard, with the span current.
    pub(crate) start: TokenStream,
    /// Statements run with `__zdk_span: &mut Span` and `__zdk_ret: &R` in scope, or `None`.
    pub(crate) on_return: Option<TokenStream>,
    /// `#[llm_call]` on a stream: usage is summed over the items.
    pub(crate) llm_stream: bool,
    /// `capture` was given: `__zdk_content` (a `Content`) is declared by `start`.
    pub(crate) capture: bool,
    /// `#[workflow(kind = "loop")]` on a sync or async fn: the body with its outermost loops
    /// ticking `__zdk_loop`, and whether it has any.
    pub(crate) loops: Option<(TokenStream, bool)>,
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
        let hook = self.hook_closure();
        quote!(#p::instrument_with(#future, __zdk_span, #hook))
    }

    /// The return hook as a closure for `instrument_with`/`in_span`: it captures nothing, so
    /// it is zero-sized in the future that stores it, except with `capture`, where it owns
    /// `__zdk_content` (the future may outlive the function's locals).
    pub(crate) fn hook_closure(&self) -> TokenStream {
        match &self.on_return {
            None => quote!(|_, _| {}),
            Some(hook) if self.capture => quote!(move |__zdk_span, __zdk_ret| { #hook }),
            Some(hook) => quote!(|__zdk_span, __zdk_ret| { #hook }),
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
    let shape = func.shape_with(args.stream.is_some());
    let loops = is_loop_workflow(args) && matches!(shape, FnShape::Sync | FnShape::Async);
    let start = match shape {
        FnShape::Sync if !loops => Start::Entered,
        // The async expansion lends the span (`&mut __zdk_span`) to the body's future, a loop
        // workflow's to the guard that keeps it entered.
        FnShape::Async | FnShape::Sync => Start::Span { mutable: true },
        _ => Start::Span { mutable: false },
    };
    let model = Model {
        func,
        start: start_span(args, func, &krate, start),
        on_return: on_return(args, func, &krate),
        llm_stream: args.kind == MacroKind::LlmCall,
        capture: args.capture.is_some(),
        // Futures and streams built by the body run their loops after the function returns,
        // out of reach of a rewrite of its body: only sync and async fns count iterations.
        loops: loops.then(|| loops::tick_loops(&func.block)),
        krate,
    };
    match shape {
        FnShape::Sync => sync_fn::expand(&model),
        FnShape::Async => async_fn::expand(&model),
        FnShape::Future => future_fn::expand(&model, false),
        FnShape::BoxedFuture => future_fn::expand(&model, true),
        FnShape::Stream => stream_fn::expand(&model, false),
        FnShape::BoxedStream => stream_fn::expand(&model, true),
    }
}

fn is_loop_workflow(args: &Args) -> bool {
    args.kind == MacroKind::Workflow
        && args
            .workflow_kind
            .as_ref()
            .is_some_and(|kind| kind.value() == "loop")
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

/// `mutable`: declare `let mut __zdk_span` even when no attribute is set on it.
/// How the expansion starts the span.
#[derive(Clone, Copy, PartialEq)]
enum Start {
    /// `let __zdk_span = Span::start_with_kind(..)` (`mut` when the expansion needs it even
    /// without attributes to set).
    Span { mutable: bool },
    /// `__zdk_guard`, the span started entered for a sync call (`__private::start_entered`).
    Entered,
}

fn start_span(args: &Args, func: &ItemFn, krate: &TokenStream, start: Start) -> TokenStream {
    let p = quote!(#krate::__private);
    let lit = |s: &str| LitStr::new(s, Span::call_site());
    let display = |e: &syn::Expr| quote!(#p::display(&(#e)));
    // (key, value tokens) pairs set only when the span records.
    let mut attrs: Vec<(LitStr, TokenStream)> = Vec::new();
    let mut rename = TokenStream::new();
    // The built-in metrics' call site: (kind, operation, name, provider, literal model).
    let mut site: Option<(&str, String, String, String, String)> = None;
    let provider = args
        .provider
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_default();
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
            site = Some((
                "Agent",
                keys::OP_INVOKE_AGENT.into(),
                name.clone(),
                "".into(),
                "".into(),
            ));
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
            site = Some((
                "Tool",
                keys::OP_EXECUTE_TOOL.into(),
                name.clone(),
                "".into(),
                "".into(),
            ));
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
            site = Some((
                "Workflow",
                keys::OP_INVOKE_WORKFLOW.into(),
                name.clone(),
                "".into(),
                "".into(),
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
                    site = Some((
                        "Llm",
                        operation.clone(),
                        String::new(),
                        provider.clone(),
                        model.value(),
                    ));
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
            if site.is_none() {
                let operation = match &args.operation {
                    Some(op) => op.value(),
                    None => keys::OP_CHAT.to_owned(),
                };
                site = Some((
                    "Llm",
                    operation,
                    String::new(),
                    provider.clone(),
                    String::new(),
                ));
            }
            (name, syn::Ident::new("Client", Span::call_site()))
        }
    };
    let fields = args.fields.iter().map(|field| field_set(field, &p));
    let params = args.request.iter().map(|param| request_param(param, &p));
    let name = lit(&name);
    let bare =
        attrs.is_empty() && rename.is_empty() && args.request.is_empty() && args.fields.is_empty();
    let sets = attrs
        .iter()
        .map(|(key, value)| {
            // A literal owns no memory: set as such, its record is not dropped attribute by
            // attribute on the collector.
            if syn::parse2::<LitStr>(value.clone()).is_ok() {
                quote!(__zdk_span.__set_literal(#key, #value);)
            } else {
                quote!(__zdk_span.set_attribute(#p::KeyValue::new(#key, #value));)
            }
        })
        .chain(fields);
    let content = capture_start(args, &p);
    let site = site.filter(|_| args.no_metrics.is_none());
    let site_def = site
        .as_ref()
        .map(|(kind, operation, name, provider, model)| {
            let kind = syn::Ident::new(kind, Span::call_site());
            let (operation, name, provider, model) =
                (lit(operation), lit(name), lit(provider), lit(model));
            quote! {
                // The call site of the built-in metrics: its attributes, known here.
                static __ZDK_SITE: #p::Site =
                    #p::Site::new(#p::SiteKind::#kind, #operation, #name, #provider, #model);
            }
        });
    // What the span measures: the `profile` option, else the `span_resources` setting.
    let profile = match args.profile {
        Some(crate::args::Profile::Full) => quote!(#p::PROFILE_FULL),
        Some(crate::args::Profile::Busy) => quote!(#p::PROFILE_BUSY),
        None => quote!(#p::PROFILE_SETTING),
    };
    if start == Start::Entered {
        let meter = site_def
            .as_ref()
            .map(|def| quote!(#def #p::meter(&mut __zdk_guard, &__ZDK_SITE);));
        let guard = quote! {
            let mut __zdk_span = #p::SyncSpan::new();
            #[allow(unused_mut)]
            let mut __zdk_guard = {
                static __ZDK_HEAD: #p::Head = #p::Head::new(#name, #p::SpanKind::#kind);
                #p::start_entered(&mut __zdk_span, &__ZDK_HEAD)
            };
            #meter
            #p::resources_entered(&mut __zdk_guard, #profile);
        };
        if bare && content.is_empty() {
            return guard;
        }
        return quote! {
            #guard
            let __zdk_span: &mut #p::Span = &mut __zdk_guard;
            // Attribute values are computed only for a span that records.
            if __zdk_span.is_recording() {
                #rename
                #(#sets)*
                #(#params)*
            }
            #content
        };
    }
    if bare && start == (Start::Span { mutable: false }) {
        return quote! {
            #[allow(unused_mut)]
            let mut __zdk_span = #p::Span::start_with_kind(#name, #p::SpanKind::#kind);
            #p::resources(&mut __zdk_span, #profile);
        };
    }
    let meter = site_def
        .as_ref()
        .map(|def| quote!(#def #p::meter(&mut __zdk_span, &__ZDK_SITE);));
    quote! {
        let mut __zdk_span = #p::Span::start_with_kind(#name, #p::SpanKind::#kind);
        #meter
        #p::resources(&mut __zdk_span, #profile);
        // Attribute values are computed only for a span that records.
        if __zdk_span.is_recording() {
            #rename
            #(#sets)*
            #(#params)*
        }
        #content
    }
}

/// One `fields(...)` entry, set on a span that records. A plain value goes through
/// `__private::field_value` (the `SpanFieldValue` trait: its own message for a type it does not
/// take, `None` for an attribute left out); `%expr` and `?expr` through `display` / `debug`. A
/// string literal is passed as it is, a `&'static str` recorded without a copy.
fn field_set(field: &crate::args::Field, p: &TokenStream) -> TokenStream {
    use crate::args::Sigil;
    let key = LitStr::new(&field.key, Span::call_site());
    let value = &field.value;
    let function = match &field.sigil {
        Sigil::Display(_) => quote!(#p::display),
        Sigil::Debug(_) => quote!(#p::debug),
        Sigil::None => {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(literal),
                ..
            }) = value
            {
                return quote!(__zdk_span.__set_literal(#key, #literal););
            }
            let call = call_spanning(quote!(#p::field_value), field);
            return quote! {
                if let ::core::option::Option::Some(__zdk_value) = #call {
                    __zdk_span.__set_field(#key, __zdk_value);
                }
            };
        }
    };
    let call = call_spanning(function, field);
    quote!(__zdk_span.set_attribute(#p::KeyValue::new(#key, #call));)
}

/// `function(&(value))` for a field, its tokens spanned from the key to the end of the value,
/// so that an unmet bound (`SpanFieldValue`, `Display`, `Debug`) underlines `key = value`: the
/// message cannot name the field, the underline does.
fn call_spanning(function: TokenStream, field: &crate::args::Field) -> TokenStream {
    let value = &field.value;
    let first = field
        .key_tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(|| syn::spanned::Spanned::span(value), |t| t.span());
    let last = value
        .to_token_stream()
        .into_iter()
        .last()
        .map_or(first, |t| t.span());
    // rustc spans `&(...)` from the `&` to the closing parenthesis.
    let mut inner =
        proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, value.to_token_stream());
    inner.set_span(last);
    let mut amp = proc_macro2::Punct::new('&', proc_macro2::Spacing::Alone);
    amp.set_span(first);
    let mut args =
        proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#amp #inner));
    args.set_span(last);
    let function = respan(function, first);
    quote!(#function #args)
}

/// `temperature = expr` and the like: converted through a `__private` trait (spanned at the
/// value, so a wrong type is reported there with the trait's message), set when `Some`.
fn request_param(param: &crate::args::RequestParam, p: &TokenStream) -> TokenStream {
    let key = LitStr::new(param.attribute, Span::call_site());
    let value = &param.value;
    let at = syn::spanned::Spanned::span(value);
    let function = match param.ty {
        keys::ParamType::Float => quote!(request_f64),
        keys::ParamType::Int => quote!(request_i64),
        keys::ParamType::Strings => quote!(stop_sequences),
    };
    // The call spanned at the value, so a wrong type underlines the value, not the attribute.
    let convert = call_at(quote!(#p::#function), value, at);
    quote! {
        if let ::core::option::Option::Some(__zdk_value) = #convert {
            __zdk_span.__set_field(#key, __zdk_value);
        }
    }
}

/// `capture`: `__zdk_content` holds the capture mode, read once (a relaxed load; `NoContent`
/// when the span does not record), and the prompt or tool arguments, computed only when it
/// captures and before the body can move them.
fn capture_start(args: &Args, p: &TokenStream) -> TokenStream {
    let Some(capture) = &args.capture else {
        return TokenStream::new();
    };
    let Some(input) = &capture.input else {
        return quote!(let __zdk_content = #p::Content::start(&__zdk_span););
    };
    let at = syn::spanned::Spanned::span(input);
    let method = if args.kind == MacroKind::ToolCall {
        quote!(tool_arguments)
    } else {
        quote!(llm_input)
    };
    // Spanned at the value, so "does not implement `Serialize`" underlines it.
    let call = call_at(quote!(__zdk_content.#method), input, at);
    quote! {
        let mut __zdk_content = #p::Content::start(&__zdk_span);
        if __zdk_content.captures() {
            #call;
        }
    }
}

/// `function(&(value))` with the tokens written here spanned at `at` (the value's first
/// token; the value keeps its own spans).
fn call_at(function: TokenStream, value: &syn::Expr, at: Span) -> TokenStream {
    let mut inner =
        proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, value.to_token_stream());
    inner.set_span(at);
    let mut amp = proc_macro2::Punct::new('&', proc_macro2::Spacing::Alone);
    amp.set_span(at);
    let mut args =
        proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#amp #inner));
    args.set_span(at);
    let function = respan(function, at);
    quote!(#function #args)
}

/// `tokens` with every span set to `span`, groups included (only for tokens written here).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            proc_macro2::TokenTree::Group(group) => {
                let mut new =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                proc_macro2::TokenTree::Group(new)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
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
        if args.capture.is_some() {
            hook.extend(quote_spanned!(at=>
                #p::record_llm_content(__zdk_span, __zdk_ret, &__zdk_content);
            ));
        }
    }
    if args.kind == MacroKind::ToolCall && args.capture.is_some() {
        // The `Ok` value of a `Result`, else the value itself: see `__private::Returned`.
        hook.extend(quote_spanned!(at=> {
            #[allow(unused_imports)]
            use #p::{ReturnedAny as _, ReturnedOk as _};
            #p::record_tool_content(
                __zdk_span,
                (&#p::Returned(__zdk_ret)).value(),
                &__zdk_content,
            );
        }));
    }
    if args.err.is_some() {
        // `error.type` comes from `ErrorType` when the error implements it, else from the type
        // name: autoref specialization, see `__private::ErrorTypeProbe`. The traits are
        // imported for method lookup only, one of them unused at each call site.
        // Both calls spanned at the return type, so an unmet `ErrResult` bound points there.
        hook.extend(quote_spanned! {at=>
            {
                #[allow(unused_imports)]
                use #p::{ViaErrorType as _, ViaTypeName as _};
                let __zdk_read_type = (&#p::ErrorTypeProbe(__zdk_ret)).__zdk_error_type();
                #p::record_err(__zdk_span, __zdk_ret, __zdk_read_type);
            }
        });
    }
    if hook.is_empty() {
        None
    } else {
        Some(hook)
    }
}
