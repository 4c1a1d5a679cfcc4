//! Which units run side by side. Each unit's memory grows with its source, so units are weighed by
//! their bytes and started largest first, as long as the weights running together stay within a budget
//! of three quarters of the largest unit: a unit larger than that runs alone, smaller ones share, and
//! memory follows the largest package rather than the tree. (Memory per byte varies between units by
//! a third or so: with a budget of 1.1 times the largest, two units of half its size each, running
//! together, went above it.) No worker ever blocks: a unit is started when another finishes, and idle
//! workers help the running units' parallel stages.

use std::sync::Mutex;

struct State<T> {
    /// Units not started yet, largest first.
    waiting: Vec<usize>,
    running: usize,
    in_use: u64,
    results: Vec<Option<T>>,
}

/// Runs `work` on every unit and returns the results in unit order.
pub fn run<T: Send>(weights: &[u64], work: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    let largest = weights.iter().copied().max().unwrap_or(0);
    let budget = largest / 4 * 3;
    let slots = rayon::current_num_threads().max(1);
    let mut waiting: Vec<usize> = (0..weights.len()).collect();
    // Largest last, so that `pop` takes it first; ties in unit order.
    waiting.sort_by_key(|&i| (weights[i], std::cmp::Reverse(i)));
    let state = Mutex::new(State {
        waiting,
        running: 0,
        in_use: 0,
        results: (0..weights.len()).map(|_| None).collect(),
    });
    rayon::scope(|s| start_next(s, &state, weights, budget, slots, work));
    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
    state
        .results
        .into_iter()
        .map(|r| r.expect("every unit ran"))
        .collect()
}

fn start_next<'s, T: Send>(
    s: &rayon::Scope<'s>,
    state: &'s Mutex<State<T>>,
    weights: &'s [u64],
    budget: u64,
    slots: usize,
    work: &'s (dyn Fn(usize) -> T + Sync),
) {
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    while st.running < slots {
        let free = budget.saturating_sub(st.in_use);
        let pick = if st.running == 0 {
            st.waiting.len().checked_sub(1)
        } else {
            // The largest waiting unit that fits beside the running ones.
            st.waiting.iter().rposition(|&i| weights[i] <= free)
        };
        let Some(at) = pick else { break };
        let unit = st.waiting.remove(at);
        st.running += 1;
        st.in_use += weights[unit];
        s.spawn(move |s| {
            let result = work(unit);
            {
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                st.results[unit] = Some(result);
                st.running -= 1;
                st.in_use -= weights[unit];
            }
            start_next(s, state, weights, budget, slots, work);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn results_are_in_unit_order_and_the_budget_holds() {
        let weights = [5u64, 100, 1, 60, 40, 3, 90, 2];
        let in_use = AtomicU64::new(0);
        let peak = AtomicU64::new(0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let out = pool.install(|| {
            run(&weights, &|i| {
                let now = in_use.fetch_add(weights[i], Ordering::SeqCst) + weights[i];
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                in_use.fetch_sub(weights[i], Ordering::SeqCst);
                i * 10
            })
        });
        assert_eq!(out, (0..weights.len()).map(|i| i * 10).collect::<Vec<_>>());
        // Never more than the largest alone: 60 runs beside units of at most 15 in all.
        assert_eq!(peak.load(Ordering::SeqCst), 100);
    }
}
