//! The request parameters of `#[llm_call]` (`temperature = ..`, `max_tokens = ..`,
//! `stop_sequences = ..`): which Rust types each accepts, and how a value becomes the typed
//! `gen_ai.request.*` attribute. Reached by the expansions through `__private`.

/// What the float request parameters of `#[llm_call]` accept.
#[diagnostic::on_unimplemented(
    message = "`#[llm_call]` records this request parameter as a number (`f64`), but `{Self}` is not a number",
    label = "expected an `f64`, `f32` or integer",
    note = "`temperature`, `top_p`, `top_k`, `frequency_penalty` and `presence_penalty` take a number, or an `Option` of one (`None` records nothing)"
)]
pub trait RequestFloat {
    /// The value to record, if any.
    fn request_f64(&self) -> Option<f64>;
}

/// What the integer request parameters of `#[llm_call]` accept.
#[diagnostic::on_unimplemented(
    message = "`#[llm_call]` records this request parameter as an integer (`i64`), but `{Self}` is not an integer",
    label = "expected an integer",
    note = "`max_tokens`, `seed` and `choice_count` take any integer type, or an `Option` of one (`None` records nothing)"
)]
pub trait RequestInt {
    /// The value to record (saturated to `i64`), if any.
    fn request_i64(&self) -> Option<i64>;
}

/// What `stop_sequences` of `#[llm_call]` accepts.
#[diagnostic::on_unimplemented(
    message = "`stop_sequences` records a list of strings, but `{Self}` is not one",
    label = "expected a slice, array or `Vec` of strings",
    note = "pass a `&[&str]`, `[&str; N]`, `Vec<String>` (or an `Option` of one)"
)]
pub trait StopSequences {
    /// The sequences, if any.
    fn stop_sequences(&self) -> Option<Vec<opentelemetry::StringValue>>;
}

macro_rules! request_float {
    ($($t:ty),*) => {$(
        impl RequestFloat for $t {
            #[inline]
            #[allow(clippy::cast_lossless, clippy::cast_precision_loss)] // a request parameter
            fn request_f64(&self) -> Option<f64> {
                Some(*self as f64)
            }
        }
    )*};
}
request_float!(f32, f64, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! request_int {
    ($($t:ty),*) => {$(
        impl RequestInt for $t {
            #[inline]
            fn request_i64(&self) -> Option<i64> {
                Some(i64::try_from(*self).unwrap_or(if *self > 0 { i64::MAX } else { i64::MIN }))
            }
        }
    )*};
}
request_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

impl<T: RequestFloat + ?Sized> RequestFloat for &T {
    fn request_f64(&self) -> Option<f64> {
        (**self).request_f64()
    }
}

impl<T: RequestFloat> RequestFloat for Option<T> {
    fn request_f64(&self) -> Option<f64> {
        self.as_ref().and_then(RequestFloat::request_f64)
    }
}

impl<T: RequestInt + ?Sized> RequestInt for &T {
    fn request_i64(&self) -> Option<i64> {
        (**self).request_i64()
    }
}

impl<T: RequestInt> RequestInt for Option<T> {
    fn request_i64(&self) -> Option<i64> {
        self.as_ref().and_then(RequestInt::request_i64)
    }
}

impl<S: AsRef<str>> StopSequences for [S] {
    fn stop_sequences(&self) -> Option<Vec<opentelemetry::StringValue>> {
        Some(self.iter().map(|s| s.as_ref().to_owned().into()).collect())
    }
}

impl<S: AsRef<str>, const N: usize> StopSequences for [S; N] {
    fn stop_sequences(&self) -> Option<Vec<opentelemetry::StringValue>> {
        self[..].stop_sequences()
    }
}

impl<S: AsRef<str>> StopSequences for Vec<S> {
    fn stop_sequences(&self) -> Option<Vec<opentelemetry::StringValue>> {
        self[..].stop_sequences()
    }
}

impl<T: StopSequences + ?Sized> StopSequences for &T {
    fn stop_sequences(&self) -> Option<Vec<opentelemetry::StringValue>> {
        (**self).stop_sequences()
    }
}

impl<T: StopSequences> StopSequences for Option<T> {
    fn stop_sequences(&self) -> Option<Vec<opentelemetry::StringValue>> {
        self.as_ref().and_then(StopSequences::stop_sequences)
    }
}

/// A float request parameter as an `f64`.
#[inline]
pub fn request_f64<T: RequestFloat + ?Sized>(value: &T) -> Option<f64> {
    value.request_f64()
}

/// An integer request parameter as an `i64`.
#[inline]
pub fn request_i64<T: RequestInt + ?Sized>(value: &T) -> Option<i64> {
    value.request_i64()
}

/// `stop_sequences` as a string array attribute value.
#[inline]
pub fn stop_sequences<T: StopSequences + ?Sized>(value: &T) -> Option<opentelemetry::Value> {
    value
        .stop_sequences()
        .map(|list| opentelemetry::Value::Array(opentelemetry::Array::String(list)))
}
