//! The function a macro is applied to: its attributes, visibility and signature (parsed), its
//! body (kept as raw tokens, so a body that does not parse still expands and rustc reports the
//! real error, as tracing's `MaybeItemFn` does), and its [`FnShape`].

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, ReturnType, Signature, Type, TypeParamBound, Visibility};

/// How the function produces its result; decides how the span wraps the body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FnShape {
    /// `fn f() -> T`: the span is entered for the call.
    Sync,
    /// `async fn f() -> T`: the body becomes an instrumented `async move` block.
    Async,
    /// `fn f() -> impl Future<Output = T>`: the returned future is instrumented.
    Future,
    /// `fn f() -> Pin<Box<dyn Future<Output = T> + Send + 'a>>` (what `#[async_trait]` and
    /// `BoxFuture` give): the returned future is instrumented and boxed again.
    BoxedFuture,
    /// `fn f() -> impl Stream<Item = T>`: the returned stream is instrumented; the span ends
    /// when the stream ends or is dropped.
    Stream,
    /// `fn f() -> Pin<Box<dyn Stream<Item = T> + Send + 'a>>` (`BoxStream`, `LocalBoxStream`,
    /// or any alias with the `stream` option): the returned stream is instrumented and boxed
    /// again.
    BoxedStream,
}

pub(crate) struct ItemFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The body, braces included.
    pub(crate) block: Group,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        if input.peek(syn::Token![;]) {
            return Err(input.error(
                "a function without a body has nothing to trace; put the attribute on the \
                 function in the `impl` block",
            ));
        }
        let block = match input.parse::<TokenTree>()? {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => g,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected a function body `{ ... }`",
                ))
            }
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function body"));
        }
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            block,
        })
    }
}

impl ItemFn {
    /// The shape, from the signature and the `stream` option: the option turns a plain `fn`
    /// into a boxed-stream one (an alias such as `BoxStream` hides the shape from syntax); on
    /// an `async fn` or a future it is an error reported by `check`, and the shape stays.
    pub(crate) fn shape_with(&self, stream_option: bool) -> FnShape {
        match self.shape() {
            FnShape::Sync if stream_option => FnShape::BoxedStream,
            shape => shape,
        }
    }

    /// The shape, from the signature alone: `async`, or a return type `impl Future<...>`.
    pub(crate) fn shape(&self) -> FnShape {
        if self.sig.asyncness.is_some() {
            return FnShape::Async;
        }
        if let ReturnType::Type(_, ty) = &self.sig.output {
            if let Type::ImplTrait(imp) = &**ty {
                let is_future = imp.bounds.iter().any(|b| match b {
                    TypeParamBound::Trait(t) => {
                        t.path.segments.last().is_some_and(|s| s.ident == "Future")
                    }
                    _ => false,
                });
                if is_future {
                    return FnShape::Future;
                }
                let is_stream = imp.bounds.iter().any(|b| match b {
                    TypeParamBound::Trait(t) => {
                        t.path.segments.last().is_some_and(|s| s.ident == "Stream")
                    }
                    _ => false,
                });
                if is_stream {
                    return FnShape::Stream;
                }
            }
            if is_boxed(ty, "Future", &["BoxFuture", "LocalBoxFuture"]) {
                return FnShape::BoxedFuture;
            }
            if is_boxed(ty, "Stream", &["BoxStream", "LocalBoxStream"]) {
                return FnShape::BoxedStream;
            }
        }
        FnShape::Sync
    }

    /// The body as an expression to splice where the block would be the value of another
    /// block or of a `let`: a body that is a single expression (`{ 7 }`) loses its braces
    /// (an invisible group keeps it one expression, with its span), since rustc's
    /// `unused_braces` lint would otherwise flag the user's braces in the expansion. A body
    /// with statements stays a block: its locals must drop where they did.
    pub(crate) fn body_expr(&self) -> TokenStream {
        block_as_expr(self.block.to_token_stream(), self.block.span())
    }

    /// The declared return type for `let __zdk_ret: #ty = ...`, with `impl Trait` erased to `_`
    /// (it is not allowed in a `let`), so type errors in the body still point at user code.
    pub(crate) fn return_type(&self) -> TokenStream {
        match &self.sig.output {
            ReturnType::Default => quote::quote!(()),
            ReturnType::Type(_, ty) => {
                let tokens = ty.to_token_stream();
                if contains_impl(tokens.clone()) {
                    quote::quote!(_)
                } else {
                    tokens
                }
            }
        }
    }
}

fn contains_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == "impl",
        TokenTree::Group(g) => contains_impl(g.stream()),
        _ => false,
    })
}

/// `Pin<Box<dyn Trait<...> + ...>>` or one of the well-known `aliases` (`BoxFuture<...>`,
/// `BoxStream<...>`), judged from the return type alone (the signature `#[async_trait]` writes,
/// not its body).
fn is_boxed(ty: &Type, trait_name: &str, aliases: &[&str]) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if aliases.iter().any(|alias| last.ident == alias) {
        return true;
    }
    if last.ident != "Pin" {
        return false;
    }
    let Some(Type::Path(inner)) = first_type_arg(&last.arguments) else {
        return false;
    };
    let Some(boxed) = inner.path.segments.last() else {
        return false;
    };
    if boxed.ident != "Box" {
        return false;
    }
    let Some(Type::TraitObject(object)) = first_type_arg(&boxed.arguments) else {
        return false;
    };
    object.bounds.iter().any(|b| match b {
        TypeParamBound::Trait(t) => t
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == trait_name),
        _ => false,
    })
}

fn first_type_arg(arguments: &syn::PathArguments) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// `block` (braces included) for [`ItemFn::body_expr`]: unbraced into an invisible group with
/// `span` when it is a single expression, else unchanged.
pub(crate) fn block_as_expr(block: TokenStream, span: proc_macro2::Span) -> TokenStream {
    let Ok(parsed) = syn::parse2::<syn::Block>(block.clone()) else {
        return block;
    };
    let expr = match parsed.stmts.as_slice() {
        [syn::Stmt::Expr(expr, None)] => expr.to_token_stream(),
        // `{ format!("..") }`: a macro call in statement position, without `;`.
        [syn::Stmt::Macro(mac)] if mac.semi_token.is_none() => mac.mac.to_token_stream(),
        _ => return block,
    };
    let mut group = Group::new(Delimiter::None, expr);
    group.set_span(span);
    group.into_token_stream()
}
