// rusthook:pyo3
//! Counting primes in Rust, imported from Python by `examples/hello.py`.
use pyo3::prelude::*;

/// How many primes are below `limit` (sieve of Eratosthenes).
#[pyfunction]
fn count_primes(limit: usize) -> usize {
    let mut composite = vec![false; limit];
    let mut count = 0;
    for n in 2..limit {
        if !composite[n] {
            count += 1;
            let mut multiple = n * n;
            while multiple < limit {
                composite[multiple] = true;
                multiple += n;
            }
        }
    }
    count
}
