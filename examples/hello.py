"""Quick start: import a Rust file as if it were Python.

    python examples/hello.py

The first run compiles examples/primes.rs (pyo3 once per environment, then seconds);
later runs load the built library straight away.
"""

import rusthook

rusthook.install()

import primes  # noqa: E402  (examples/primes.rs, built on first import)

print(f"primes below 1,000,000: {primes.count_primes(1_000_000)}")
