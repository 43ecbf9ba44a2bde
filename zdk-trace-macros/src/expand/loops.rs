//! `#[workflow(kind = "loop")]`: each iteration of the function's outermost loops is counted.
//! The body is parsed and `__zdk_loop.tick();` is put first in the body of every `loop`,
//! `while` and `for` that is not inside another loop, so an iteration counts when it starts
//! (also one that ends in `continue`), labels and `break value` work as written, and a nested
//! loop counts as part of its outer iteration. Closures, `async` blocks, `const` blocks and
//! nested items are not this function's control flow (they may run elsewhere or never) and are
//! left alone, as are loops written inside macro calls, which are opaque tokens here.

use proc_macro2::{Group, TokenStream};
use quote::ToTokens;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Item, Stmt};

/// `block` with a tick at the start of each outermost loop's body, and whether it had any
/// loop. A body that does not parse is returned unchanged (rustc then reports the real error).
pub(crate) fn tick_loops(block: &Group) -> (TokenStream, bool) {
    let Ok(mut parsed) = syn::parse2::<Block>(block.to_token_stream()) else {
        return (block.to_token_stream(), false);
    };
    let mut ticks = TickLoops { found: false };
    ticks.visit_block_mut(&mut parsed);
    (parsed.into_token_stream(), ticks.found)
}

struct TickLoops {
    found: bool,
}

impl TickLoops {
    fn tick(&mut self, body: &mut Block) {
        self.found = true;
        let tick: Stmt = syn::parse_quote!(__zdk_loop.tick(););
        body.stmts.insert(0, tick);
    }
}

impl VisitMut for TickLoops {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // The loop's own body is not visited: an inner loop is part of this iteration.
            Expr::Loop(l) => self.tick(&mut l.body),
            Expr::While(w) => self.tick(&mut w.body),
            Expr::ForLoop(f) => self.tick(&mut f.body),
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut Item) {}
}

#[cfg(test)]
mod tests {
    use proc_macro2::{Group, TokenStream};
    use quote::quote;

    use super::tick_loops;

    fn ticked(body: TokenStream) -> String {
        let group = Group::new(proc_macro2::Delimiter::Brace, body);
        tick_loops(&group).0.to_string()
    }

    #[test]
    fn outermost_loops_only() {
        let out = ticked(quote! {
            let v = 'outer: loop {
                for i in 0..3 { if i == 1 { continue; } }
                break 'outer 7;
            };
            while v > 0 {}
            let f = || loop {};
            let a = async { for _ in 0..2 {} };
            fn nested() { loop {} }
            if v == 7 { for _ in 0..1 {} }
        });
        assert_eq!(out.matches("__zdk_loop . tick ()").count(), 3, "{out}");
        assert!(
            out.contains("'outer : loop { __zdk_loop . tick () ;"),
            "{out}"
        );
        assert!(
            out.contains("for _ in 0 .. 1 { __zdk_loop . tick () ;"),
            "{out}"
        );
        assert!(
            out.contains("for i in 0 .. 3 { if"),
            "inner loop untouched: {out}"
        );
    }

    #[test]
    fn no_loop_found() {
        let group = Group::new(proc_macro2::Delimiter::Brace, quote!(let x = 1; x));
        assert!(!tick_loops(&group).1);
    }
}
