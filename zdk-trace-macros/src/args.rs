//! Attribute arguments: [`RawArgs`] is the syntax (`key = value`, `key(...)`, `key`), parsed
//! without judging it; [`Args::from_raw`] checks each option against the macro it was given to
//! and keeps every value's source tokens so that errors point at them.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::ctxt::Ctxt;
use crate::keys;

/// Which macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroKind {
    Span,
    AgentSpan,
    ToolCall,
    Workflow,
    LlmCall,
    UsageEvent,
}

impl MacroKind {
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            MacroKind::Span => "#[span]",
            MacroKind::AgentSpan => "#[agent_span]",
            MacroKind::ToolCall => "#[tool_call]",
            MacroKind::Workflow => "#[workflow]",
            MacroKind::LlmCall => "#[llm_call]",
            MacroKind::UsageEvent => "#[usage_event]",
        }
    }

    /// The options this macro accepts.
    fn options(self) -> &'static [&'static str] {
        use keys::{ALLOW_PII, CAPTURE, OPERATION, PROVIDER, STREAM};
        use keys::{CALL_ID, CONVERSATION, CRATE, ERR, FIELDS, ID, KEYS, KIND, MODEL, NAME};
        use keys::{CHOICE_COUNT, FREQUENCY_PENALTY, MAX_TOKENS, PRESENCE_PENALTY, SEED};
        use keys::{NO_METRICS, PROFILE, STOP_SEQUENCES, TEMPERATURE, TOP_K, TOP_P};
        match self {
            MacroKind::Span => &[NAME, KIND, FIELDS, ALLOW_PII, ERR, STREAM, PROFILE, CRATE],
            MacroKind::AgentSpan => &[
                NAME,
                ID,
                CONVERSATION,
                FIELDS,
                ALLOW_PII,
                ERR,
                STREAM,
                NO_METRICS,
                PROFILE,
                CRATE,
            ],
            MacroKind::ToolCall => &[
                NAME, CALL_ID, CAPTURE, FIELDS, ALLOW_PII, ERR, STREAM, NO_METRICS, PROFILE, CRATE,
            ],
            MacroKind::Workflow => &[
                NAME, KIND, FIELDS, ALLOW_PII, ERR, STREAM, NO_METRICS, PROFILE, CRATE,
            ],
            // No `allow_pii` (usage events have no escape hatch) and no `err` (an `Err`
            // always sets `success = false`).
            MacroKind::UsageEvent => &[NAME, KEYS, FIELDS, CRATE],
            MacroKind::LlmCall => &[
                PROVIDER,
                MODEL,
                OPERATION,
                TEMPERATURE,
                MAX_TOKENS,
                TOP_P,
                TOP_K,
                FREQUENCY_PENALTY,
                PRESENCE_PENALTY,
                STOP_SEQUENCES,
                SEED,
                CHOICE_COUNT,
                CAPTURE,
                FIELDS,
                ALLOW_PII,
                ERR,
                STREAM,
                NO_METRICS,
                PROFILE,
                CRATE,
            ],
        }
    }
}

/// The attribute's tokens, as written.
pub(crate) struct RawArgs {
    options: Vec<RawOption>,
}

struct RawOption {
    key: Ident,
    value: RawValue,
}

enum RawValue {
    /// `err`
    Flag,
    /// `name = "..."`, `id = self.id`, `kind = server`
    Expr(Expr),
    /// `fields(a = 1, b = x)`, `allow_pii(user.email)`: the parenthesized tokens, parsed by
    /// the option that accepts a list (and pointed at when another option gets one)
    List(proc_macro2::Group),
}

/// One `key = expr` of `fields(...)` (or `key = %expr`, `key = ?expr`, `key`, `%key`, `?key`).
pub(crate) struct Field {
    /// The attribute name, dotted: `user.id`.
    pub(crate) key: String,
    /// The key as written, for error spans.
    pub(crate) key_tokens: TokenStream,
    /// How the value is recorded: as it is, or as text through `Display` / `Debug`.
    pub(crate) sigil: Sigil,
    pub(crate) value: Expr,
}

/// tracing's sigils in front of a field value.
pub(crate) enum Sigil {
    /// `key = expr`: the value's own type decides the attribute's (`__private::SpanFieldValue`).
    None,
    /// `key = %expr`: its `Display`, as a string.
    Display(Token![%]),
    /// `key = ?expr`: its `Debug`, as a string.
    Debug(Token![?]),
}

impl Sigil {
    fn parse_optional(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(if input.peek(Token![%]) {
            Sigil::Display(input.parse()?)
        } else if input.peek(Token![?]) {
            Sigil::Debug(input.parse()?)
        } else {
            Sigil::None
        })
    }

    /// The sigil's token, for errors that point at it.
    pub(crate) fn token(&self) -> Option<TokenStream> {
        match self {
            Sigil::None => None,
            Sigil::Display(t) => Some(t.to_token_stream()),
            Sigil::Debug(t) => Some(t.to_token_stream()),
        }
    }
}

impl Parse for RawArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let options = Punctuated::<RawOption, Token![,]>::parse_terminated(input)?;
        Ok(RawArgs {
            options: options.into_iter().collect(),
        })
    }
}

impl Parse for RawOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `parse_any` so that `crate = ...` parses.
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawValue::Expr(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            match input.parse::<proc_macro2::TokenTree>()? {
                proc_macro2::TokenTree::Group(group) => RawValue::List(group),
                other => return Err(syn::Error::new_spanned(other, "expected `(...)`")),
            }
        } else {
            RawValue::Flag
        };
        Ok(RawOption { key, value })
    }
}

/// A field key, dotted (`user.id`) or quoted (`"user.id"`), with its tokens.
pub(crate) struct FieldKey {
    pub(crate) key: String,
    pub(crate) key_tokens: TokenStream,
}

impl Parse for FieldKey {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut key_tokens = TokenStream::new();
        let key = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            lit.to_tokens(&mut key_tokens);
            lit.value()
        } else {
            let first = Ident::parse_any(input)?;
            first.to_tokens(&mut key_tokens);
            let mut key = first.unraw().to_string();
            while input.peek(Token![.]) {
                let dot: Token![.] = input.parse()?;
                let next = Ident::parse_any(input)?;
                dot.to_tokens(&mut key_tokens);
                next.to_tokens(&mut key_tokens);
                key.push('.');
                key.push_str(&next.unraw().to_string());
            }
            key
        };
        Ok(FieldKey { key, key_tokens })
    }
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `%count` / `?count`: the shorthand with a sigil.
        let shorthand_sigil = Sigil::parse_optional(input)?;
        let FieldKey { key, key_tokens } = input.parse()?;
        let (sigil, value) = if input.peek(Token![=]) {
            let eq: Token![=] = input.parse()?;
            if let Some(sigil) = shorthand_sigil.token() {
                return Err(syn::Error::new_spanned(
                    quote::quote!(#sigil #key_tokens #eq),
                    "a sigil goes before the value, not the key: `key = %expr` or `key = ?expr`",
                ));
            }
            (Sigil::parse_optional(input)?, input.parse()?)
        } else {
            // `fields(count)` records the binding `count` under its own name.
            let ident: Ident = syn::parse2(key_tokens.clone()).map_err(|_| {
                syn::Error::new_spanned(
                    &key_tokens,
                    "a dotted or quoted field key needs a value: `key = expr`",
                )
            })?;
            let value = Expr::Path(syn::ExprPath {
                attrs: Vec::new(),
                qself: None,
                path: ident.into(),
            });
            (shorthand_sigil, value)
        };
        Ok(Field {
            key,
            key_tokens,
            sigil,
            value,
        })
    }
}

/// `#[llm_call(temperature = expr)]` and the other request parameters.
pub(crate) struct RequestParam {
    /// The attribute name (`gen_ai.request.temperature`).
    pub(crate) attribute: &'static str,
    pub(crate) ty: keys::ParamType,
    pub(crate) value: Expr,
}

/// `capture`, `capture(input = expr)` (`#[llm_call]`) or `capture(arguments = expr)`
/// (`#[tool_call]`).
pub(crate) struct Capture {
    /// The `capture` keyword, for errors.
    pub(crate) keyword: Ident,
    /// The prompt or the tool arguments, evaluated before the body runs.
    pub(crate) input: Option<Expr>,
}

/// One `key = expr` inside `capture(...)`.
struct CaptureEntry {
    key: Ident,
    value: Expr,
}

impl Parse for CaptureEntry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        input.parse::<Token![=]>().map_err(|_| {
            syn::Error::new_spanned(
                &key,
                format!("expected `{key} = expr` inside `capture(...)`"),
            )
        })?;
        Ok(CaptureEntry {
            key,
            value: input.parse()?,
        })
    }
}

/// Validated arguments of any of the macros; options a macro does not accept stay `None`.
pub(crate) struct Args {
    pub(crate) kind: MacroKind,
    pub(crate) name: Option<LitStr>,
    /// `#[span(kind = server)]`: the `SpanKind` variant.
    pub(crate) span_kind: Option<Ident>,
    /// `#[workflow(kind = "parallel")]`
    pub(crate) workflow_kind: Option<LitStr>,
    pub(crate) id: Option<Expr>,
    pub(crate) conversation: Option<Expr>,
    pub(crate) call_id: Option<Expr>,
    pub(crate) provider: Option<LitStr>,
    pub(crate) model: Option<Expr>,
    pub(crate) operation: Option<LitStr>,
    /// `#[llm_call]` request parameters, in the order written.
    pub(crate) request: Vec<RequestParam>,
    pub(crate) capture: Option<Capture>,
    pub(crate) fields: Vec<Field>,
    /// `allow_pii(...)`: field keys exempted from the privacy check, on purpose.
    pub(crate) allow_pii: Vec<FieldKey>,
    pub(crate) err: Option<Ident>,
    /// `stream`: the function returns a boxed stream the signature does not show (an alias).
    pub(crate) stream: Option<Ident>,
    /// `no_metrics`: the call records no built-in metrics (GenAI macros).
    pub(crate) no_metrics: Option<Ident>,
    /// `profile` / `profile = "busy"`: the span measures its resources.
    pub(crate) profile: Option<Profile>,
    pub(crate) krate: Option<Path>,
    /// `#[usage_event(keys = APP_USAGE_KEYS)]`: the application's extra usage keys.
    pub(crate) usage_keys: Option<Path>,
    /// The attribute (call site), for "missing option" errors.
    pub(crate) attr_span: Span,
}

impl Args {
    /// Checks each option against `kind`; every problem goes to `cx`.
    pub(crate) fn from_raw(kind: MacroKind, raw: RawArgs, cx: &Ctxt) -> Args {
        let mut args = Args {
            kind,
            name: None,
            span_kind: None,
            workflow_kind: None,
            id: None,
            conversation: None,
            call_id: None,
            provider: None,
            model: None,
            operation: None,
            request: Vec::new(),
            capture: None,
            fields: Vec::new(),
            allow_pii: Vec::new(),
            err: None,
            stream: None,
            no_metrics: None,
            profile: None,
            krate: None,
            usage_keys: None,
            attr_span: Span::call_site(),
        };
        let mut seen: Vec<String> = Vec::new();
        for option in raw.options {
            let key = option.key.unraw().to_string();
            if !accept_key(kind, &option.key, &key, &mut seen, cx) {
                continue;
            }
            match key.as_str() {
                keys::NAME => args.name = string(cx, &option),
                keys::PROVIDER => args.provider = string(cx, &option),
                keys::OPERATION => args.operation = string(cx, &option),
                keys::ID => args.id = expr(cx, option),
                keys::CONVERSATION => args.conversation = expr(cx, option),
                keys::CALL_ID => args.call_id = expr(cx, option),
                keys::MODEL => args.model = expr(cx, option),
                keys::KIND if kind == MacroKind::Workflow => {
                    args.workflow_kind = workflow_kind(cx, &option);
                }
                keys::KIND => args.span_kind = span_kind(cx, &option),
                keys::FIELDS => args.fields = list(cx, option),
                keys::ALLOW_PII => args.allow_pii = list(cx, option),
                keys::ERR => args.err = flag(cx, &option).then(|| option.key.clone()),
                keys::STREAM => args.stream = flag(cx, &option).then(|| option.key.clone()),
                keys::NO_METRICS => {
                    args.no_metrics = flag(cx, &option).then(|| option.key.clone());
                }
                keys::PROFILE => args.profile = profile(cx, &option),
                keys::CRATE => args.krate = crate_path(cx, &option),
                keys::KEYS => args.usage_keys = keys_path(cx, &option),
                keys::CAPTURE => args.capture = capture(kind, cx, option),
                _ => {
                    if let Some((_, attribute, ty)) =
                        keys::REQUEST_PARAMS.iter().find(|(k, _, _)| *k == key)
                    {
                        if let Some(value) = expr(cx, option) {
                            args.request.push(RequestParam {
                                attribute,
                                ty: *ty,
                                value,
                            });
                        }
                    }
                }
            }
        }
        args
    }
}

/// What `profile` measures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// `profile` or `profile = "full"`: busy time, thread CPU time, allocations.
    Full,
    /// `profile = "busy"`: busy time and allocations (no CPU clock: no system call per poll).
    Busy,
}

/// `profile`, `profile = "full"` or `profile = "busy"`.
fn profile(cx: &Ctxt, option: &RawOption) -> Option<Profile> {
    if let RawValue::Flag = option.value {
        return Some(Profile::Full);
    }
    if let RawValue::Expr(Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(s),
        ..
    })) = &option.value
    {
        match s.value().as_str() {
            "full" => return Some(Profile::Full),
            "busy" => return Some(Profile::Busy),
            _ => {}
        }
    }
    cx.error_spanned_by(
        value_tokens(option),
        "`profile` is a flag (busy time, CPU time and allocations) or `profile = \"busy\"` \
         (busy time and allocations, without the CPU clock's system call per poll)",
    );
    None
}

/// The one place unknown, misplaced and duplicate keys are reported.
fn accept_key(
    kind: MacroKind,
    ident: &Ident,
    key: &str,
    seen: &mut Vec<String>,
    cx: &Ctxt,
) -> bool {
    let accepted = kind.options();
    if !accepted.contains(&key) {
        let list = accepted
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if keys::ALL_OPTIONS.contains(&key) {
            cx.error_spanned_by(
                ident,
                format!(
                    "`{key}` does not apply to `{}`; its options are {list}",
                    kind.attr_name()
                ),
            );
        } else {
            cx.error_spanned_by(
                ident,
                format!(
                    "unknown option `{key}` for `{}`; expected one of {list}",
                    kind.attr_name()
                ),
            );
        }
        return false;
    }
    if seen.iter().any(|s| s == key) {
        cx.error_spanned_by(ident, format!("duplicate option `{key}`; remove one"));
        return false;
    }
    seen.push(key.to_owned());
    true
}

fn value_tokens(option: &RawOption) -> TokenStream {
    match &option.value {
        RawValue::Flag => option.key.to_token_stream(),
        RawValue::Expr(e) => e.to_token_stream(),
        RawValue::List(group) => group.to_token_stream(),
    }
}

fn string(cx: &Ctxt, option: &RawOption) -> Option<LitStr> {
    if let RawValue::Expr(Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(s),
        ..
    })) = &option.value
    {
        return Some(s.clone());
    }
    cx.error_spanned_by(
        value_tokens(option),
        format!(
            "`{}` expects a string literal: `{} = \"...\"`",
            option.key, option.key
        ),
    );
    None
}

fn expr(cx: &Ctxt, option: RawOption) -> Option<Expr> {
    match option.value {
        RawValue::Expr(e) => Some(e),
        _ => {
            cx.error_spanned_by(
                value_tokens(&option),
                format!("`{}` expects a value: `{} = expr`", option.key, option.key),
            );
            None
        }
    }
}

fn flag(cx: &Ctxt, option: &RawOption) -> bool {
    if let RawValue::Flag = option.value {
        return true;
    }
    cx.error_spanned_by(
        value_tokens(option),
        format!(
            "`{}` takes no value: write `{}` alone",
            option.key, option.key
        ),
    );
    false
}

/// `fields(key = expr, ...)` or `allow_pii(key, ...)`.
fn list<T: Parse>(cx: &Ctxt, option: RawOption) -> Vec<T> {
    match &option.value {
        RawValue::List(group) => {
            let parser = Punctuated::<T, Token![,]>::parse_terminated;
            match syn::parse::Parser::parse2(parser, group.stream()) {
                Ok(items) => items.into_iter().collect(),
                Err(error) => {
                    cx.syn_error(error);
                    Vec::new()
                }
            }
        }
        _ => {
            cx.error_spanned_by(
                value_tokens(&option),
                format!(
                    "`{}` expects a list: `{}(key = expr, ...)`",
                    option.key, option.key
                ),
            );
            Vec::new()
        }
    }
}

/// `capture` alone, or `capture(input = expr)` / `capture(arguments = expr)`.
fn capture(kind: MacroKind, cx: &Ctxt, option: RawOption) -> Option<Capture> {
    let (expected, example) = if kind == MacroKind::ToolCall {
        (keys::CAPTURE_ARGUMENTS, "capture(arguments = args)")
    } else {
        (keys::CAPTURE_INPUT, "capture(input = prompt)")
    };
    let group = match option.value {
        RawValue::Flag => {
            return Some(Capture {
                keyword: option.key,
                input: None,
            })
        }
        RawValue::List(group) => group,
        RawValue::Expr(e) => {
            cx.error_spanned_by(
                e,
                format!("`capture` takes no `= value`: write `capture` or `{example}`"),
            );
            return None;
        }
    };
    let parser = Punctuated::<CaptureEntry, Token![,]>::parse_terminated;
    let entries = match syn::parse::Parser::parse2(parser, group.stream()) {
        Ok(entries) => entries,
        Err(error) => {
            cx.syn_error(error);
            return None;
        }
    };
    let written = !entries.is_empty();
    let mut input = None;
    for entry in entries {
        if entry.key != expected {
            cx.error_spanned_by(
                &entry.key,
                format!(
                    "unknown key `{}` in `capture(...)` of `{}`; expected `{expected}`, as in \
                     `{example}`",
                    entry.key,
                    kind.attr_name()
                ),
            );
        } else if input.is_some() {
            cx.error_spanned_by(
                &entry.key,
                format!("duplicate key `{expected}` in `capture(...)`; remove one"),
            );
        } else {
            input = Some(entry.value);
        }
    }
    if input.is_none() {
        // An unknown key was reported above; say what is missing only for `capture()`.
        if !written {
            cx.error_spanned_by(
                &group,
                format!("`capture(...)` needs `{expected} = expr`; or write `capture` alone"),
            );
        }
        return None;
    }
    Some(Capture {
        keyword: option.key,
        input,
    })
}

fn span_kind(cx: &Ctxt, option: &RawOption) -> Option<Ident> {
    if let RawValue::Expr(Expr::Path(p)) = &option.value {
        if let Some(ident) = p.path.get_ident() {
            let written = ident.to_string();
            if let Some((_, variant)) = keys::SPAN_KINDS.iter().find(|(k, _)| *k == written) {
                return Some(Ident::new(variant, ident.span()));
            }
        }
    }
    cx.error_spanned_by(
        value_tokens(option),
        "`kind` expects one of `internal`, `server`, `client`, `producer`, `consumer`",
    );
    None
}

fn workflow_kind(cx: &Ctxt, option: &RawOption) -> Option<LitStr> {
    if let RawValue::Expr(Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(s),
        ..
    })) = &option.value
    {
        if keys::WORKFLOW_KINDS.contains(&s.value().as_str()) {
            return Some(s.clone());
        }
    }
    cx.error_spanned_by(
        value_tokens(option),
        "`kind` expects one of \"sequential\", \"parallel\", \"loop\"",
    );
    None
}

fn crate_path(cx: &Ctxt, option: &RawOption) -> Option<Path> {
    match &option.value {
        RawValue::Expr(Expr::Path(p)) if p.qself.is_none() => return Some(p.path.clone()),
        RawValue::Expr(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        })) => {
            if let Ok(path) = s.parse::<Path>() {
                return Some(path);
            }
        }
        _ => {}
    }
    cx.error_spanned_by(
        value_tokens(option),
        "`crate` expects a path to the runtime: `crate = my_app::zdk_trace_runtime`",
    );
    None
}

fn keys_path(cx: &Ctxt, option: &RawOption) -> Option<Path> {
    if let RawValue::Expr(Expr::Path(p)) = &option.value {
        if p.qself.is_none() {
            return Some(p.path.clone());
        }
    }
    cx.error_spanned_by(
        value_tokens(option),
        "`keys` expects the path of a list declared with `usage_keys!`: `keys = crate::APP_USAGE_KEYS`",
    );
    None
}
