//! Which synchronous functions of the crate block the thread when called: they make a blocking call
//! (the catalog's `blocking` calls: sleeps, synchronous sockets and HTTP, file I/O, password hashing
//! and key derivation; a synchronous database query on a connection), or call a synchronous function
//! of the crate that does, at any depth. An async function calling one stalls the runtime as surely as
//! if it made the blocking call itself.

use super::analysis::Analyzer;
use super::program::{Ctx, FnId};
use super::Evidence;
use crate::facts::{CallKind, CallSite};
use std::collections::HashMap;

/// Per blocking function, the way down to the blocking call: the calls into the crate's functions,
/// then the blocking call itself (noted with what it is).
pub struct Blocking {
    chains: HashMap<FnId, Vec<Evidence>>,
}

/// Chains longer than this are not followed: the evidence would not help a reader.
const MAX_CHAIN: usize = 6;

/// Query methods of a synchronous database connection (diesel's `RunQueryDsl`, rusqlite, postgres):
/// blocking when a synchronous function calls them, since nothing can await them there.
const SYNC_QUERY_METHODS: &[&str] = &[
    "load",
    "execute",
    "get_result",
    "get_results",
    "first",
    "query_row",
    "query_one",
    "batch_execute",
];

impl Blocking {
    pub fn compute(an: &Analyzer) -> Blocking {
        let prog = an.prog;
        let sync_fns: Vec<FnId> = prog
            .all_fns()
            .filter(|id| {
                let f = prog.func(*id);
                !f.is_async && !f.is_closure
            })
            .collect();
        let mut chains: HashMap<FnId, Vec<Evidence>> = HashMap::new();
        for &id in &sync_fns {
            if let Some(e) = first_blocking_call(an, id) {
                chains.insert(id, vec![e]);
            }
        }
        // What each synchronous function calls in the crate, in call order.
        let callees: Vec<(FnId, Vec<(FnId, &CallSite)>)> = sync_fns
            .iter()
            .filter(|id| !chains.contains_key(id))
            .map(|&id| {
                let ctx = prog.ctx_of(id);
                let calls = prog
                    .func(id)
                    .calls
                    .iter()
                    .filter(|c| followed(c))
                    .filter_map(|c| Some((an.callee(&ctx, c).filter(|x| *x != id)?, c)))
                    .filter(|(g, _)| !prog.func(*g).is_async)
                    .collect();
                (id, calls)
            })
            .collect();
        // A fixed point in function order: each round a function picks its first blocking callee.
        loop {
            let mut changed = false;
            for (id, calls) in &callees {
                if chains.contains_key(id) {
                    continue;
                }
                let found = calls.iter().find_map(|(g, c)| {
                    let below = chains.get(g).filter(|ch| ch.len() < MAX_CHAIN)?;
                    Some((*g, *c, below.clone()))
                });
                if let Some((g, c, below)) = found {
                    let mut chain = vec![Evidence {
                        loc: an.loc(id.unit, c.span),
                        note: format!("`{}` calls `{}`", prog.func(*id).name, prog.func(g).name),
                    }];
                    chain.extend(below);
                    chains.insert(*id, chain);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Blocking { chains }
    }

    /// The way down to the blocking call when the function `c` calls (from `caller`, whose context is
    /// `ctx`) blocks.
    pub fn chain_of(
        &self,
        an: &Analyzer,
        (caller, ctx): (FnId, &Ctx),
        c: &CallSite,
    ) -> Option<&[Evidence]> {
        if !followed(c) {
            return None;
        }
        let callee = an.callee(ctx, c).filter(|g| *g != caller)?;
        self.chains.get(&callee).map(Vec::as_slice)
    }
}

/// Calls whose target is known: a path (`auth::hash_password(..)`, `Self::hash(..)`) or a method on
/// `self`. A method on any other receiver is only matched by name (`next.run(req)` is axum's, whatever
/// the crate's own `run` does), too weak to blame the caller.
fn followed(c: &CallSite) -> bool {
    match c.kind {
        CallKind::Call => true,
        CallKind::Method => c.recv.as_deref() == Some("self"),
        _ => false,
    }
}

/// The function's own first blocking call, noted with what it is.
fn first_blocking_call(an: &Analyzer, id: FnId) -> Option<Evidence> {
    let ctx = an.prog.ctx_of(id);
    an.prog.func(id).calls.iter().find_map(|c| {
        let what = an
            .capabilities(&ctx, c)
            .into_iter()
            .find(|e| e.capability == "blocking")
            .map(|e| e.name.clone())
            .or_else(|| sync_query(c).then(|| "synchronous database query".to_string()))?;
        let shown = match c.kind {
            CallKind::Method => format!(".{}", c.name),
            _ => c.path.join("::"),
        };
        Some(Evidence {
            loc: an.loc(id.unit, c.span),
            note: format!("blocks here: {what} (`{shown}`)"),
        })
    })
}

/// `users.filter(..).load(&mut conn)`: a query method given a connection.
fn sync_query(c: &CallSite) -> bool {
    c.kind == CallKind::Method
        && SYNC_QUERY_METHODS.contains(&c.name.as_str())
        && c.args.len() == 1
        && {
            let a = c.args[0].text.trim_start_matches(['&', '*']);
            let a = a.trim_start_matches("mut ").to_lowercase();
            ["conn", "connection", "db", "tx", "transaction"]
                .iter()
                .any(|k| a == *k || a.ends_with(&format!(".{k}")) || a.ends_with(&format!("_{k}")))
        }
}
