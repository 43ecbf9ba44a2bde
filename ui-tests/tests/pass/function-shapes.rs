// Every supported shape compiles with the signature unchanged.
#![deny(warnings)]
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use zdk_trace_runtime::{span, tool_call};

struct Counter {
    n: u64,
}

impl Counter {
    #[span]
    fn by_ref(&self) -> u64 {
        self.n
    }

    #[span(err)]
    fn by_mut(&mut self) -> Result<u64, String> {
        self.n += 1;
        if self.n > 10 {
            return Err("too many".into());
        }
        Ok(self.n)
    }

    #[span]
    fn by_value(self) -> u64 {
        self.n
    }

    #[span]
    async fn async_mut(&mut self) -> u64 {
        self.n += 1;
        self.n
    }

    #[span]
    async fn pinned(self: Pin<&mut Self>) -> u64 {
        self.n
    }

    #[span]
    fn returns_ref(&self) -> &u64 {
        &self.n
    }

    #[span]
    fn future(&self) -> impl Future<Output = u64> + '_ {
        async move { self.n }
    }
}

#[span]
unsafe fn raw(p: *const u8) -> u8 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *p }
}

#[span]
fn patterns((a, b): (u8, u8), [c, d]: [u8; 2]) -> u8 {
    a + b + c + d
}

#[span(fields(len = items.len() as i64))]
fn impl_trait_arg(items: Vec<u8>, extra: impl IntoIterator<Item = u8>) -> usize {
    items.into_iter().chain(extra).count()
}

#[tool_call(err)]
fn generic<T, E>(value: T) -> Result<T, E>
where
    T: Clone,
    E: std::fmt::Display,
{
    Ok(value.clone())
}

#[tool_call(err)]
async fn generic_async<T: Send, E: std::fmt::Display>(value: T) -> Result<T, E> {
    Ok(value)
}

fn require_send<T: Send>(_: T) {}

fn main() {
    // The returned futures stay `Send`.
    require_send(generic_async::<u8, String>(1));
    let mut c = Counter { n: 0 };
    require_send(c.async_mut());
}

struct Store {
    items: Vec<u32>,
}

impl Store {
    // `err` on a sync fn runs the body in a closure: returned borrows of `self` still work.
    #[span(err)]
    fn first_mut(&mut self) -> Result<&mut u32, String> {
        self.items.first_mut().ok_or_else(|| "empty".to_owned())
    }

    #[span(err)]
    fn first(&self) -> Result<&u32, String> {
        self.items.first().ok_or_else(|| "empty".to_owned())
    }
}

#[span(err)]
fn split<'a>(text: &'a mut String, at: usize) -> Result<&'a mut str, String> {
    if at > text.len() {
        return Err("out of range".into());
    }
    Ok(&mut text[..at])
}
