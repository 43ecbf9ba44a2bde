//! What `#[usage_event]` expansions use (re-exported by `__private`): the per-call guard that
//! measures the call and submits the event, the value conversion that keeps user content out,
//! and the wrappers for futures and streams.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use futures_core::Stream;
use pin_project::pin_project;

use super::{UsageEvent, UsageLabel, UsageValue};

/// Whether the usage layer runs; checked before anything else is built.
#[inline]
pub fn usage_enabled() -> bool {
    super::enabled()
}

/// One call of a `#[usage_event]` function. [`finish`](Self::finish) submits the event with
/// `success` as given; dropped unfinished (a panic, a future or stream dropped before its end),
/// it submits `success = false`.
#[derive(Debug)]
#[must_use = "the event is sent when the call finishes or this guard drops"]
pub struct UsageCall {
    inner: Option<Started>,
}

#[derive(Debug)]
struct Started {
    name: &'static str,
    started: Instant,
    attributes: Vec<(Cow<'static, str>, UsageValue)>,
}

impl UsageCall {
    /// A call that sends nothing (the usage layer is off).
    #[inline]
    pub fn off() -> UsageCall {
        UsageCall { inner: None }
    }

    /// Starts measuring a call; a field whose value is `None` is left out.
    pub fn start<const N: usize>(
        name: &'static str,
        fields: [(&'static str, Option<UsageValue>); N],
    ) -> UsageCall {
        let mut attributes = Vec::with_capacity(N + 2);
        for (key, value) in fields {
            if let Some(value) = value {
                attributes.push((Cow::Borrowed(key), value));
            }
        }
        UsageCall {
            inner: Some(Started {
                name,
                started: Instant::now(),
                attributes,
            }),
        }
    }

    /// The call completed: submits the event with `success`.
    #[inline]
    pub fn finish(mut self, success: bool) {
        if let Some(started) = self.inner.take() {
            started.submit(success);
        }
    }
}

impl Started {
    fn submit(mut self, success: bool) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.attributes
            .push((Cow::Borrowed("duration_ms"), UsageValue::F64(ms)));
        self.attributes
            .push((Cow::Borrowed("success"), UsageValue::Bool(success)));
        super::submit(UsageEvent {
            name: Cow::Borrowed(self.name),
            attributes: self.attributes,
            time: SystemTime::now(),
        });
    }
}

impl Drop for UsageCall {
    fn drop(&mut self) {
        if let Some(started) = self.inner.take() {
            started.submit(false);
        }
    }
}

/// A value that cannot carry user content, accepted as a `#[usage_event]` field value.
/// String literals are converted by the macro itself; no string type implements this.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[usage_event]` field value: it could carry user content",
    label = "this value could leak user content into anonymous usage telemetry",
    note = "usage field values may be `bool`, integers, floats, a string literal written in the attribute, a type implementing `zdk_trace_runtime::usage::UsageLabel`, or an `Option` of those",
    note = "to send a category of text, map it to an enum that implements `UsageLabel` (a fixed `&'static str` per variant)"
)]
pub trait UsageFieldValue {
    /// The value to send, `None` to leave the key out.
    fn usage_value(&self) -> Option<UsageValue>;
}

impl UsageFieldValue for bool {
    #[inline]
    fn usage_value(&self) -> Option<UsageValue> {
        Some(UsageValue::Bool(*self))
    }
}

macro_rules! lossless_int {
    ($($t:ty),*) => {$(
        impl UsageFieldValue for $t {
            #[inline]
            fn usage_value(&self) -> Option<UsageValue> {
                Some(UsageValue::I64(i64::from(*self)))
            }
        }
    )*};
}
lossless_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! saturating_int {
    ($($t:ty),*) => {$(
        impl UsageFieldValue for $t {
            #[inline]
            fn usage_value(&self) -> Option<UsageValue> {
                let n = i64::try_from(*self)
                    .unwrap_or(if *self > 0 { i64::MAX } else { i64::MIN });
                Some(UsageValue::I64(n))
            }
        }
    )*};
}
saturating_int!(i128, isize);

macro_rules! saturating_uint {
    ($($t:ty),*) => {$(
        impl UsageFieldValue for $t {
            #[inline]
            fn usage_value(&self) -> Option<UsageValue> {
                Some(UsageValue::I64(i64::try_from(*self).unwrap_or(i64::MAX)))
            }
        }
    )*};
}
saturating_uint!(u64, u128, usize);

impl UsageFieldValue for f32 {
    #[inline]
    fn usage_value(&self) -> Option<UsageValue> {
        Some(UsageValue::F64(f64::from(*self)))
    }
}

impl UsageFieldValue for f64 {
    #[inline]
    fn usage_value(&self) -> Option<UsageValue> {
        Some(UsageValue::F64(*self))
    }
}

impl<T: UsageLabel> UsageFieldValue for T {
    #[inline]
    fn usage_value(&self) -> Option<UsageValue> {
        Some(UsageValue::Str(self.label()))
    }
}

impl<T: UsageFieldValue> UsageFieldValue for Option<T> {
    #[inline]
    fn usage_value(&self) -> Option<UsageValue> {
        self.as_ref().and_then(UsageFieldValue::usage_value)
    }
}

/// A field value given as an expression (checked by [`UsageFieldValue`]).
#[inline]
pub fn usage_value<T: UsageFieldValue + ?Sized>(value: &T) -> Option<UsageValue> {
    value.usage_value()
}

/// A field value given as a string literal in the attribute.
#[inline]
pub fn usage_str(value: &'static str) -> Option<UsageValue> {
    Some(UsageValue::Str(value))
}

/// A function's return value, to tell success from failure by autoref specialization: the
/// expansion calls `(&UsageOutcome(&ret)).usage_success()`, which picks [`UsageIsResult`] when
/// the value is a `Result` (success = `is_ok()`) and [`UsageIsOther`] otherwise (success).
#[derive(Debug)]
pub struct UsageOutcome<'a, T: ?Sized>(pub &'a T);

/// `Result`: success is `Ok`.
pub trait UsageIsResult {
    /// Whether the call succeeded.
    fn usage_success(&self) -> bool;
}

impl<T, E> UsageIsResult for UsageOutcome<'_, Result<T, E>> {
    #[inline]
    fn usage_success(&self) -> bool {
        self.0.is_ok()
    }
}

/// Anything else: returning is success.
pub trait UsageIsOther {
    /// Whether the call succeeded.
    fn usage_success(&self) -> bool;
}

impl<T: ?Sized> UsageIsOther for &UsageOutcome<'_, T> {
    #[inline]
    fn usage_success(&self) -> bool {
        true
    }
}

/// A future whose completion finishes a [`UsageCall`], with `success` from `outcome` applied to
/// the output; dropped before completion, the call reports `success = false`.
#[pin_project]
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct UsageFuture<F, H> {
    #[pin]
    inner: F,
    call: Option<UsageCall>,
    outcome: Option<H>,
}

/// Wraps the future a `#[usage_event]` function returns.
#[inline]
pub fn usage_future<F, H>(future: F, call: UsageCall, outcome: H) -> UsageFuture<F, H>
where
    F: Future,
    H: FnOnce(&F::Output) -> bool,
{
    UsageFuture {
        inner: future,
        call: Some(call),
        outcome: Some(outcome),
    }
}

impl<F, H> Future for UsageFuture<F, H>
where
    F: Future,
    H: FnOnce(&F::Output) -> bool,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = match this.inner.poll(cx) {
            Poll::Ready(output) => output,
            Poll::Pending => return Poll::Pending,
        };
        if let (Some(call), Some(outcome)) = (this.call.take(), this.outcome.take()) {
            call.finish(outcome(&output));
        }
        Poll::Ready(output)
    }
}

/// A stream whose end finishes a [`UsageCall`] with `success = true`; dropped before its end,
/// the call reports `success = false`.
#[pin_project]
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct UsageStream<S> {
    #[pin]
    inner: S,
    call: Option<UsageCall>,
}

/// Wraps the stream a `#[usage_event]` function returns.
#[inline]
pub fn usage_stream<S: Stream>(stream: S, call: UsageCall) -> UsageStream<S> {
    UsageStream {
        inner: stream,
        call: Some(call),
    }
}

impl<S: Stream> Stream for UsageStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let next = this.inner.poll_next(cx);
        if let Poll::Ready(None) = next {
            if let Some(call) = this.call.take() {
                call.finish(true);
            }
        }
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::{usage_value, UsageIsOther, UsageIsResult, UsageOutcome};
    use crate::usage::{UsageLabel, UsageValue};

    struct Kind;

    impl UsageLabel for Kind {
        fn label(&self) -> &'static str {
            "react"
        }
    }

    #[test]
    fn values_convert() {
        assert_eq!(usage_value(&true), Some(UsageValue::Bool(true)));
        assert_eq!(usage_value(&u64::MAX), Some(UsageValue::I64(i64::MAX)));
        assert_eq!(usage_value(&-3_i128), Some(UsageValue::I64(-3)));
        assert_eq!(usage_value(&1.5_f32), Some(UsageValue::F64(1.5)));
        assert_eq!(usage_value(&Kind), Some(UsageValue::Str("react")));
        assert_eq!(usage_value(&None::<Kind>), None);
        assert_eq!(usage_value(&Some(2_u8)), Some(UsageValue::I64(2)));
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the borrow is what selects the impl, as in expansions
    fn outcome_reads_results_by_autoref() {
        let ok: Result<u8, ()> = Ok(1);
        let err: Result<u8, ()> = Err(());
        assert!((&UsageOutcome(&ok)).usage_success());
        assert!(!(&UsageOutcome(&err)).usage_success());
        assert!((&UsageOutcome(&3_u8)).usage_success());
    }
}
