//! OTLP protobuf straight from the span records: the `ExportTraceServiceRequest` the built-in
//! exporters send, written by the collector into one reused buffer per batch, with no
//! `SpanData` and no protobuf structs in between (each of those allocates per span and per
//! attribute, and was most of a span's cost off the application thread).
//!
//! The output is canonical protobuf, byte for byte what prost produces for the request
//! `opentelemetry-proto` builds from the same spans (the tests compare the two): fields in the
//! order prost writes them, minimal varints, default scalars left out, set `oneof`s and
//! present messages always written.
//!
//! Layout of a batch buffer: `[headroom][span][span]…[scope schema][resource schema]`. A span
//! is written in one pass, in place at the end of the batch: its body first, a few bytes in,
//! then its tag and length in front of it (the body moved by a byte when its length does not
//! take the two bytes left for it); the request's size limit is checked before the span is
//! committed. The in-place writer checks its room once per section of the span (the fixed
//! fields, each attribute, the last fields) against the most the section can write, not at
//! each write. A span with events or links, or one past the room kept for a span, is rare
//! enough to take the general writer: encoded into a scratch buffer, then copied behind its
//! tag and length. The envelope around the
//! spans (request → resource spans → resource, scope spans → scope) needs the spans' total
//! length, so [`TraceEncoder::finish`] writes it right-aligned into the headroom
//! [`TraceEncoder::begin`] reserved: the request is `buf[start..]`, and the spans are never
//! moved.
//!
//! Varints and fixed-width fields are written by hand into the `Vec` (`prost::encoding` works
//! on `BufMut` one call per field, slower here, and it checks nothing we need).

use bytes::Bytes;
use opentelemetry::trace::{Event, Link, SpanKind};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;

use super::buffers::RequestBuffers;
use crate::clock;
use crate::record::{RawSpan, FLAG_ERROR, FLAG_PARENT_REMOTE, FLAG_STATUS_OK};

/// One batch being encoded: the request's bytes from `start`, once finished.
#[derive(Debug)]
pub(crate) struct OtlpBatch {
    buf: Vec<u8>,
    start: usize,
    spans: usize,
}

impl OtlpBatch {
    /// Spans in the batch.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.spans
    }

    /// Bytes written so far (headroom included).
    pub(crate) fn buf_len(&self) -> usize {
        self.buf.len()
    }

    /// The finished request, without a copy (call [`TraceEncoder::finish`] first).
    pub(crate) fn into_bytes(self) -> Bytes {
        Bytes::from(self.buf).slice(self.start..)
    }

    /// The finished request, without a copy, its buffer returning to `buffers` once sent
    /// (call [`TraceEncoder::finish`] first).
    pub(crate) fn share(self, buffers: &RequestBuffers) -> Bytes {
        buffers.share(self.buf, self.start)
    }

    /// The finished request (call [`TraceEncoder::finish`] first).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Encodes batches of span records as OTLP requests for one resource and scope.
#[derive(Debug)]
pub(crate) struct TraceEncoder {
    /// `ResourceSpans.resource` (field 1), tag and length included.
    resource: Vec<u8>,
    /// `ResourceSpans.schema_url` (field 3), written after the scope spans; empty if none.
    resource_schema: Vec<u8>,
    /// `ScopeSpans.scope` (field 1), tag and length included.
    scope: Vec<u8>,
    /// `ScopeSpans.schema_url` (field 3), written after the spans; empty if none.
    scope_schema: Vec<u8>,
    /// Room reserved before the spans for the envelope.
    headroom: usize,
    /// One span's body, before its length is known.
    scratch: Vec<u8>,
}

// Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited,
// 5 fixed32).
const LEN: u8 = 2;
const fn tag(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

/// The most bytes a varint of a 64-bit length takes.
const MAX_VARINT: usize = 10;

/// Where a span's body is written in place: after its tag and a two-byte length (a body of
/// 128 to 16 383 bytes).
const BODY_AT: usize = 3;

/// Room reserved at the end of a batch for a span written in place; a span that does not fit
/// takes the general writer.
const IN_PLACE_ROOM: usize = 1024;

/// A length-delimited field's tag and length, the length at its largest.
const FIELD: usize = 1 + MAX_VARINT;

impl TraceEncoder {
    pub(crate) fn new(resource: &Resource, scope: &InstrumentationScope) -> TraceEncoder {
        // Resource { attributes = 1, dropped_attributes_count = 2, entity_refs = 3 }, in the
        // order `opentelemetry-proto` reads them (the resource's own iteration order).
        let mut body = Vec::new();
        for (key, value) in resource.iter() {
            let mut kv = Vec::new();
            put_key_value(&mut kv, key.as_str(), value);
            put_bytes_field(&mut body, tag(1, LEN), &kv);
        }
        let mut resource_field = Vec::new();
        put_bytes_field(&mut resource_field, tag(1, LEN), &body);
        let mut resource_schema = Vec::new();
        if let Some(url) = resource.schema_url().filter(|u| !u.is_empty()) {
            put_bytes_field(&mut resource_schema, tag(3, LEN), url.as_bytes());
        }
        // InstrumentationScope { name = 1, version = 2, attributes = 3, dropped = 4 }.
        let mut body = Vec::new();
        put_str_field(&mut body, tag(1, LEN), scope.name());
        put_str_field(&mut body, tag(2, LEN), scope.version().unwrap_or_default());
        for attribute in scope.attributes() {
            let mut kv = Vec::new();
            put_key_value(&mut kv, attribute.key.as_str(), &attribute.value);
            put_bytes_field(&mut body, tag(3, LEN), &kv);
        }
        let mut scope_field = Vec::new();
        put_bytes_field(&mut scope_field, tag(1, LEN), &body);
        let mut scope_schema = Vec::new();
        if let Some(url) = scope.schema_url().filter(|u| !u.is_empty()) {
            put_bytes_field(&mut scope_schema, tag(3, LEN), url.as_bytes());
        }
        // request.resource_spans tag+len, resource, scope_spans tag+len, scope, spans tag+len
        // is per span; two tags and two lengths around the spans.
        let headroom = resource_field.len() + scope_field.len() + 2 * (1 + MAX_VARINT);
        TraceEncoder {
            resource: resource_field,
            resource_schema,
            scope: scope_field,
            scope_schema,
            headroom,
            scratch: Vec::with_capacity(256),
        }
    }

    /// Starts a batch in `buf` (emptied; its capacity is kept).
    pub(crate) fn begin(&self, mut buf: Vec<u8>) -> OtlpBatch {
        buf.clear();
        buf.resize(self.headroom, 0);
        OtlpBatch {
            buf,
            start: self.headroom,
            spans: 0,
        }
    }

    /// Appends one span, read where it lies, whatever the request's size.
    pub(crate) fn push(&mut self, batch: &mut OtlpBatch, span: &RawSpan) {
        let _ = self.try_append(batch, span, usize::MAX);
    }

    /// Appends `span`, read where it lies, if the request stays within `limit` bytes (its
    /// envelope's lengths counted at their largest); else appends nothing (`Err`).
    ///
    /// The span is written in one pass, in place at the end of the batch: its body first,
    /// [`BODY_AT`] bytes in (room for its tag and a two-byte length, the length of nearly
    /// every span), then its tag and length in front of it, the body moved by a byte when
    /// its length takes one byte or three. The writer checks its room once per section of
    /// the span (the fixed fields, each attribute, the last fields), not per write. A span
    /// with events or links, or one larger than the room reserved for it, takes the general
    /// writer: encoded into the scratch buffer, then copied.
    pub(crate) fn try_append(
        &mut self,
        batch: &mut OtlpBatch,
        span: &RawSpan,
        limit: usize,
    ) -> Result<(), ()> {
        let envelope_tail = self.scope_schema.len() + self.resource_schema.len();
        let at = batch.buf.len();
        // Written into the buffer's spare capacity: zeroing it first would cost as much as
        // writing it.
        batch.buf.reserve(IN_PLACE_ROOM);
        let spare = batch.buf.spare_capacity_mut();
        if spare.len() >= IN_PLACE_ROOM {
            let room = spare.as_mut_ptr().cast::<u8>();
            // SAFETY: `spare` holds at least `IN_PLACE_ROOM` bytes from `room`.
            let mut out = unsafe { Out::new(room, IN_PLACE_ROOM) };
            out.skip(BODY_AT);
            if write_span_body(&mut out, span).is_some() {
                let body = out.written() - BODY_AT;
                if (0x80..0x4000).contains(&body) {
                    // A two-byte length, as room was left for: nothing moves.
                    if at + BODY_AT + body + envelope_tail > limit {
                        return Err(());
                    }
                    // ScopeSpans.spans = 2.
                    let head = [tag(2, LEN), (body as u8) | 0x80, (body >> 7) as u8];
                    // SAFETY: `BODY_AT` (3) bytes at the start of the room, which the body's
                    // writer skipped; the body's `body` bytes follow, written (`Out` counts
                    // what it wrote and never passes its room): `BODY_AT + body` bytes from
                    // `at`, all initialized and within the capacity.
                    unsafe {
                        room.cast::<[u8; BODY_AT]>().write_unaligned(head);
                        batch.buf.set_len(at + BODY_AT + body);
                    }
                    batch.spans += 1;
                    return Ok(());
                }
                // SAFETY: `Out` wrote the body's `body` bytes from `BODY_AT` in the spare
                // capacity (it counts what it wrote and never passes its room).
                let moved = unsafe { move_body(batch, body, limit.saturating_sub(envelope_tail)) };
                return match moved {
                    Moved::Done => Ok(()),
                    Moved::OverLimit => Err(()),
                    Moved::NoRoom => self.append_general(batch, span, limit),
                };
            }
        }
        self.append_general(batch, span, limit)
    }

    /// [`try_append`](Self::try_append) through the general writer: the span encoded into
    /// the scratch buffer, then copied behind its tag and length.
    #[cold]
    #[inline(never)]
    fn append_general(
        &mut self,
        batch: &mut OtlpBatch,
        span: &RawSpan,
        limit: usize,
    ) -> Result<(), ()> {
        let envelope_tail = self.scope_schema.len() + self.resource_schema.len();
        let at = batch.buf.len();
        self.scratch.clear();
        put_span(&mut self.scratch, span);
        if at + field_len(self.scratch.len()) + envelope_tail > limit {
            return Err(());
        }
        // ScopeSpans.spans = 2.
        put_bytes_field(&mut batch.buf, tag(2, LEN), &self.scratch);
        batch.spans += 1;
        Ok(())
    }

    /// Writes the envelope around the spans; the batch then holds a whole request.
    pub(crate) fn finish(&self, batch: &mut OtlpBatch) {
        // ScopeSpans { scope = 1, spans = 2, schema_url = 3 }.
        batch.buf.extend_from_slice(&self.scope_schema);
        let scope_spans_len = self.scope.len() + (batch.buf.len() - self.headroom);
        // ResourceSpans { resource = 1, scope_spans = 2, schema_url = 3 }.
        batch.buf.extend_from_slice(&self.resource_schema);
        let resource_spans_len = self.resource.len()
            + 1
            + varint_len(scope_spans_len as u64)
            + scope_spans_len
            + self.resource_schema.len();
        // The envelope, built small and copied right before the spans.
        let mut head = Vec::with_capacity(self.headroom);
        head.push(tag(1, LEN)); // ExportTraceServiceRequest.resource_spans
        put_varint(&mut head, resource_spans_len as u64);
        head.extend_from_slice(&self.resource);
        head.push(tag(2, LEN)); // ResourceSpans.scope_spans
        put_varint(&mut head, scope_spans_len as u64);
        head.extend_from_slice(&self.scope);
        let start = self.headroom - head.len();
        batch.buf[start..self.headroom].copy_from_slice(&head);
        batch.start = start;
    }
}

/// What [`move_body`] did.
enum Moved {
    /// The span is in the batch.
    Done,
    /// The request would pass its limit: nothing appended.
    OverLimit,
    /// No room to move the body: nothing appended (the general writer takes the span).
    NoRoom,
}

/// [`TraceEncoder::try_append`] for a span whose body (`body` bytes, written in place
/// [`BODY_AT`] bytes into the batch's spare capacity) has a length of one byte or three: the
/// body moved to sit right after its tag and length. Apart and cold, so that the common case
/// (a two-byte length, nothing moved) keeps no stack arrays of its own.
///
/// # Safety
///
/// `body` bytes from [`BODY_AT`] in the batch's spare capacity are initialized.
#[cold]
#[inline(never)]
unsafe fn move_body(batch: &mut OtlpBatch, body: usize, limit: usize) -> Moved {
    let at = batch.buf.len();
    let mut varint = [0u8; MAX_VARINT];
    let width = write_varint(&mut varint, body as u64);
    let mut head = [0u8; 1 + MAX_VARINT];
    head[0] = tag(2, LEN);
    head[1..1 + width].copy_from_slice(&varint[..width]);
    let field = 1 + width + body;
    let spare = batch.buf.spare_capacity_mut();
    if field > spare.len() {
        return Moved::NoRoom;
    }
    if at + field > limit {
        return Moved::OverLimit;
    }
    spare.copy_within(BODY_AT..BODY_AT + body, 1 + width);
    for (slot, byte) in spare.iter_mut().zip(&head[..1 + width]) {
        slot.write(*byte);
    }
    // SAFETY: the body was written from `BODY_AT` (the caller's contract), then moved to `1 + width..field`, and the head filled `..1 + width`:
    // `field` bytes from `at`, all initialized and within the capacity (checked above).
    unsafe { batch.buf.set_len(at + field) };
    batch.spans += 1;
    Moved::Done
}

/// `Span`, in the field order prost writes it (field-number order).
fn put_span(out: &mut Vec<u8>, span: &RawSpan) {
    // trace_id = 1, span_id = 2
    out.push(tag(1, LEN));
    out.push(16);
    out.extend_from_slice(&span.trace_id.to_be_bytes());
    out.push(tag(2, LEN));
    out.push(8);
    out.extend_from_slice(&span.span_id.to_be_bytes());
    // trace_state = 3
    if let Some(state) = span.trace_state().filter(|s| !s.is_empty()) {
        put_bytes_field(out, tag(3, LEN), state.as_bytes());
    }
    // parent_span_id = 4
    if span.parent_id != 0 {
        out.push(tag(4, LEN));
        out.push(8);
        out.extend_from_slice(&span.parent_id.to_be_bytes());
    }
    // name = 5
    put_str_field(out, tag(5, LEN), &span.name);
    // kind = 6
    out.push(tag(6, 0));
    out.push(kind(&span.kind));
    // start_time_unix_nano = 7, end_time_unix_nano = 8 (fixed64)
    let start = clock::to_unix_nanos(span.start);
    let end = clock::to_unix_nanos(span.end.max(span.start));
    put_fixed64_field(out, tag(7, 1), start);
    put_fixed64_field(out, tag(8, 1), end);
    // attributes = 9, dropped_attributes_count = 10
    for attribute in &span.attributes {
        put_attribute(out, tag(9, LEN), attribute);
    }
    if span.dropped != 0 {
        out.push(tag(10, 0));
        put_varint(out, u64::from(span.dropped));
    }
    // events = 11, dropped_events_count = 12, links = 13, dropped_links_count = 14
    let mut description = "";
    if let Some(extras) = &span.extras {
        for event in &extras.events {
            put_nested(out, tag(11, LEN), |out| put_event(out, event));
        }
        if extras.dropped_events != 0 {
            out.push(tag(12, 0));
            put_varint(out, u64::from(extras.dropped_events));
        }
        for link in &extras.links {
            put_nested(out, tag(13, LEN), |out| put_link(out, link));
        }
        if extras.dropped_links != 0 {
            out.push(tag(14, 0));
            put_varint(out, u64::from(extras.dropped_links));
        }
        if let Some(text) = &extras.error_description {
            description = text;
        }
    }
    // status = 15: Status { message = 2, code = 3 }, always present.
    out.push(tag(15, LEN));
    if span.flags & FLAG_ERROR != 0 {
        let len = 1 + varint_len(description.len() as u64) + description.len() + 2;
        if description.is_empty() {
            out.extend_from_slice(&[2, tag(3, 0), 2]);
        } else {
            put_varint(out, len as u64);
            put_str_field(out, tag(2, LEN), description);
            out.extend_from_slice(&[tag(3, 0), 2]);
        }
    } else if span.flags & FLAG_STATUS_OK != 0 {
        out.extend_from_slice(&[2, tag(3, 0), 1]);
    } else {
        out.push(0);
    }
    // flags = 16 (fixed32), last: prost writes fields in field-number order. Sampled, and
    // whether the parent is remote is known (0x100) and its value (0x200).
    let remote = if span.flags & FLAG_PARENT_REMOTE != 0 {
        0x200
    } else {
        0
    };
    let flags: u32 = 0x01 | 0x100 | remote;
    out.extend_from_slice(&[0x85, 0x01]); // field 16, wire type 5
    out.extend_from_slice(&flags.to_le_bytes());
}

/// The in-place writer: a cursor into a room of known size. It writes in sections, each
/// opened by [`Out::room`] with the most bytes the section can write: the one check of the
/// section, after which no write is checked (debug builds assert that each one stays within
/// what its section claimed, so the tests check every section's bound).
struct Out {
    at: *mut u8,
    start: *mut u8,
    end: *mut u8,
    /// The end of what the open section claimed.
    #[cfg(debug_assertions)]
    claimed: *mut u8,
}

impl Out {
    /// A writer over `len` bytes from `room`.
    ///
    /// # Safety
    ///
    /// `room` is valid for writes of `len` bytes.
    #[inline(always)]
    unsafe fn new(room: *mut u8, len: usize) -> Out {
        Out {
            at: room,
            start: room,
            // SAFETY: one past the end of the room (the caller's contract).
            end: unsafe { room.add(len) },
            #[cfg(debug_assertions)]
            claimed: room,
        }
    }

    /// Opens a section of at most `n` bytes: `None` (and nothing may be written) when the
    /// room has less left.
    #[inline(always)]
    fn room(&mut self, n: usize) -> Option<()> {
        if self.end as usize - self.at as usize >= n {
            #[cfg(debug_assertions)]
            {
                self.claimed = self.at.wrapping_add(n);
            }
            Some(())
        } else {
            None
        }
    }

    /// Moves past `n` bytes without writing them (the caller writes them later).
    #[inline(always)]
    fn skip(&mut self, n: usize) {
        if self.room(n).is_some() {
            self.at = self.at.wrapping_add(n);
        }
    }

    /// Bytes from the start of the room to the cursor.
    #[inline(always)]
    fn written(&self) -> usize {
        self.at as usize - self.start as usize
    }

    /// Debug builds: `n` more bytes stay within what the open section claimed.
    #[inline(always)]
    fn check(&self, n: usize) {
        #[cfg(debug_assertions)]
        assert!(
            self.at as usize + n <= self.claimed as usize,
            "in-place span writer past the bound of its section"
        );
        let _ = n;
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.array([b]);
    }

    /// `N` bytes in one unaligned store.
    #[inline(always)]
    fn array<const N: usize>(&mut self, bytes: [u8; N]) {
        self.check(N);
        // SAFETY: within the room: every write is in a section that `Out::room` found room
        // for, and `Out::new`'s room is writable (an unaligned write of `N` bytes).
        unsafe {
            self.at.cast::<[u8; N]>().write_unaligned(bytes);
            self.at = self.at.add(N);
        }
    }

    /// Keys, names and short values are a few bytes to a few dozen: copied with two
    /// overlapping 4-, 8- or 16-byte moves rather than a call to `memcpy` (whose call and size
    /// dispatch cost more than the copy at these sizes).
    #[inline(always)]
    fn bytes(&mut self, src: &[u8]) {
        let n = src.len();
        self.check(n);
        let s = src.as_ptr();
        let d = self.at;
        // SAFETY: `src` is readable for `n` bytes and the room writable for `n` more (see
        // `Out::array`); each branch reads and writes within `0..n` only, and the two regions
        // cannot overlap (one is borrowed, the other is spare capacity).
        unsafe {
            if n > 32 {
                std::ptr::copy_nonoverlapping(s, d, n);
            } else if n >= 16 {
                move_n::<16>(s, d, 0);
                move_n::<16>(s, d, n - 16);
            } else if n >= 8 {
                move_n::<8>(s, d, 0);
                move_n::<8>(s, d, n - 8);
            } else if n >= 4 {
                move_n::<4>(s, d, 0);
                move_n::<4>(s, d, n - 4);
            } else {
                for i in 0..n {
                    d.add(i).write(s.add(i).read());
                }
            }
            self.at = d.add(n);
        }
    }

    #[inline(always)]
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.byte((value as u8) | 0x80);
            value >>= 7;
        }
        self.byte(value as u8);
    }

    /// A length-delimited field of `len` bytes whose body the caller writes next.
    #[inline(always)]
    fn head(&mut self, field_tag: u8, len: usize) {
        if len < 0x80 {
            self.array([field_tag, len as u8]);
        } else {
            self.byte(field_tag);
            self.varint(len as u64);
        }
    }

    #[inline(always)]
    fn str_field(&mut self, field_tag: u8, s: &str) {
        if !s.is_empty() {
            self.head(field_tag, s.len());
            self.bytes(s.as_bytes());
        }
    }
}

/// `N` bytes from `src + at` to `dst + at`, as one unaligned load and store.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `at + N` bytes.
#[inline(always)]
unsafe fn move_n<const N: usize>(src: *const u8, dst: *mut u8, at: usize) {
    // SAFETY: the caller's contract.
    unsafe {
        dst.add(at)
            .cast::<[u8; N]>()
            .write_unaligned(src.add(at).cast::<[u8; N]>().read_unaligned());
    }
}

/// A length-delimited field around a body of `body` bytes.
#[inline(always)]
fn field_len(body: usize) -> usize {
    1 + varint_len(body as u64) + body
}

/// A string field, left out when empty (as prost does).
#[inline(always)]
fn str_field_len(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        field_len(s.len())
    }
}

/// Whether [`write_span_body`] takes `span` (no events or links; those take the general
/// writer, [`put_span`]), room permitting.
#[inline(always)]
fn in_place(span: &RawSpan) -> bool {
    span.extras
        .as_deref()
        .is_none_or(|extras| extras.events.is_empty() && extras.links.is_empty())
}

/// The most bytes [`write_any_value`] (or [`write_attribute`]'s own arms) writes for an
/// `AnyValue` body; `None` for a kind it does not know.
#[inline(always)]
fn any_value_bound(value: &Value) -> Option<usize> {
    Some(match value {
        Value::Bool(_) => 2,
        Value::I64(_) => 1 + MAX_VARINT,
        Value::F64(_) => 9,
        Value::String(s) => FIELD + s.as_str().len(),
        Value::Array(array) => {
            FIELD
                + match array {
                    Array::Bool(values) => values.len() * 4,
                    Array::I64(values) => values.len() * (FIELD + 1 + MAX_VARINT),
                    Array::F64(values) => values.len() * 11,
                    Array::String(values) => {
                        values.iter().map(|v| 2 * FIELD + v.as_str().len()).sum()
                    }
                    // Written as an empty array (see `write_any_value`).
                    _ => 0,
                }
        }
        _ => return None,
    })
}

/// `AnyValue` body length (see [`put_any_value`]).
#[inline]
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::String(s) => field_len(s.as_str().len()),
        Value::Bool(_) => 2,
        Value::I64(i) => 1 + varint_len(*i as u64),
        Value::F64(_) => 9,
        Value::Array(array) => field_len(array_len(array)),
        other => field_len(other.as_str().len()),
    }
}

/// `ArrayValue` body length: each item an `AnyValue` field.
fn array_len(array: &Array) -> usize {
    match array {
        Array::Bool(values) => values.len() * field_len(2),
        Array::I64(values) => values
            .iter()
            .map(|v| field_len(1 + varint_len(*v as u64)))
            .sum(),
        Array::F64(values) => values.len() * field_len(9),
        Array::String(values) => values
            .iter()
            .map(|v| field_len(field_len(v.as_str().len())))
            .sum(),
        // `Array` is non-exhaustive; a future variant is written as an empty array.
        _ => 0,
    }
}

/// `Span` without events or links, written in place: the same bytes as [`put_span`] (the
/// tests compare the two).
#[inline]
fn write_span_body(out: &mut Out, span: &RawSpan) -> Option<()> {
    if !in_place(span) {
        return None;
    }
    let extras = span.extras.as_deref();
    let state = extras.and_then(|e| e.trace_state.as_deref());
    // Ids 28, the state, the parent's id 10, the name, kind and times 20.
    out.room(28 + state.map_or(0, |s| FIELD + s.len()) + 10 + FIELD + span.name.len() + 20)?;
    // trace_id = 1, span_id = 2
    out.array([tag(1, LEN), 16]);
    out.array(span.trace_id.to_be_bytes());
    out.array([tag(2, LEN), 8]);
    out.array(span.span_id.to_be_bytes());
    // trace_state = 3
    if let Some(state) = state {
        out.str_field(tag(3, LEN), state);
    }
    // parent_span_id = 4
    if span.parent_id != 0 {
        out.array([tag(4, LEN), 8]);
        out.array(span.parent_id.to_be_bytes());
    }
    // name = 5
    out.str_field(tag(5, LEN), &span.name);
    // kind = 6, start_time_unix_nano = 7, end_time_unix_nano = 8 (fixed64)
    out.array([tag(6, 0), kind(&span.kind), tag(7, 1)]);
    out.array(clock::to_unix_nanos(span.start).to_le_bytes());
    out.byte(tag(8, 1));
    out.array(clock::to_unix_nanos(span.end.max(span.start)).to_le_bytes());
    // attributes = 9
    for attribute in &span.attributes {
        write_attribute(out, attribute.key.as_str(), &attribute.value)?;
    }
    let description = extras
        .and_then(|e| e.error_description.as_deref())
        .unwrap_or_default();
    // Three counts, the status with its description, flags 6.
    out.room(3 * FIELD + 2 * FIELD + description.len() + 2 + 6)?;
    // dropped_attributes_count = 10
    if span.dropped != 0 {
        out.byte(tag(10, 0));
        out.varint(u64::from(span.dropped));
    }
    // dropped_events_count = 12, dropped_links_count = 14 (no events or links here)
    if let Some(extras) = extras {
        if extras.dropped_events != 0 {
            out.byte(tag(12, 0));
            out.varint(u64::from(extras.dropped_events));
        }
        if extras.dropped_links != 0 {
            out.byte(tag(14, 0));
            out.varint(u64::from(extras.dropped_links));
        }
    }
    // status = 15: Status { message = 2, code = 3 }, always present.
    if span.flags & FLAG_ERROR != 0 {
        if description.is_empty() {
            out.array([tag(15, LEN), 2, tag(3, 0), 2]);
        } else {
            out.head(tag(15, LEN), field_len(description.len()) + 2);
            out.str_field(tag(2, LEN), description);
            out.array([tag(3, 0), 2]);
        }
    } else if span.flags & FLAG_STATUS_OK != 0 {
        out.array([tag(15, LEN), 2, tag(3, 0), 1]);
    } else {
        out.array([tag(15, LEN), 0]);
    }
    // flags = 16 (fixed32), as in `put_span`.
    let remote = if span.flags & FLAG_PARENT_REMOTE != 0 {
        0x200
    } else {
        0
    };
    let flags: u32 = 0x01 | 0x100 | remote;
    out.array([0x85, 0x01]);
    out.array(flags.to_le_bytes());
    Some(())
}

/// `Span.attributes = 9`: one `KeyValue { key = 1, value = 2 }` field in place, its lengths
/// worked out as it is written (the common values in one `match`); `None` when the room has
/// not enough left for it.
#[inline(always)]
fn write_attribute(out: &mut Out, key: &str, value: &Value) -> Option<()> {
    // The attribute's, the key's and the value's tags and lengths, and the key.
    let fields = 3 * FIELD + key.len();
    // The key field's length, for the arms that need it (worked out there, not for every
    // attribute).
    let key_len = || str_field_len(key);
    match value {
        // The common case: a key and a short string, every length one byte.
        Value::String(s) if !key.is_empty() && key.len() + s.as_str().len() <= 121 => {
            let s = s.as_str();
            out.room(fields + FIELD + s.len())?;
            // KeyValue { key = 1, value = 2 }: 2 + key + 2 + (2 + s).
            out.array([
                tag(9, LEN),
                (6 + key.len() + s.len()) as u8,
                tag(1, LEN),
                key.len() as u8,
            ]);
            out.bytes(key.as_bytes());
            out.array([tag(2, LEN), (2 + s.len()) as u8, tag(1, LEN), s.len() as u8]);
            out.bytes(s.as_bytes());
        }
        Value::I64(i) if !key.is_empty() && key.len() <= 113 => {
            out.room(fields + 1 + MAX_VARINT)?;
            let any = 1 + varint_len(*i as u64);
            out.array([
                tag(9, LEN),
                (4 + key.len() + any) as u8,
                tag(1, LEN),
                key.len() as u8,
            ]);
            out.bytes(key.as_bytes());
            out.array([tag(2, LEN), any as u8, tag(3, 0)]);
            out.varint(*i as u64);
        }
        Value::String(s) => {
            let s = s.as_str();
            out.room(fields + FIELD + s.len())?;
            let any = field_len(s.len());
            out.head(tag(9, LEN), key_len() + field_len(any));
            out.str_field(tag(1, LEN), key);
            out.head(tag(2, LEN), any);
            out.head(tag(1, LEN), s.len());
            out.bytes(s.as_bytes());
        }
        Value::I64(i) => {
            out.room(fields + 1 + MAX_VARINT)?;
            let any = 1 + varint_len(*i as u64);
            out.head(tag(9, LEN), key_len() + 1 + 1 + any);
            out.str_field(tag(1, LEN), key);
            out.array([tag(2, LEN), any as u8, tag(3, 0)]);
            out.varint(*i as u64);
        }
        Value::Bool(b) => {
            out.room(fields + 2)?;
            out.head(tag(9, LEN), key_len() + 4);
            out.str_field(tag(1, LEN), key);
            out.array([tag(2, LEN), 2, tag(2, 0), u8::from(*b)]);
        }
        other => {
            out.room(fields + any_value_bound(other)?)?;
            let any = any_value_len(other);
            out.head(tag(9, LEN), key_len() + field_len(any));
            out.str_field(tag(1, LEN), key);
            out.head(tag(2, LEN), any);
            write_any_value(out, other);
        }
    }
    Some(())
}

/// `AnyValue` body in place (see [`put_any_value`]).
fn write_any_value(out: &mut Out, value: &Value) {
    match value {
        Value::String(s) => {
            out.head(tag(1, LEN), s.as_str().len());
            out.bytes(s.as_str().as_bytes());
        }
        Value::Bool(b) => out.bytes(&[tag(2, 0), u8::from(*b)]),
        Value::I64(i) => {
            out.byte(tag(3, 0));
            out.varint(*i as u64);
        }
        Value::F64(f) => {
            out.byte(tag(4, 1));
            out.bytes(&f.to_bits().to_le_bytes());
        }
        Value::Array(array) => {
            out.head(tag(5, LEN), array_len(array));
            match array {
                Array::Bool(values) => {
                    for v in values {
                        out.bytes(&[tag(1, LEN), 2, tag(2, 0), u8::from(*v)]);
                    }
                }
                Array::I64(values) => {
                    for v in values {
                        out.head(tag(1, LEN), 1 + varint_len(*v as u64));
                        out.byte(tag(3, 0));
                        out.varint(*v as u64);
                    }
                }
                Array::F64(values) => {
                    for v in values {
                        out.bytes(&[tag(1, LEN), 9, tag(4, 1)]);
                        out.bytes(&v.to_bits().to_le_bytes());
                    }
                }
                Array::String(values) => {
                    for v in values {
                        let s = v.as_str();
                        out.head(tag(1, LEN), field_len(s.len()));
                        out.head(tag(1, LEN), s.len());
                        out.bytes(s.as_bytes());
                    }
                }
                _ => {}
            }
        }
        other => {
            let text = other.as_str();
            out.head(tag(1, LEN), text.len());
            out.bytes(text.as_bytes());
        }
    }
}

fn kind(kind: &SpanKind) -> u8 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// `Span.Event { time_unix_nano = 1, name = 2, attributes = 3, dropped = 4 }`.
fn put_event(out: &mut Vec<u8>, event: &Event) {
    let nanos = event
        .timestamp
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    if nanos != 0 {
        put_fixed64_field(out, tag(1, 1), nanos);
    }
    put_str_field(out, tag(2, LEN), &event.name);
    for attribute in &event.attributes {
        put_attribute(out, tag(3, LEN), attribute);
    }
    if event.dropped_attributes_count != 0 {
        out.push(tag(4, 0));
        put_varint(out, u64::from(event.dropped_attributes_count));
    }
}

/// `Span.Link { trace_id = 1, span_id = 2, trace_state = 3, attributes = 4, dropped = 5,
/// flags = 6 }`.
fn put_link(out: &mut Vec<u8>, link: &Link) {
    let cx = &link.span_context;
    out.push(tag(1, LEN));
    out.push(16);
    out.extend_from_slice(&cx.trace_id().to_bytes());
    out.push(tag(2, LEN));
    out.push(8);
    out.extend_from_slice(&cx.span_id().to_bytes());
    put_str_field(out, tag(3, LEN), &cx.trace_state().header());
    for attribute in &link.attributes {
        put_attribute(out, tag(4, LEN), attribute);
    }
    if link.dropped_attributes_count != 0 {
        out.push(tag(5, 0));
        put_varint(out, u64::from(link.dropped_attributes_count));
    }
    let remote = if cx.is_remote() { 0x200 } else { 0 };
    let flags = u32::from(cx.trace_flags().to_u8()) | 0x100 | remote;
    out.push(tag(6, 5));
    out.extend_from_slice(&flags.to_le_bytes());
}

/// One `KeyValue` field with tag `field_tag`.
#[inline]
fn put_attribute(out: &mut Vec<u8>, field_tag: u8, attribute: &KeyValue) {
    put_nested(out, field_tag, |out| {
        put_key_value(out, attribute.key.as_str(), &attribute.value)
    });
}

/// `KeyValue { key = 1, value = 2 }` body.
#[inline]
fn put_key_value(out: &mut Vec<u8>, key: &str, value: &Value) {
    put_str_field(out, tag(1, LEN), key);
    put_nested(out, tag(2, LEN), |out| put_any_value(out, value));
}

/// `AnyValue` body: the one `oneof` field set (always written, even at its default).
fn put_any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => {
            out.push(tag(1, LEN));
            put_varint(out, s.as_str().len() as u64);
            out.extend_from_slice(s.as_str().as_bytes());
        }
        Value::Bool(b) => out.extend_from_slice(&[tag(2, 0), u8::from(*b)]),
        Value::I64(i) => {
            out.push(tag(3, 0));
            put_varint(out, *i as u64);
        }
        Value::F64(f) => put_fixed64_field(out, tag(4, 1), f.to_bits()),
        Value::Array(array) => {
            // ArrayValue { values = 1 } of AnyValue.
            put_nested(out, tag(5, LEN), |out| match array {
                Array::Bool(values) => {
                    for v in values {
                        put_nested(out, tag(1, LEN), |out| put_any_value(out, &Value::Bool(*v)));
                    }
                }
                Array::I64(values) => {
                    for v in values {
                        put_nested(out, tag(1, LEN), |out| put_any_value(out, &Value::I64(*v)));
                    }
                }
                Array::F64(values) => {
                    for v in values {
                        put_nested(out, tag(1, LEN), |out| put_any_value(out, &Value::F64(*v)));
                    }
                }
                Array::String(values) => {
                    for v in values {
                        put_nested(out, tag(1, LEN), |out| put_string_value(out, v));
                    }
                }
                // `Array` is non-exhaustive; a future variant is written as an empty array.
                _ => {}
            });
        }
        // `Value` is non-exhaustive: a future variant is written as its text.
        other => {
            let text = other.as_str();
            out.push(tag(1, LEN));
            put_varint(out, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
    }
}

fn put_string_value(out: &mut Vec<u8>, s: &StringValue) {
    out.push(tag(1, LEN));
    put_varint(out, s.as_str().len() as u64);
    out.extend_from_slice(s.as_str().as_bytes());
}

/// A length-delimited field whose body `f` writes: the body is written in place after a
/// one-byte length guess, and moved only in the rare case it is 128 bytes or longer.
#[inline]
fn put_nested(out: &mut Vec<u8>, field_tag: u8, f: impl FnOnce(&mut Vec<u8>)) {
    out.push(field_tag);
    out.push(0);
    let body = out.len();
    f(out);
    let len = out.len() - body;
    if len < 0x80 {
        out[body - 1] = len as u8;
    } else {
        let mut prefix = [0u8; MAX_VARINT];
        let n = write_varint(&mut prefix, len as u64);
        // One byte is already there; make room for the rest and move the body.
        out.splice(body - 1..body, prefix[..n].iter().copied());
    }
}

#[inline]
fn put_str_field(out: &mut Vec<u8>, field_tag: u8, s: &str) {
    if !s.is_empty() {
        put_bytes_field(out, field_tag, s.as_bytes());
    }
}

#[inline]
fn put_bytes_field(out: &mut Vec<u8>, field_tag: u8, bytes: &[u8]) {
    out.push(field_tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[inline]
fn put_fixed64_field(out: &mut Vec<u8>, field_tag: u8, value: u64) {
    out.push(field_tag);
    out.extend_from_slice(&value.to_le_bytes());
}

#[inline]
fn put_varint(out: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        out.push(value as u8);
    } else {
        let mut buf = [0u8; MAX_VARINT];
        let n = write_varint(&mut buf, value);
        out.extend_from_slice(&buf[..n]);
    }
}

fn write_varint(buf: &mut [u8; MAX_VARINT], mut value: u64) -> usize {
    let mut i = 0;
    while value >= 0x80 {
        buf[i] = (value as u8) | 0x80;
        value >>= 7;
        i += 1;
    }
    buf[i] = value as u8;
    i + 1
}

#[inline(always)]
fn varint_len(value: u64) -> usize {
    // Lengths and most integers are below 2^14: one or two compares.
    if value < 0x80 {
        return 1;
    }
    if value < 0x4000 {
        return 2;
    }
    // 1 byte per 7 significant bits, at least 1: ceil(bits / 7) as (bits * 9 + 64) / 64,
    // exact for 1..=64 bits, with no division.
    let bits = ((value | 1).leading_zeros() ^ 63) + 1;
    ((bits * 9 + 64) / 64) as usize
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use prost::Message as _;

    use super::*;
    use crate::pipeline::convert::to_span_data;
    use crate::record::{Extras, FLAG_RECORDING, FLAG_SAMPLED};

    /// One raw time for every record, so records built twice are equal.
    fn base() -> u64 {
        static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        *BASE.get_or_init(clock::now_raw)
    }

    fn record(span_id: u64, parent_id: u64, name: &'static str) -> RawSpan {
        let now = base();
        RawSpan {
            trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            span_id,
            parent_id,
            start: now,
            end: now + span_id * 1_000,
            name: Cow::Borrowed(name),
            kind: SpanKind::Internal,
            flags: FLAG_SAMPLED | FLAG_RECORDING,
            dropped: 0,
            plain: 0,
            attributes: crate::record::Attributes::new(),
            extras: None,
            meter: None,
            agent: None,
            random: false,
        }
    }

    /// Every shape a record can take: each kind, each value type (defaults and arrays
    /// included), spilled attributes, events, links, each status, remote parents, a
    /// `tracestate`, long and Unicode strings. Built fresh on each call (records own their
    /// parts and are not `Clone`).
    fn records() -> Vec<RawSpan> {
        let mut spans = Vec::new();
        let mut root = record(1, 0, "agent.run");
        root.kind = SpanKind::Server;
        root.flags |= FLAG_PARENT_REMOTE | FLAG_STATUS_OK;
        root.parent_id = 0xdead_beef;
        root.extras = Some(Box::new(Extras {
            trace_state: Some(Arc::from("vendor=abc,other=1")),
            ..Extras::default()
        }));
        spans.push(root);
        let mut llm = record(2, 1, "chat gpt-4o");
        llm.kind = SpanKind::Client;
        llm.attributes = [
            KeyValue::new("gen_ai.request.model", "gpt-4o"),
            KeyValue::new("gen_ai.usage.input_tokens", 128_i64),
            KeyValue::new("gen_ai.usage.output_tokens", 0_i64),
            KeyValue::new("negative", -5_i64),
            KeyValue::new("ratio", 0.25),
            KeyValue::new("zero", 0.0),
            KeyValue::new("yes", true),
            KeyValue::new("no", false),
            KeyValue::new("empty", ""),
            KeyValue::new("long", "x".repeat(300)),
            KeyValue::new("unicode", "héllo ✓ 世界"),
        ]
        .into_iter()
        .collect();
        llm.dropped = 3;
        spans.push(llm);
        let mut arrays = record(3, 1, "arrays");
        arrays.kind = SpanKind::Producer;
        arrays.attributes = [
            KeyValue::new(
                "gen_ai.response.finish_reasons",
                Value::Array(Array::String(vec!["stop".into(), "".into()])),
            ),
            KeyValue::new("ints", Value::Array(Array::I64(vec![0, 1, -1, 300]))),
            KeyValue::new("floats", Value::Array(Array::F64(vec![0.0, 1.5]))),
            KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
            KeyValue::new("none", Value::Array(Array::I64(vec![]))),
        ]
        .into_iter()
        .collect();
        spans.push(arrays);
        let mut failed = record(4, 2, "execute_tool search");
        failed.kind = SpanKind::Consumer;
        failed.flags |= FLAG_ERROR;
        let linked = SpanContext::new(
            TraceId::from(7_u128),
            SpanId::from(8_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::from_key_value([("k", "v")]).unwrap_or_default(),
        );
        failed.extras = Some(Box::new(Extras {
            usage: None,
            dropped_events: 3,
            dropped_links: 1,
            events: vec![
                Event::new(
                    "exception",
                    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
                    vec![
                        KeyValue::new("exception.type", "Timeout"),
                        KeyValue::new("exception.message", "y".repeat(200)),
                    ],
                    2,
                ),
                Event::new("at epoch", SystemTime::UNIX_EPOCH, Vec::new(), 0),
            ],
            links: vec![
                Link::new(linked.clone(), vec![KeyValue::new("why", "retry")], 1),
                Link::with_context(SpanContext::new(
                    TraceId::from(9_u128),
                    SpanId::from(10_u64),
                    TraceFlags::default(),
                    false,
                    TraceState::default(),
                )),
            ],
            error_description: Some(Cow::Borrowed("flight API did not answer")),
            trace_state: None,
        }));
        spans.push(failed);
        let mut bare_error = record(5, 2, "");
        bare_error.flags |= FLAG_ERROR;
        spans.push(bare_error);
        // An error with a description, counts past one varint byte, no events or links (the
        // in-place writer), and a body past 16 KiB (a three-byte length).
        let mut described = record(6, 2, "ünïcode näme");
        described.flags |= FLAG_ERROR;
        described.dropped = 200;
        described.attributes = [KeyValue::new("huge", "z".repeat(20_000))]
            .into_iter()
            .collect();
        described.extras = Some(Box::new(Extras {
            error_description: Some(Cow::Borrowed("quota exceeded")),
            dropped_events: 300,
            dropped_links: 2,
            trace_state: Some(Arc::from("a=b")),
            ..Extras::default()
        }));
        spans.push(described);
        spans
    }

    #[test]
    fn only_spans_with_events_or_links_take_the_general_writer() {
        let written_in_place: Vec<bool> = records().iter().map(in_place).collect();
        assert_eq!(written_in_place, [true, true, true, false, true, true]);
    }

    #[test]
    fn varint_lengths_are_exact() {
        for value in (0..64).flat_map(|b| [1_u64 << b, (1_u64 << b) - 1, (1_u64 << b) + 1]) {
            let mut buf = [0; MAX_VARINT];
            assert_eq!(varint_len(value), write_varint(&mut buf, value), "{value}");
        }
        assert_eq!(varint_len(u64::MAX), 10);
    }

    #[test]
    fn a_span_past_the_limit_is_not_appended() {
        let (resource, scope) = resources().swap_remove(0);
        let mut encoder = TraceEncoder::new(&resource, &scope);
        let mut batch = encoder.begin(Vec::new());
        let spans = records();
        assert_eq!(
            encoder.try_append(&mut batch, &spans[1], usize::MAX),
            Ok(())
        );
        let limit = batch.buf_len() + 10;
        let before = batch.buf_len();
        for span in &spans {
            assert_eq!(encoder.try_append(&mut batch, span, limit), Err(()));
        }
        assert_eq!((batch.buf_len(), batch.len()), (before, 1));
    }

    #[test]
    fn the_limit_is_exact_for_every_length_of_a_span() {
        // Each record appended alone with no limit, then against a limit one byte short of
        // what it took and against exactly that: the first is refused and leaves the batch as
        // it was, the second appends the same bytes. Spans whose length takes one, two or
        // three bytes take different paths (`move_body` for one and three).
        for (resource, scope) in resources() {
            let mut encoder = TraceEncoder::new(&resource, &scope);
            let tail = encoder.scope_schema.len() + encoder.resource_schema.len();
            let mut lengths = std::collections::BTreeSet::new();
            let mut spans = records();
            for n in [1usize, 200, 20_000] {
                let mut long = record(7, 0, "long");
                long.name = Cow::Owned("x".repeat(n));
                spans.push(long);
            }
            for span in &spans {
                let mut alone = encoder.begin(Vec::new());
                let start = alone.buf_len();
                assert_eq!(encoder.try_append(&mut alone, span, usize::MAX), Ok(()));
                let needed = alone.buf_len() + tail;
                // The span's field: its tag, then its length's bytes (high bit set on all but
                // the last).
                let width = 1 + alone.buf[start + 1..]
                    .iter()
                    .take_while(|b| **b & 0x80 != 0)
                    .count();
                lengths.insert(width);

                let mut short = encoder.begin(Vec::new());
                assert_eq!(encoder.try_append(&mut short, span, needed - 1), Err(()));
                assert_eq!((short.buf_len(), short.len()), (start, 0));

                let mut exact = encoder.begin(Vec::new());
                assert_eq!(encoder.try_append(&mut exact, span, needed), Ok(()));
                assert_eq!(exact.buf, alone.buf);
            }
            assert_eq!(
                lengths.len(),
                3,
                "spans of one-, two- and three-byte lengths"
            );
        }
    }

    fn expected(spans: Vec<RawSpan>, resource: &Resource, scope: &InstrumentationScope) -> Vec<u8> {
        let data = spans
            .into_iter()
            .map(|mut raw| to_span_data(&mut raw, scope))
            .collect();
        ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                data,
                &ResourceAttributesWithSchema::from(resource),
            ),
        }
        .encode_to_vec()
    }

    fn ours(spans: &[RawSpan], resource: &Resource, scope: &InstrumentationScope) -> Vec<u8> {
        let mut encoder = TraceEncoder::new(resource, scope);
        let mut batch = encoder.begin(Vec::new());
        for span in spans {
            encoder.push(&mut batch, span);
        }
        encoder.finish(&mut batch);
        batch.bytes().to_vec()
    }

    fn assert_same(ours: &[u8], theirs: &[u8]) {
        if ours != theirs {
            let decode = |b: &[u8]| {
                ExportTraceServiceRequest::decode(b)
                    .map(|r| format!("{r:#?}"))
                    .unwrap_or_else(|e| format!("undecodable: {e}"))
            };
            let (a, b) = (decode(ours), decode(theirs));
            if let Some((line, (x, y))) = a
                .lines()
                .zip(b.lines())
                .enumerate()
                .find(|(_, (x, y))| x != y)
            {
                panic!("decoded requests differ at line {line}: ours `{x}`, expected `{y}`");
            }
            let at = ours.iter().zip(theirs).position(|(a, b)| a != b);
            panic!(
                "same message, different bytes ({} vs {} bytes, first difference at {at:?})",
                ours.len(),
                theirs.len()
            );
        }
    }

    fn resources() -> Vec<(Resource, InstrumentationScope)> {
        vec![
            (
                Resource::builder_empty()
                    .with_service_name("checkout")
                    .with_attributes([
                        KeyValue::new("deployment.environment.name", "prod"),
                        KeyValue::new("host.cores", 2_i64),
                    ])
                    .build(),
                super::super::scope(),
            ),
            (
                Resource::builder_empty()
                    .with_schema_url(
                        [KeyValue::new("service.name", "s")],
                        "https://opentelemetry.io/schemas/1.30.0",
                    )
                    .build(),
                InstrumentationScope::builder("lib")
                    .with_schema_url("https://example.com/schema")
                    .with_attributes([KeyValue::new("scope.attr", 1_i64)])
                    .build(),
            ),
            (
                Resource::builder_empty().build(),
                InstrumentationScope::builder("").build(),
            ),
        ]
    }

    #[test]
    fn the_request_is_byte_for_byte_what_opentelemetry_proto_encodes() {
        for (resource, scope) in resources() {
            let spans = records();
            assert_same(
                &ours(&spans, &resource, &scope),
                &expected(records(), &resource, &scope),
            );
            // One span alone, and none.
            let one: Vec<RawSpan> = records().into_iter().take(1).collect();
            let expected_one: Vec<RawSpan> = records().into_iter().take(1).collect();
            assert_same(
                &ours(&one, &resource, &scope),
                &expected(expected_one, &resource, &scope),
            );
        }
    }

    #[test]
    fn names_keys_and_values_of_every_short_length_match() {
        // Each copy path (a byte at a time, 4, 8 and 16-byte moves, memcpy) and its edges, in
        // the name, keys and string values; different bytes at each place, so a move that
        // lands one byte off shows.
        let text = |n: usize| {
            (0..n)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect::<String>()
        };
        let spans = || {
            (0..=70)
                .map(|n| {
                    let mut span = record(n as u64 + 1, 0, "");
                    span.name = Cow::Owned(text(n));
                    // The one-byte-length arms end at a key and string of 121 bytes together
                    // (n = 60) and at a key of 113 bytes before an integer (n = 63); an empty
                    // key is left out of the field.
                    span.attributes = [
                        KeyValue::new(text(n + 1), text(n)),
                        KeyValue::new(text(n + 50), n as i64 * 1_000),
                        KeyValue::new(text(n % 2), text(n % 3)),
                    ]
                    .into_iter()
                    .collect();
                    span
                })
                .collect::<Vec<_>>()
        };
        let (resource, scope) = resources().swap_remove(0);
        assert_same(
            &ours(&spans(), &resource, &scope),
            &expected(spans(), &resource, &scope),
        );
    }

    #[test]
    fn spans_whose_length_takes_one_two_or_three_bytes_match_in_place_and_not() {
        // Bodies under 128 bytes, of 128 to 16 383, and over (the in-place writer moves the
        // body for the first; the last is past its room and takes the general writer), each
        // written into an empty buffer and into one with spare capacity.
        let spans = || {
            [0, 60, 200, 20_000]
                .into_iter()
                .enumerate()
                .map(|(i, n)| {
                    let mut span = record(i as u64 + 1, 0, "s");
                    span.attributes = [KeyValue::new("v", "x".repeat(n))].into_iter().collect();
                    span
                })
                .collect::<Vec<_>>()
        };
        let (resource, scope) = resources().swap_remove(0);
        let theirs = expected(spans(), &resource, &scope);
        for capacity in [0, 1 << 20] {
            let mut encoder = TraceEncoder::new(&resource, &scope);
            let mut batch = encoder.begin(Vec::with_capacity(capacity));
            for span in &spans() {
                encoder.push(&mut batch, span);
            }
            encoder.finish(&mut batch);
            assert_same(batch.bytes(), &theirs);
        }
    }

    #[test]
    fn spans_around_the_in_place_room_match() {
        // Names, keys, values, trace states and descriptions whose lengths put the span's
        // body just under, at and past the room the in-place writer checks per section
        // (debug builds also assert that every write stays within its section's bound).
        let lengths = (0..40).map(|i| IN_PLACE_ROOM - 160 + 8 * i);
        let spans = || {
            lengths
                .clone()
                .enumerate()
                .flat_map(|(i, n)| {
                    let id = 10 * i as u64 + 1;
                    let mut long_name = record(id, 1, "");
                    long_name.name = Cow::Owned("n".repeat(n / 2));
                    long_name.attributes = [KeyValue::new("k", "v".repeat(n / 2))]
                        .into_iter()
                        .collect();
                    let mut long_key = record(id + 1, 1, "s");
                    long_key.attributes = [
                        KeyValue::new("k".repeat(n / 3), 7_i64),
                        KeyValue::new("b", true),
                        KeyValue::new("f".repeat(n / 3), 1.5),
                        KeyValue::new("a", Value::Array(vec![n as i64; n / 40].into())),
                    ]
                    .into_iter()
                    .collect();
                    let mut described = record(id + 2, 1, "e");
                    described.flags |= FLAG_ERROR;
                    described.extras = Some(Box::new(Extras {
                        error_description: Some(Cow::Owned("d".repeat(n / 2))),
                        trace_state: Some(Arc::from(format!("k={}", "t".repeat(n / 8)))),
                        dropped_events: 3,
                        dropped_links: 300,
                        ..Extras::default()
                    }));
                    described.dropped = 2;
                    [long_name, long_key, described]
                })
                .collect::<Vec<_>>()
        };
        let (resource, scope) = resources().swap_remove(0);
        assert_same(
            &ours(&spans(), &resource, &scope),
            &expected(spans(), &resource, &scope),
        );
    }

    #[test]
    fn a_large_batch_with_long_lengths_matches_too() {
        let (resource, scope) = resources().swap_remove(0);
        let many = || (0..10_000).flat_map(|_| records()).collect::<Vec<_>>();
        let spans = many();
        let bytes = ours(&spans, &resource, &scope);
        assert!(
            bytes.len() > 1 << 21,
            "{} bytes: lengths take 3+ byte varints",
            bytes.len()
        );
        assert_same(&bytes, &expected(many(), &resource, &scope));
    }

    #[test]
    fn the_decoded_request_holds_what_the_records_held() {
        let (resource, scope) = resources().swap_remove(0);
        let spans = records();
        let request = match ExportTraceServiceRequest::decode(&*ours(&spans, &resource, &scope)) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let decoded = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(decoded.len(), spans.len());
        let llm = &decoded[1];
        assert_eq!(llm.name, "chat gpt-4o");
        assert_eq!(llm.parent_span_id, 1_u64.to_be_bytes());
        assert_eq!(llm.trace_id, spans[1].trace_id.to_be_bytes());
        assert_eq!(llm.attributes[1].key, "gen_ai.usage.input_tokens");
        // Each end is converted on its own: the difference may round one way or the other.
        let took = llm.end_time_unix_nano - llm.start_time_unix_nano;
        assert!(took.abs_diff(clock::delta_nanos(spans[1].start, spans[1].end)) <= 1);
        assert_eq!(decoded[0].flags, 0x301, "sampled, remote parent");
        assert_eq!(decoded[3].status.as_ref().map(|s| s.code), Some(2));
    }

    #[test]
    fn a_reused_buffer_does_not_grow() {
        let (resource, scope) = resources().swap_remove(0);
        let spans = records();
        let mut encoder = TraceEncoder::new(&resource, &scope);
        let mut buf = Vec::new();
        let mut first = Vec::new();
        for round in 0..3 {
            let mut batch = encoder.begin(buf);
            for span in &spans {
                encoder.push(&mut batch, span);
            }
            assert_eq!(batch.len(), spans.len());
            encoder.finish(&mut batch);
            if round == 0 {
                first = batch.bytes().to_vec();
            } else {
                assert_eq!(batch.bytes(), first.as_slice());
            }
            let capacity = batch.buf.capacity();
            buf = batch.buf;
            if round > 0 {
                assert_eq!(buf.capacity(), capacity);
            }
        }
    }
}
