//! The values `fields(key = expr, ...)` accepts on a span macro, and how each becomes an
//! OpenTelemetry attribute value. The expansion calls [`field_value`] spanned at the user's
//! expression, so a type that is not accepted is reported there with this trait's message
//! instead of an unmet `Into<Value>` bound deep inside OpenTelemetry.
//!
//! The rules (the README's "What `fields(...)` accepts" lists them for users):
//! - integers of every width are recorded as `Int` (`i64`); a `u64`, `u128`, `usize`, `i128` or
//!   `isize` outside `i64`'s range is recorded as its decimal string (exact, never saturated);
//! - `f32` and `f64` as `Double`, `bool` as `Bool`;
//! - `char`, `str`, `String`, `Box<str>`, `Arc<str>` and `Cow<str>` as `String`;
//! - OpenTelemetry's own `Value`, `StringValue` and `Array` as they are;
//! - a reference, `Box` or `Cow` of an accepted type as that type; `Option` of one: `Some(v)` as
//!   `v`, `None` leaves the attribute out.
//!
//! The value is borrowed, never moved: `fields(name)` with `name: String` leaves `name` usable
//! in the body (the text is copied, and only when the span records).

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::{Array, StringValue, Value};

/// A Rust value that `fields(key = expr)` records as a span attribute.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a `fields(...)` value",
    label = "this field's value has type `{Self}`",
    note = "a `fields(...)` value may be an integer (`u8`..`u128`, `i8`..`i128`, `usize`, `isize`), `f32`, `f64`, `bool`, `char`, `&str`, `String`, `Cow<str>`, `Arc<str>`, `Box<str>`, a reference to one of those, or an `Option` of one (`None` records nothing)",
    note = "to record another type as text, write `key = %expr` (its `Display`) or `key = ?expr` (its `Debug`)"
)]
pub trait SpanFieldValue {
    /// The attribute value, or `None` to leave the attribute out.
    fn span_field_value(&self) -> Option<Value>;
}

/// The attribute value of a `fields(...)` expression (see [`SpanFieldValue`]).
#[inline]
pub fn field_value<T: SpanFieldValue + ?Sized>(value: &T) -> Option<Value> {
    value.span_field_value()
}

macro_rules! lossless_int {
    ($($t:ty),*) => {$(
        impl SpanFieldValue for $t {
            #[inline]
            fn span_field_value(&self) -> Option<Value> {
                Some(Value::I64(i64::from(*self)))
            }
        }
    )*};
}
lossless_int!(i8, i16, i32, i64, u8, u16, u32);

// Outside `i64`'s range the decimal string keeps the exact number (a saturated `i64::MAX`
// would be a plausible, wrong count); the attribute's type then differs, which a reader of
// such a value has to expect anyway.
macro_rules! wide_int {
    ($($t:ty),*) => {$(
        impl SpanFieldValue for $t {
            #[inline]
            fn span_field_value(&self) -> Option<Value> {
                Some(match i64::try_from(*self) {
                    Ok(n) => Value::I64(n),
                    Err(_) => Value::String(self.to_string().into()),
                })
            }
        }
    )*};
}
wide_int!(u64, u128, usize, i128, isize);

impl SpanFieldValue for f32 {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl SpanFieldValue for f64 {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl SpanFieldValue for bool {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

impl SpanFieldValue for char {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::String(self.to_string().into()))
    }
}

impl SpanFieldValue for str {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::String(self.to_owned().into()))
    }
}

impl SpanFieldValue for String {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        self.as_str().span_field_value()
    }
}

impl SpanFieldValue for Arc<str> {
    /// Shares the text: an `Arc<str>` is recorded without copying it.
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::String(StringValue::from(Arc::clone(self))))
    }
}

impl SpanFieldValue for Value {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(self.clone())
    }
}

impl SpanFieldValue for StringValue {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::String(self.clone()))
    }
}

impl SpanFieldValue for Array {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        Some(Value::Array(self.clone()))
    }
}

impl<T: SpanFieldValue + ?Sized> SpanFieldValue for &T {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        (**self).span_field_value()
    }
}

impl<T: SpanFieldValue + ?Sized> SpanFieldValue for &mut T {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        (**self).span_field_value()
    }
}

impl<T: SpanFieldValue + ?Sized> SpanFieldValue for Box<T> {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        (**self).span_field_value()
    }
}

impl<B: SpanFieldValue + ToOwned + ?Sized> SpanFieldValue for Cow<'_, B> {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        (**self).span_field_value()
    }
}

impl<T: SpanFieldValue> SpanFieldValue for Option<T> {
    #[inline]
    fn span_field_value(&self) -> Option<Value> {
        self.as_ref().and_then(SpanFieldValue::span_field_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Option<Value> {
        Some(Value::String(s.to_owned().into()))
    }

    #[test]
    fn integers_in_range_are_ints_and_beyond_are_exact_strings() {
        assert_eq!(field_value(&7_u8), Some(Value::I64(7)));
        assert_eq!(field_value(&-7_i8), Some(Value::I64(-7)));
        assert_eq!(field_value(&u32::MAX), Some(Value::I64(4_294_967_295)));
        assert_eq!(
            field_value(&9_223_372_036_854_775_807_u64),
            Some(Value::I64(i64::MAX))
        );
        assert_eq!(field_value(&u64::MAX), string("18446744073709551615"));
        assert_eq!(
            field_value(&u128::MAX),
            string("340282366920938463463374607431768211455")
        );
        assert_eq!(
            field_value(&i128::MIN),
            string("-170141183460469231731687303715884105728")
        );
        assert_eq!(field_value(&-3_i128), Some(Value::I64(-3)));
        assert!(field_value(&usize::MAX).is_some());
        assert_eq!(field_value(&-5_isize), Some(Value::I64(-5)));
    }

    #[test]
    fn floats_bools_chars_and_strings() {
        assert_eq!(field_value(&0.5_f32), Some(Value::F64(0.5)));
        assert_eq!(field_value(&true), Some(Value::Bool(true)));
        assert_eq!(field_value(&'é'), string("é"));
        assert_eq!(field_value("text"), string("text"));
        assert_eq!(field_value(&String::from("owned")), string("owned"));
        assert_eq!(field_value(&Cow::Borrowed("cow")), string("cow"));
        assert_eq!(field_value(&Box::<str>::from("boxed")), string("boxed"));
        assert_eq!(field_value(&Arc::<str>::from("shared")), string("shared"));
    }

    #[test]
    fn options_references_and_otel_values() {
        assert_eq!(field_value(&None::<u8>), None);
        assert_eq!(field_value(&Some(3_u16)), Some(Value::I64(3)));
        assert_eq!(field_value(&Some("x")), string("x"));
        assert_eq!(field_value(&&&5_i32), Some(Value::I64(5)));
        assert_eq!(field_value(&Value::Bool(false)), Some(Value::Bool(false)));
        let array = Array::I64(vec![1, 2]);
        assert_eq!(field_value(&array), Some(Value::Array(array.clone())));
    }
}
