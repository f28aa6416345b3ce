"""A folder of sources written for rustimport, one of each layout its users have: single
files with every template form, declarative modules, structs and enums, crates with and
without pyo3 in their manifest, a relative path dependency, and a workspace of three
members of which two are marked. `test_rustimport.py` imports them with rusthook; the
script below is what a rustimport user runs (only its first line changes).

The expected output is what rustimport 1.7.1 itself printed for this folder and script.
"""

from __future__ import annotations

# pyo3 as rustimport's own crates pin it (its template's version).
PYO3_LINE = 'pyo3 = { version = "0.23.4", features = ["extension-module"] }'

EXAMPLES = {
    "legacy/__init__.py": "",
    # The template, nothing else; pyo3's own argument errors as rustimport's pyo3 words them.
    "legacy/hello.rs": """\
        // rustimport:pyo3
        use pyo3::prelude::*;
        use pyo3::types::PyString;

        #[pyfunction]
        fn greet(name: &Bound<'_, PyString>) -> PyResult<String> {
            Ok(format!("Hello, {}!", name.to_str()?))
        }

        // Written for the pyo3 rustimport pins: `with_gil` and `IntoPy` are gone from
        // later versions.
        #[pyfunction]
        fn answer() -> PyObject {
            Python::with_gil(|py| 42.into_py(py))
        }
        """,
    # `//:` lines add a dependency to the template's manifest.
    "legacy/digits.rs": """\
        // rustimport:pyo3

        //: [dependencies]
        //: itoa = "1"

        use pyo3::prelude::*;

        /// Formats an integer with itoa.
        #[pyfunction]
        fn render(n: i64) -> String {
            itoa::Buffer::new().format(n).to_string()
        }
        """,
    # A declarative module: the template generates nothing.
    "legacy/declared.rs": """\
        // rustimport:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        fn shout(text: &str) -> String {
            text.to_uppercase()
        }

        #[pymodule]
        mod declared {
            #[pymodule_export]
            use super::shout;
        }
        """,
    # Its own #[pymodule] function: the template only writes the manifest.
    "legacy/handwritten.rs": """\
        // rustimport:pyo3
        use pyo3::exceptions::PyValueError;
        use pyo3::prelude::*;

        #[pyfunction]
        fn safe_div(a: i64, b: i64) -> PyResult<i64> {
            if b == 0 {
                return Err(PyValueError::new_err("cannot divide by zero"));
            }
            Ok(a / b)
        }

        #[pymodule]
        fn handwritten(_py: Python, m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_function(wrap_pyfunction!(safe_div, m)?)?;
            Ok(())
        }
        """,
    # No template: the `//:` lines are the whole Cargo.toml.
    "legacy/manual.rs": f"""\
        // rustimport

        //: [package]
        //: name = "manual"
        //: version = "0.1.0"
        //: edition = "2021"
        //:
        //: [lib]
        //: name = "manual"
        //: crate-type = ["cdylib"]
        //:
        //: [dependencies]
        //: {PYO3_LINE}

        use pyo3::prelude::*;

        #[pyfunction]
        fn sum_as_string(a: usize, b: usize) -> String {{
            (a + b).to_string()
        }}

        #[pymodule]
        fn manual(_py: Python, m: &Bound<'_, PyModule>) -> PyResult<()> {{
            m.add_function(wrap_pyfunction!(sum_as_string, m)?)?;
            Ok(())
        }}
        """,
    # Structs and enums, simple and complex, registered by the template.
    "legacy/shapes.rs": """\
        // rustimport:pyo3
        use pyo3::prelude::*;

        #[pyclass]
        struct Point {
            x: i64,
            y: i64,
        }

        #[pymethods]
        impl Point {
            #[new]
            fn new(x: i64, y: i64) -> Self {
                Point { x, y }
            }

            fn norm2(&self) -> i64 {
                self.x * self.x + self.y * self.y
            }
        }

        #[pyclass(eq, eq_int)]
        #[derive(PartialEq)]
        enum Color {
            Red,
            Blue = 42,
        }

        #[pyclass]
        enum Shape {
            Circle { radius: f64 },
            Square(f64),
        }
        """,
    # A relative path dependency on a crate (which rustimport could also import).
    "legacy/relay.rs": """\
        // rustimport:pyo3

        //: [dependencies]
        //: helper = { path = "./helper" }

        //d: ./helper/Cargo.toml
        //d: ./helper/**/*.rs

        use pyo3::prelude::*;

        #[pyfunction]
        fn forward() -> String {
            format!("relay: {}", helper::greeting())
        }
        """,
    # A crate marked with a sentence, pinning pyo3, with the template marker on lib.rs.
    "legacy/helper/.rustimport": "This is a marker-file to make this crate importable by rustimport.",
    "legacy/helper/Cargo.toml": f"""\
        [package]
        name = "helper"
        version = "0.1.0"
        edition = "2021"

        [lib]
        name = "helper"
        crate-type = ["cdylib", "lib"]

        [dependencies]
        {PYO3_LINE}
        """,
    "legacy/helper/src/lib.rs": """\
        // rustimport:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        pub fn greeting() -> String {
            "hello from helper".to_string()
        }
        """,
    # A crate with an empty marker file and its own #[pymodule].
    "legacy/summed/.rustimport": "",
    "legacy/summed/Cargo.toml": f"""\
        [package]
        name = "summed"
        version = "0.1.0"
        edition = "2021"

        [lib]
        name = "summed"
        crate-type = ["cdylib"]

        [dependencies]
        {PYO3_LINE}
        """,
    "legacy/summed/src/lib.rs": """\
        use pyo3::prelude::*;

        #[pyfunction]
        fn total(values: Vec<i64>) -> i64 {
            values.iter().sum()
        }

        #[pymodule]
        fn summed(_py: Python, m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_function(wrap_pyfunction!(total, m)?)?;
            Ok(())
        }
        """,
    # A crate that relies on the template: no pyo3, no crate-type in its manifest.
    "legacy/templated/.rustimport": "This is a marker-file to make this crate importable by rustimport.",
    "legacy/templated/Cargo.toml": """\
        [package]
        name = "templated"
        version = "0.1.0"
        edition = "2021"
        """,
    "legacy/templated/src/lib.rs": """\
        // rustimport:pyo3

        // Header lines of the library root count as in a single file.
        //: [dependencies]
        //: itoa = "1"
        //d: ../notes/*.txt

        use pyo3::prelude::*;

        mod util;

        #[pyfunction]
        fn doubled(x: i64) -> String {
            itoa::Buffer::new().format(util::twice(x)).to_string()
        }

        #[pyclass]
        struct Counter {
            count: i64,
        }

        #[pymethods]
        impl Counter {
            #[new]
            fn new() -> Self {
                Counter { count: 0 }
            }

            fn bump(&mut self) -> i64 {
                self.count += 1;
                self.count
            }
        }
        """,
    "legacy/templated/src/util.rs": """\
        pub fn twice(x: i64) -> i64 {
            x * 2
        }
        """,
    # A crate with a relative path dependency on a sibling crate.
    "legacy/related/.rustimport": "",
    "legacy/related/Cargo.toml": f"""\
        [package]
        name = "related"
        version = "0.1.0"
        edition = "2021"

        [lib]
        crate-type = ["cdylib"]

        [dependencies]
        {PYO3_LINE}
        helper = {{ path = "../helper" }}
        """,
    "legacy/related/src/lib.rs": """\
        // rustimport:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        fn relay() -> String {
            format!("related: {}", helper::greeting())
        }
        """,
    # A workspace (its root not marked) of three members: alpha and gamma marked,
    # beta a plain library both depend on.
    "legacy/workspace/Cargo.toml": """\
        [workspace]
        members = ["alpha", "beta", "gamma"]
        resolver = "2"
        """,
    "legacy/workspace/alpha/.rustimport": "",
    "legacy/workspace/alpha/Cargo.toml": """\
        [package]
        name = "alpha"
        version = "0.1.0"
        edition = "2021"

        [dependencies]
        beta = { path = "../beta" }
        """,
    "legacy/workspace/alpha/src/lib.rs": """\
        // rustimport:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        fn triple(x: i64) -> i64 {
            beta::add(x, beta::add(x, x))
        }
        """,
    "legacy/workspace/beta/Cargo.toml": """\
        [package]
        name = "beta"
        version = "0.1.0"
        edition = "2021"

        [dependencies]
        itoa = "1"
        """,
    "legacy/workspace/beta/src/lib.rs": """\
        pub fn add(a: i64, b: i64) -> i64 {
            a + b
        }

        pub fn render(n: i64) -> String {
            itoa::Buffer::new().format(n).to_string()
        }
        """,
    "legacy/workspace/gamma/.rustimport": "This is a marker-file to make this crate importable by rustimport.",
    "legacy/workspace/gamma/Cargo.toml": f"""\
        [package]
        name = "gamma"
        version = "0.1.0"
        edition = "2021"

        [lib]
        name = "gamma"
        crate-type = ["cdylib"]

        [dependencies]
        {PYO3_LINE}
        beta = {{ path = "../beta" }}
        """,
    "legacy/workspace/gamma/src/lib.rs": """\
        // rustimport:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        fn fib(n: usize) -> Vec<i64> {
            let mut values: Vec<i64> = Vec::with_capacity(n);
            for i in 0..n {
                let next = if i < 2 { 1 } else { beta::add(values[i - 2], values[i - 1]) };
                values.push(next);
            }
            values
        }

        #[pyfunction]
        fn label(n: i64) -> String {
            format!("#{}", beta::render(n))
        }
        """,
}

# The script a rustimport user runs against the folder.
SCRIPT = """\
import rustimport.import_hook

from legacy import declared, digits, handwritten, hello, helper, manual, related, relay
from legacy import shapes, summed, templated
from legacy.workspace import alpha, gamma

print(hello.greet("Ada"), hello.answer())
try:
    hello.greet(5)
except TypeError as error:
    print("TypeError:", error)
print(digits.render(1234567))
print(declared.shout("quiet"))
print(handwritten.safe_div(7, 2))
try:
    handwritten.safe_div(1, 0)
except ValueError as error:
    print("ValueError:", error)
print(manual.sum_as_string(2, 3))
print(shapes.Point(3, 4).norm2(), shapes.Color.Red == shapes.Color.Red, int(shapes.Color.Blue))
print(shapes.Shape.Circle(radius=2.5).radius, shapes.Shape.Square(1.5)._0)
print(relay.forward())
print(helper.greeting())
print(summed.total([1, 2, 3]))
counter = templated.Counter()
counter.bump()
print(counter.bump(), templated.doubled(21))
print(related.relay())
print(alpha.triple(5), gamma.fib(8), gamma.label(1000))
"""

EXPECTED = """\
Hello, Ada! 42
TypeError: argument 'name': 'int' object cannot be converted to 'PyString'
1234567
QUIET
3
ValueError: cannot divide by zero
5
25 True 42
2.5 1.5
relay: hello from helper
hello from helper
6
2 42
related: hello from helper
15 [1, 1, 2, 3, 5, 8, 13, 21] #1000
"""
