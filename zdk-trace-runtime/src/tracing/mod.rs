//! The `tracing` bridge (feature `tracing`): the spans and events of every crate instrumented
//! with [`tracing`](https://docs.rs/tracing) join the application's zdk-trace traces.
//!
//! [`layer()`] is a [`tracing_subscriber::Layer`]: add it to the application's subscriber and
//! a `tracing` span becomes a zdk-trace span of the same trace — a child of the span current
//! where it was created (an `#[agent_span]`, another bridged span, or a remote parent), and
//! the parent of the spans started while it is entered, across `.await`, spawned tasks and
//! threads, as `tracing` itself enters it. Its fields become attributes; the field
//! conventions of `tracing-opentelemetry` are honoured (`otel.name` renames the span,
//! `otel.kind` sets its kind — `client`, `server`, `producer`, `consumer`, `internal` —
//! `otel.status_code` (`ok`/`error`) and `otel.status_description` set its status).
//!
//! A `tracing` event becomes an event of the span current on the thread (an explicit
//! `parent:` wins), named by its message, with `level`, `target` and its fields as attributes;
//! events below the layer's level (`info` by default, [`TracingLayer::with_event_level`]) are
//! ignored. An `error!` event sets the span's status to error with the event's message,
//! unless the span set a status itself.
//!
//! Privacy: a field whose name looks like personal data or a secret (the denylist the macros
//! apply at compile time: `email`, `password`, `token`, `api_key`, …) is not recorded; each
//! one dropped counts in [`Stats::private_fields_dropped`](crate::Stats::private_fields_dropped)
//! and the first is named in a warning.
//!
//! `[telemetry] logging = true` installs this layer as the global `tracing` subscriber (and
//! `log` records through it) when the application has not set one.
//!
//! # Examples
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let _telemetry = zdk_trace_runtime::Telemetry::builder().install();
//! let subscriber = tracing_subscriber::registry().with(zdk_trace_runtime::tracing::layer());
//! tracing_core::dispatcher::with_default(&tracing_core::Dispatch::new(subscriber), || {
//!     // `tracing` spans and events here are recorded by zdk-trace.
//! });
//! ```

mod entered;
pub(crate) mod logging;
mod visit;

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use smallvec::SmallVec;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, LevelFilter, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::context::{current_recorded_span_id, pop_frame};
use crate::hot::hot;
use crate::span::{side, Span};

use visit::{EventFields, SpanWriter};

/// The bridge: a [`Layer`] that records `tracing` spans and events as zdk-trace spans and
/// span events. Made by [`layer()`].
///
/// # Examples
///
/// ```
/// use tracing_core::LevelFilter;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(zdk_trace_runtime::tracing::layer().with_event_level(LevelFilter::DEBUG));
/// # drop(subscriber);
/// ```
#[derive(Debug, Clone)]
pub struct TracingLayer {
    event_level: LevelFilter,
}

/// The bridge with its defaults: events at `info` and above become span events.
///
/// # Examples
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(zdk_trace_runtime::tracing::layer());
/// # drop(subscriber);
/// ```
pub fn layer() -> TracingLayer {
    TracingLayer::default()
}

impl Default for TracingLayer {
    fn default() -> Self {
        TracingLayer {
            event_level: LevelFilter::INFO,
        }
    }
}

impl TracingLayer {
    /// Records events at `level` and above (more severe) as span events; `LevelFilter::OFF`
    /// records none. Spans are bridged whatever their level (filter them with the
    /// subscriber's own filters).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::tracing::layer()
    ///     .with_event_level(tracing_core::LevelFilter::WARN);
    /// # drop(layer);
    /// ```
    pub fn with_event_level(mut self, level: LevelFilter) -> Self {
        self.event_level = level;
        self
    }
}

/// The zdk-trace span of a `tracing` span, kept in the registry's extensions.
struct Bridged {
    span: Span,
    /// Its span id (what `on_exit` pops), 0 when it does not record.
    span_id: u64,
    /// A status was set (by `otel.status_code` or an `error!` event): later `error!` events
    /// do not change it.
    status_set: bool,
}

impl fmt::Debug for Bridged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridged")
            .field("span_id", &self.span_id)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !hot().enabled() {
            return;
        }
        let Some(registry_span) = ctx.span(id) else {
            return;
        };
        let name = attrs.metadata().name();
        let mut span = if attrs.is_root() {
            Span::builder(name).root().start()
        } else if let Some(parent) = attrs.parent() {
            // An explicit `parent:`; one the bridge did not record leaves the current span.
            let parent_cx = ctx
                .span(parent)
                .and_then(|p| p.extensions().get::<Bridged>().map(|b| b.span.context()));
            match parent_cx {
                Some(cx) => Span::builder(name).parent(&cx).start(),
                None => Span::start(name),
            }
        } else {
            // The contextual parent: the span current on this thread, which is the innermost
            // of the entered `tracing` spans (each is pushed on entry) and our own spans.
            Span::start(name)
        };
        let status_set = if span.is_recording() {
            let mut writer = SpanWriter::new(&mut span, true);
            attrs.record(&mut writer);
            writer.finish()
        } else {
            false
        };
        let span_id = span.span_id();
        let bridged = Bridged {
            span,
            span_id,
            status_set,
        };
        registry_span.extensions_mut().insert(bridged);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(registry_span) = ctx.span(id) else {
            return;
        };
        let mut extensions = registry_span.extensions_mut();
        let Some(bridged) = extensions.get_mut::<Bridged>() else {
            return;
        };
        if !bridged.span.is_recording() {
            return;
        }
        let mut writer = SpanWriter::new(&mut bridged.span, false);
        values.record(&mut writer);
        bridged.status_set |= writer.finish();
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(cause) = ctx
            .span(follows)
            .and_then(|s| s.extensions().get::<Bridged>()?.span.span_context())
        else {
            return;
        };
        if let Some(registry_span) = ctx.span(id) {
            if let Some(bridged) = registry_span.extensions_mut().get_mut::<Bridged>() {
                bridged.span.add_link(cause, Vec::new());
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(registry_span) = ctx.span(id) {
            if let Some(bridged) = registry_span.extensions().get::<Bridged>() {
                let span_id = bridged.span.push_frame();
                if span_id != 0 {
                    entered::push(id.into_u64(), span_id);
                }
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        // Entries and exits nest on a thread: the span entered last here is the one that
        // exits, found without the registry (which the lookup below does when they do not).
        if let Some(span_id) = entered::pop(id.into_u64()) {
            pop_frame(span_id);
            return;
        }
        if let Some(registry_span) = ctx.span(id) {
            if let Some(bridged) = registry_span.extensions().get::<Bridged>() {
                if bridged.span_id != 0 {
                    pop_frame(bridged.span_id);
                }
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(registry_span) = ctx.span(&id) {
            // Dropping it ends it.
            drop(registry_span.extensions_mut().remove::<Bridged>());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() > self.event_level || !hot().enabled() {
            return;
        }
        // The span the event belongs to: an explicit parent, else the span current on this
        // thread (a root event belongs to none).
        let explicit = if event.is_root() {
            return;
        } else {
            event.parent().and_then(|parent| ctx.span(parent))
        };
        let current = if explicit.is_some() {
            None
        } else {
            match current_recorded_span_id() {
                Some(span_id) => Some(span_id),
                None => return,
            }
        };
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let is_error = *metadata.level() == Level::ERROR;
        let name: Cow<'static, str> = match fields.message.take() {
            Some(message) => Cow::Owned(message),
            None => Cow::Borrowed(metadata.name()),
        };
        let mut attributes: SmallVec<[KeyValue; 6]> = SmallVec::new();
        attributes.push(KeyValue::new("level", metadata.level().as_str()));
        attributes.push(KeyValue::new("target", metadata.target().to_owned()));
        attributes.extend(fields.attributes);
        let error = is_error.then(|| name.clone());

        // The tracing span current on this thread, when it is the zdk span current here too,
        // is written directly; otherwise the current span is one of ours, held by its owner.
        let target = explicit.or_else(|| {
            let lookup = ctx.lookup_current()?;
            let ours = lookup
                .extensions()
                .get::<Bridged>()
                .is_some_and(|b| Some(b.span_id) == current);
            ours.then_some(lookup)
        });
        match target {
            Some(registry_span) => {
                let mut extensions = registry_span.extensions_mut();
                let Some(bridged) = extensions.get_mut::<Bridged>() else {
                    return;
                };
                bridged.span.add_event(name, attributes.into_vec());
                if let (Some(description), false) = (error, bridged.status_set) {
                    bridged.span.set_status(Status::Error { description });
                    bridged.status_set = true;
                }
            }
            None => {
                let Some(span_id) = current else {
                    return;
                };
                side::add_event(span_id, name, attributes.into_vec(), error);
            }
        }
    }
}
