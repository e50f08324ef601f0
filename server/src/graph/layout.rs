//! A layered layout of the depends-on graph, our own (ARCHITECTURE.md says
//! why no library): a stage's wave is the longest depends-on path from a
//! stage without one (so a wave holds stages that can run together once the
//! waves before are done); the links a depth-first search finds going back
//! up its own path close cycles and are left out of the ranking (they are
//! still drawn). Each wave is then ordered by barycenter sweeps: a stage
//! moves towards the mean place of its depends-on (downward sweeps) or of
//! its dependants (upward sweeps), which uncrosses most links.
//!
//! Linear in stages + links per sweep (plus a sort of each wave), with a
//! fixed number of sweeps; no dummy nodes for long links (they are drawn
//! as curves), so the cost does not grow with the links' lengths.

/// How many down-and-up sweep pairs order the waves (a last downward sweep
/// follows them).
const SWEEPS: usize = 4;

/// The waves of the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    /// Each node's wave (0-based).
    pub wave: Vec<usize>,
    /// The nodes of each wave, in drawing order.
    pub waves: Vec<Vec<usize>>,
}

/// Waves and their order for nodes `0..deps.len()`, where `deps[i]` are
/// the nodes `i` depends on (no self-links; any cycles).
pub fn layers(deps: &[Vec<usize>]) -> Layers {
    let n = deps.len();
    let wave = ranks(deps);
    let count = wave.iter().map(|w| w + 1).max().unwrap_or(0);
    let mut waves: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &w) in wave.iter().enumerate() {
        waves[w].push(i);
    }
    // Ranking links only (a cycle's back link joins stages of any waves and
    // would pull them across the drawing).
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if d < n && wave[d] < wave[i] {
                down[i].push(d);
                up[d].push(i);
            }
        }
    }
    let widest = waves.iter().map(Vec::len).max().unwrap_or(0);
    let mut pos = vec![0.0f64; n];
    for layer in &waves {
        place(layer, widest, &mut pos);
    }
    for round in 0..=SWEEPS {
        for layer in waves.iter_mut().skip(1) {
            sweep(layer, &down, widest, &mut pos);
        }
        if round == SWEEPS {
            break;
        }
        for layer in waves.iter_mut().rev().skip(1) {
            sweep(layer, &up, widest, &mut pos);
        }
    }
    Layers { wave, waves }
}

/// Longest-path ranks, by an iterative depth-first search in node order
/// (no recursion: a 10,000-stage chain must not overflow the stack). A
/// link to a node still on the search's path closes a cycle and does not
/// rank; every other link's node is finished first.
fn ranks(deps: &[Vec<usize>]) -> Vec<usize> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let n = deps.len();
    let mut state = vec![NEW; n];
    let mut wave = vec![0usize; n];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if state[root] != NEW {
            continue;
        }
        state[root] = OPEN;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let (v, next) = *top;
            if let Some(&d) = deps[v].get(next) {
                top.1 += 1;
                if d < n && state[d] == NEW {
                    state[d] = OPEN;
                    stack.push((d, 0));
                }
                continue;
            }
            // Every link of v is explored: the finished ones rank it, the
            // open ones are on the path (cycles).
            wave[v] = deps[v]
                .iter()
                .filter(|&&d| d < n && state[d] == DONE)
                .map(|&d| wave[d] + 1)
                .max()
                .unwrap_or(0);
            state[v] = DONE;
            stack.pop();
        }
    }
    wave
}

/// Centred places of a wave's nodes in the order given: the widest wave
/// spans `0..widest`, a narrower one sits in its middle.
fn place(layer: &[usize], widest: usize, pos: &mut [f64]) {
    let offset = (widest - layer.len()) as f64 / 2.0;
    for (k, &v) in layer.iter().enumerate() {
        pos[v] = offset + k as f64;
    }
}

/// Orders a wave by the mean place of each node's neighbours in `links`
/// (a node without any keeps its place); a stable sort, so ties keep the
/// order they had.
fn sweep(layer: &mut [usize], links: &[Vec<usize>], widest: usize, pos: &mut [f64]) {
    let mut keyed: Vec<(f64, usize)> = layer
        .iter()
        .map(|&v| {
            let ns = &links[v];
            let key = if ns.is_empty() {
                pos[v]
            } else {
                ns.iter().map(|&u| pos[u]).sum::<f64>() / ns.len() as f64
            };
            (key, v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, v)) in layer.iter_mut().zip(keyed) {
        *slot = v;
    }
    place(layer, widest, pos);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_are_longest_paths() {
        // 0 ← 1 ← 2, and 3 depends on 0 and 2.
        let deps = vec![vec![], vec![0], vec![1], vec![0, 2]];
        let l = layers(&deps);
        assert_eq!(l.wave, [0, 1, 2, 3]);
        assert_eq!(l.waves, [vec![0], vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn a_cycle_is_broken_where_the_search_closes_it() {
        // 0 → 1 → 2 → 0 (each depends on the next), 3 on 2.
        let deps = vec![vec![1], vec![2], vec![0], vec![2]];
        let l = layers(&deps);
        // The search from 0 reaches 2, whose link back to 0 closes the
        // cycle: 2 is a first-wave stage, 1 after it, 0 after that.
        assert_eq!(l.wave, [2, 1, 0, 1]);
        let total: usize = l.waves.iter().map(Vec::len).sum();
        assert_eq!(total, 4);
    }

    #[test]
    fn barycenters_uncross_links() {
        // Wave 0: 0, 1. Wave 1: 2 depends on 1, 3 depends on 0: drawn in
        // node order they cross; the sweep puts 3 above 2.
        let deps = vec![vec![], vec![], vec![1], vec![0]];
        let l = layers(&deps);
        let w1 = &l.waves[1];
        let w0 = &l.waves[0];
        let at = |w: &Vec<usize>, v| w.iter().position(|&x| x == v).unwrap();
        assert_eq!(at(w0, 0) < at(w0, 1), at(w1, 3) < at(w1, 2), "{l:?}");
    }

    #[test]
    fn a_long_chain_needs_no_stack() {
        let n = 100_000;
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        let l = layers(&deps);
        assert_eq!(l.wave[n - 1], n - 1);
    }

    #[test]
    fn out_of_range_links_and_empty_input_are_harmless() {
        assert_eq!(layers(&[]).waves, Vec::<Vec<usize>>::new());
        let l = layers(&[vec![7], vec![0, 9]]);
        assert_eq!(l.wave, [0, 1]);
    }
}
