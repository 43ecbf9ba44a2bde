//! Recording a panic that unwinds out of an instrumented body.

use std::any::Any;

use crate::span::Span;

/// Records a panic on `span`: status error, `error.type = "panic"`, the panic message.
pub(crate) fn record_panic(span: &mut Span, payload: &(dyn Any + Send)) {
    let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "panicked"
    };
    span.record_error("panic", message);
    span.meter_error("panic");
}
