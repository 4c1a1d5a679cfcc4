//! The call graph's strongly connected components in dependency levels: every callee of a component
//! lies in the same component or in a lower level, so the components of one level can be summarised
//! independently once the levels below are done.

/// Components of the graph (`callees[i]`: the nodes `i` calls), grouped by level from the leaves up.
/// Each component's nodes are ascending; the components of a level are ordered by their first node.
pub fn levels(callees: &[Vec<usize>]) -> Vec<Vec<Vec<usize>>> {
    let comps = components(callees);
    let mut comp_of = vec![0; callees.len()];
    for (c, nodes) in comps.iter().enumerate() {
        for &n in nodes {
            comp_of[n] = c;
        }
    }
    // Components come callees first, so every callee's level is known when its caller's is computed.
    let mut level = vec![0usize; comps.len()];
    for (c, nodes) in comps.iter().enumerate() {
        level[c] = nodes
            .iter()
            .flat_map(|&n| &callees[n])
            .map(|&m| comp_of[m])
            .filter(|&d| d != c)
            .map(|d| level[d] + 1)
            .max()
            .unwrap_or(0);
    }
    let depth = level.iter().max().map_or(0, |m| m + 1);
    let mut out: Vec<Vec<Vec<usize>>> = vec![vec![]; depth];
    for (c, mut nodes) in comps.into_iter().enumerate() {
        nodes.sort_unstable();
        out[level[c]].push(nodes);
    }
    for l in &mut out {
        l.sort_unstable_by_key(|c| c[0]);
    }
    out
}

/// Tarjan's algorithm without recursion (call chains can be deep): components in reverse topological
/// order, each after every component it reaches.
fn components(callees: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = callees.len();
    let (mut index, mut low) = (vec![UNSEEN; n], vec![0; n]);
    let mut on_stack = vec![false; n];
    let (mut stack, mut out) = (vec![], vec![]);
    let mut next = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        // Each frame: a node and how many of its callees have been visited.
        let mut frames = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut k)) = frames.last_mut() {
            if let Some(&w) = callees[v].get(*k) {
                *k += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    frames.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = vec![];
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::levels;

    #[test]
    fn chains_cycles_and_leaves_fall_into_levels() {
        // 0 → 1 → 2, 3 ↔ 4 → 2, 5 alone, 6 → 6.
        let g = vec![
            vec![1],
            vec![2],
            vec![],
            vec![4],
            vec![3, 2],
            vec![],
            vec![6],
        ];
        assert_eq!(
            levels(&g),
            vec![
                vec![vec![2], vec![5], vec![6]],
                vec![vec![1], vec![3, 4]],
                vec![vec![0]],
            ]
        );
    }

    #[test]
    fn a_deep_chain_does_not_recurse() {
        let n = 200_000;
        let g: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
            .collect();
        let l = levels(&g);
        assert_eq!(l.len(), n);
        assert_eq!(l[0], vec![vec![n - 1]]);
        assert_eq!(l[n - 1], vec![vec![0]]);
    }
}
