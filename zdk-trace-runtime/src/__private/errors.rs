//! Recording an `Err` return value (the macros' `err` option): what return types it accepts,
//! and how the error's `error.type` is chosen (its [`ErrorType`](crate::ErrorType), else its
//! short type name).

use std::borrow::Cow;
use std::fmt::Display;

use crate::span::Span;

/// What `err` accepts: a `Result` whose error is `Display`.
#[diagnostic::on_unimplemented(
    message = "`err` needs the function to return `Result<T, E>` with `E: Display`, not `{Self}`",
    label = "this function's return type",
    note = "remove `err`, or return a `Result` whose error type implements `std::fmt::Display`"
)]
pub trait ErrResult {
    /// Records an `Err` on `span`, with `error.type` from `read_type` when it gives one, else
    /// the short type name of `E`.
    fn record_err<F>(&self, span: &mut Span, read_type: F)
    where
        F: FnOnce(&Self) -> Option<&'static str>;
}

impl<T, E: Display> ErrResult for Result<T, E> {
    #[inline]
    fn record_err<F>(&self, span: &mut Span, read_type: F)
    where
        F: FnOnce(&Self) -> Option<&'static str>,
    {
        if let Err(error) = self {
            let (metered, recording) = (span.is_metered(), span.is_recording());
            if metered || recording {
                let error_type = match read_type(self) {
                    Some(name) => Cow::Borrowed(name),
                    None => short_type_name::<E>(),
                };
                if metered {
                    span.meter_error(&error_type);
                }
                if recording {
                    span.record_error(error_type, &error.to_string());
                }
            }
        }
    }
}

/// Records `Err(e)` on `span` (for `err`): status error, `error.type` (from
/// [`ErrorType`](crate::ErrorType) when `read_type` gives it, else the short type name of `E`),
/// and an `exception` event with `e`'s `Display` (length-capped by [`Span::record_error`]).
///
/// `read_type` is a type parameter of its own, not a `ReadErrorType<R>`: with `R` in only one
/// argument's type, rustc points an unmet `ErrResult` bound at that argument, which the
/// expansion spans at the function's return type.
#[inline]
pub fn record_err<R, F>(span: &mut Span, result: &R, read_type: F)
where
    R: ErrResult + ?Sized,
    F: FnOnce(&R) -> Option<&'static str>,
{
    result.record_err(span, read_type);
}

/// Reads the `error.type` of a return value's error through [`ErrorType`](crate::ErrorType),
/// or `None` to fall back to the type name.
pub type ReadErrorType<R> = fn(&R) -> Option<&'static str>;

/// Chooses the [`ReadErrorType`] of a return value by autoref specialization (dtolnay's trick,
/// as in `anyhow!`): the expansion calls `(&ErrorTypeProbe(&ret)).__zdk_error_type()` with
/// both traits below in scope. For `Result<T, E>` with `E: ErrorType` known where the call is
/// written, method lookup stops at its first step, [`ViaErrorType`] (receiver
/// `&ErrorTypeProbe`); otherwise it takes the autoref step to [`ViaTypeName`] (receiver
/// `&&ErrorTypeProbe`). A stable and sound stand-in for specialization, decided at compile
/// time per call site: in a generic function it sees only the bounds written there.
///
/// The fallback has no bounds at all, so a return type that `err` does not accept fails only
/// at [`record_err`], with [`ErrResult`]'s message, once.
#[derive(Debug)]
pub struct ErrorTypeProbe<'a, R: ?Sized>(pub &'a R);

/// The [`ErrorType`](crate::ErrorType) step of [`ErrorTypeProbe`].
pub trait ViaErrorType {
    /// The return type.
    type Ret: ?Sized;

    /// Reads `error.type` from the error's `ErrorType`.
    fn __zdk_error_type(&self) -> ReadErrorType<Self::Ret>;
}

impl<T, E: crate::ErrorType> ViaErrorType for ErrorTypeProbe<'_, Result<T, E>> {
    type Ret = Result<T, E>;

    #[inline]
    fn __zdk_error_type(&self) -> ReadErrorType<Result<T, E>> {
        |ret| ret.as_ref().err().map(crate::ErrorType::error_type)
    }
}

/// The fallback step of [`ErrorTypeProbe`]: the type name.
pub trait ViaTypeName {
    /// The return type.
    type Ret: ?Sized;

    /// Gives no `error.type`, so the type name is used.
    fn __zdk_error_type(&self) -> ReadErrorType<Self::Ret>;
}

impl<R: ?Sized> ViaTypeName for &ErrorTypeProbe<'_, R> {
    type Ret = R;

    #[inline]
    fn __zdk_error_type(&self) -> ReadErrorType<R> {
        |_| None
    }
}

/// `E`'s type name without its module path and generic arguments: `my_app::ToolError<u8>`
/// becomes `ToolError`.
pub fn short_type_name<E: ?Sized>() -> Cow<'static, str> {
    Cow::Borrowed(short_name(core::any::type_name::<E>()))
}

fn short_name(full: &'static str) -> &'static str {
    let base = match full.find('<') {
        Some(at) => &full[..at],
        None => full,
    };
    match base.rfind("::") {
        Some(at) => &base[at + 2..],
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn short_names() {
        assert_eq!(short_name("my_app::errors::ToolError"), "ToolError");
        assert_eq!(
            short_name("my_app::Wrapped<alloc::string::String>"),
            "Wrapped"
        );
        assert_eq!(short_name("std::io::error::Error"), "Error");
        assert_eq!(short_name("Plain"), "Plain");
    }
}
