//! A stub sketched from the source text, for a library pyo3 cannot introspect: names
//! and parameter kinds from syn, `Any` for every type.

use super::MARKER;

/// A stub sketched from the source text when the library cannot be introspected: every
/// top-level `#[pyfunction]` with its parameter names and `Any` types, every
/// `#[pyclass]` with its `#[pymethods]` (constructor, methods, static and class methods,
/// properties) and `get`/`set` fields typed the same way. A module with its own
/// `#[pymodule]` may register anything under any name, so its stub is `__getattr__`
/// alone.
/// `option_defaults`: trailing `Option` parameters default to `None` (pyo3 before 0.24).
pub fn from_source(text: &str, from: &str, reason: &str, option_defaults: bool) -> String {
    let mut stub = format!(
        "{MARKER} from {from}; rewritten when the module's interface changes.\n\
         # Sketched from the source, not typed: {reason}. What the source does not say is Any.\n\
         \nfrom typing import Any, final\n\n"
    );
    let Ok(file) = syn::parse_file(text) else {
        stub.push_str("def __getattr__(name: str) -> Any: ...\n");
        return stub;
    };
    if declares_pymodule(&file.items) {
        stub.push_str("def __getattr__(name: str) -> Any: ...\n");
        return stub;
    }
    let mut names = Vec::new();
    let mut body = String::new();
    for item in &file.items {
        let (ident, attrs, fields) = match item {
            syn::Item::Struct(s) => (&s.ident, &s.attrs, Some(&s.fields)),
            syn::Item::Enum(e) => (&e.ident, &e.attrs, None),
            syn::Item::Fn(f) if has_attr(&f.attrs, "pyfunction") => {
                let name =
                    python_name(&f.attrs, "pyfunction").unwrap_or_else(|| f.sig.ident.to_string());
                body.push_str(&format!(
                    "def {name}({}) -> Any: ...\n",
                    sketched_parameters(&f.attrs, &f.sig, None, option_defaults)
                ));
                names.push(name);
                continue;
            }
            _ => continue,
        };
        let Some(pyclass) = attrs.iter().find(|a| is_attr(a, "pyclass")) else {
            continue;
        };
        let rust_name = ident.to_string();
        let ident = python_name(attrs, "pyclass").unwrap_or_else(|| rust_name.clone());
        names.push(ident.clone());
        // A pyclass cannot be subclassed from Python unless it says `subclass`.
        if !attr_mentions(pyclass, "subclass") {
            body.push_str("@final\n");
        }
        body.push_str(&format!("class {ident}:\n"));
        let mut members = String::new();
        if let Some(syn::Fields::Named(named)) = fields {
            for field in &named.named {
                let Some(name) = &field.ident else { continue };
                if field
                    .attrs
                    .iter()
                    .any(|a| is_attr(a, "pyo3") && attr_mentions(a, "get"))
                {
                    members.push_str(&format!("    {name}: Any\n"));
                }
            }
        }
        if let syn::Item::Enum(e) = item {
            for variant in &e.variants {
                members.push_str(&format!("    {}: Any\n", variant.ident));
            }
        }
        for method in pymethods_of(&file, &rust_name) {
            members.push_str(&sketched_method(method, &ident, option_defaults));
        }
        if members.is_empty() {
            members.push_str("    ...\n");
        }
        body.push_str(&members);
        body.push('\n');
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    stub.push_str(&format!("__all__ = [{}]\n\n", quoted.join(", ")));
    stub.push_str(&body);
    stub
}

fn has_attr(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| is_attr(a, name))
}

fn is_attr(attr: &syn::Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

/// Whether an attribute's arguments mention `word` (`#[pyclass(subclass)]`,
/// `#[pyo3(get, set)]`).
fn attr_mentions(attr: &syn::Attribute, word: &str) -> bool {
    attr.meta.require_list().is_ok_and(|list| {
        list.tokens
            .clone()
            .into_iter()
            .any(|token| matches!(token, proc_macro2::TokenTree::Ident(i) if i == word))
    })
}

/// Whether `items` declare a `#[pymodule]` anywhere pyo3 takes one: at the top, in an
/// inline `mod` at any depth, as a `fn` or a `mod`, under a `#[cfg]` or not. (A `mod x;`
/// in a file of its own is not read.)
pub fn declares_pymodule(items: &[syn::Item]) -> bool {
    items.iter().any(|item| match item {
        syn::Item::Fn(f) => has_attr(&f.attrs, "pymodule"),
        syn::Item::Mod(m) => {
            has_attr(&m.attrs, "pymodule")
                || m.content
                    .as_ref()
                    .is_some_and(|(_, items)| declares_pymodule(items))
        }
        _ => false,
    })
}

/// The Python name an item is given (`#[pyo3(name = "x")]`, `#[pyfunction(name = "x")]`,
/// `#[pyclass(name = "X")]`), if it is renamed.
fn python_name(attrs: &[syn::Attribute], kind: &str) -> Option<String> {
    attrs
        .iter()
        .filter(|a| is_attr(a, "pyo3") || is_attr(a, kind))
        .find_map(|attr| {
            let list = attr.meta.require_list().ok()?;
            let tokens: Vec<_> = list.tokens.clone().into_iter().collect();
            tokens.windows(3).find_map(|window| match window {
                [proc_macro2::TokenTree::Ident(key), proc_macro2::TokenTree::Punct(eq), proc_macro2::TokenTree::Literal(value)]
                    if key == "name" && eq.as_char() == '=' =>
                {
                    let text = value.to_string();
                    Some(text.trim_matches('"').to_string())
                }
                _ => None,
            })
        })
}

/// `#[pyo3(signature = ...)]`: the parameters differ from the Rust ones in ways a sketch
/// does not follow.
fn pyo3_option(attrs: &[syn::Attribute], word: &str) -> bool {
    attrs
        .iter()
        .any(|a| is_attr(a, "pyo3") && attr_mentions(a, word))
}

/// The methods of every top-level `#[pymethods] impl ident`.
fn pymethods_of<'a>(file: &'a syn::File, ident: &str) -> Vec<&'a syn::ImplItemFn> {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(block) if has_attr(&block.attrs, "pymethods") => {
                let syn::Type::Path(path) = &*block.self_ty else {
                    return None;
                };
                path.path.is_ident(ident).then_some(block)
            }
            _ => None,
        })
        .flat_map(|block| {
            block.items.iter().filter_map(|item| match item {
                syn::ImplItem::Fn(method) => Some(method),
                _ => None,
            })
        })
        .collect()
}

fn sketched_method(method: &syn::ImplItemFn, class: &str, option_defaults: bool) -> String {
    let attrs = &method.attrs;
    let renamed = python_name(attrs, "pyo3");
    let name = renamed
        .clone()
        .unwrap_or_else(|| method.sig.ident.to_string());
    if has_attr(attrs, "new") {
        let parameters = sketched_parameters(attrs, &method.sig, Some("cls"), option_defaults);
        return format!("    def __new__({parameters}) -> {class}: ...\n");
    }
    if has_attr(attrs, "getter") {
        let property = renamed
            .as_deref()
            .or_else(|| name.strip_prefix("get_"))
            .unwrap_or(&name);
        return format!("    @property\n    def {property}(self) -> Any: ...\n");
    }
    if has_attr(attrs, "setter") {
        let property = renamed
            .as_deref()
            .or_else(|| name.strip_prefix("set_"))
            .unwrap_or(&name);
        return format!(
            "    @{property}.setter\n    def {property}(self, value: Any) -> None: ...\n"
        );
    }
    if has_attr(attrs, "staticmethod") {
        let parameters = sketched_parameters(attrs, &method.sig, None, option_defaults);
        return format!("    @staticmethod\n    def {name}({parameters}) -> Any: ...\n");
    }
    if has_attr(attrs, "classmethod") {
        let parameters = sketched_parameters(attrs, &method.sig, Some("cls"), option_defaults);
        return format!("    @classmethod\n    def {name}({parameters}) -> Any: ...\n");
    }
    let parameters = sketched_parameters(attrs, &method.sig, Some("self"), option_defaults);
    format!("    def {name}({parameters}) -> Any: ...\n")
}

/// Parameter names, all `Any` (positional or keyword, as pyo3 takes them when no
/// `signature` says more; a `signature` makes it `*args, **kwargs`); `bound` is `self` or
/// `cls` (a class method's first Rust parameter is the class, not a Python parameter).
fn sketched_parameters(
    attrs: &[syn::Attribute],
    sig: &syn::Signature,
    bound: Option<&str>,
    option_defaults: bool,
) -> String {
    let mut parts: Vec<String> = bound.map(|b| b.to_string()).into_iter().collect();
    if pyo3_option(attrs, "signature") {
        parts.push("*args: Any".into());
        parts.push("**kwargs: Any".into());
        return parts.join(", ");
    }
    let mut skip_class = bound == Some("cls") && !has_attr(attrs, "new");
    let mut names = Vec::new();
    for input in &sig.inputs {
        let syn::FnArg::Typed(typed) = input else {
            continue;
        };
        if std::mem::take(&mut skip_class) {
            continue;
        }
        let ty = quote_type(&typed.ty);
        // The interpreter token is not a Python parameter.
        if ty.starts_with("Python") || ty.contains(":: Python") {
            continue;
        }
        let syn::Pat::Ident(ident) = &*typed.pat else {
            parts.push("*args: Any".into());
            parts.push("**kwargs: Any".into());
            return parts.join(", ");
        };
        names.push((ident.ident.to_string(), ty.starts_with("Option")));
    }
    let optional_tail = if option_defaults {
        names
            .iter()
            .rev()
            .take_while(|(_, optional)| *optional)
            .count()
    } else {
        0
    };
    let required = names.len() - optional_tail;
    parts.extend(names.iter().enumerate().map(|(index, (name, _))| {
        if index < required {
            format!("{name}: Any")
        } else {
            format!("{name}: Any = None")
        }
    }));
    parts.join(", ")
}

/// The type as written (proc-macro2's span locations keep the source text).
fn quote_type(ty: &syn::Type) -> String {
    use syn::spanned::Spanned;
    ty.span().source_text().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sketch_lists_functions_and_classes_with_any() {
        let text = "use pyo3::prelude::*;\n#[pyfunction]\nfn double(py: Python<'_>, x: i64, y: Option<i64>) -> i64 { x }\n#[pyclass]\nstruct Point { x: i64 }\n#[pyfunction]\n#[pyo3(signature = (a, b=1))]\nfn f(a: i64, b: i64) {}\n#[pyfunction]\n#[pyo3(name = \"other\")]\nfn renamed() {}\nfn helper() {}\n";
        let stub = from_source(text, "fast.rs", "because", false);
        assert!(stub.starts_with(MARKER), "{stub}");
        assert!(
            stub.contains("def double(x: Any, y: Any) -> Any: ..."),
            "{stub}"
        );
        assert!(stub.contains("@final\nclass Point:\n    ...\n"), "{stub}");
        assert!(
            stub.contains("__all__ = [\"double\", \"Point\", \"f\", \"other\"]"),
            "{stub}"
        );
        assert!(stub.contains("def other() -> Any: ..."), "{stub}");
        assert!(
            stub.contains("def f(*args: Any, **kwargs: Any) -> Any: ..."),
            "{stub}"
        );
        assert!(!stub.contains("renamed") && !stub.contains("helper"));
    }

    #[test]
    fn a_sketch_follows_pymethods() {
        let text = "#[pyclass(subclass)]\nstruct P { #[pyo3(get, set)] x: i64, y: i64 }\n#[pymethods]\nimpl P {\n#[new]\nfn new(x: i64) -> Self { P { x, y: 0 } }\n#[getter]\nfn get_y(&self) -> i64 { self.y }\n#[setter]\nfn set_y(&mut self, y: i64) {}\n#[staticmethod]\nfn s(a: i64) {}\n#[classmethod]\nfn c(cls: &Bound<PyType>, b: i64) {}\nfn m(&self, py: Python<'_>, c: i64) {}\n}\n";
        let stub = from_source(text, "p.rs", "because", false);
        let expected = "class P:\n    x: Any\n    def __new__(cls, x: Any) -> P: ...\n    @property\n    def y(self) -> Any: ...\n    @y.setter\n    def y(self, value: Any) -> None: ...\n    @staticmethod\n    def s(a: Any) -> Any: ...\n    @classmethod\n    def c(cls, b: Any) -> Any: ...\n    def m(self, c: Any) -> Any: ...\n";
        assert!(stub.contains(expected), "{stub}");
        assert!(!stub.contains("@final"), "{stub}");
    }

    #[test]
    fn a_module_of_its_own_is_sketched_as_getattr() {
        let text = "#[pymodule]\nfn fast(m: &Bound<PyModule>) -> PyResult<()> { Ok(()) }\n#[pyfunction]\nfn double() {}\n";
        let stub = from_source(text, "fast.rs", "because", false);
        assert!(stub.contains("def __getattr__(name: str) -> Any: ..."));
        assert!(!stub.contains("def double"));
    }

    #[test]
    fn renamed_classes_and_methods_keep_their_python_names() {
        let text = "#[pyclass(name = \"Point\")]\nstruct RustPoint { }\n#[pymethods]\nimpl RustPoint {\n#[pyo3(name = \"norm\")]\nfn rust_norm(&self) -> f64 { 0.0 }\n}\n#[pyfunction(name = \"make\")]\nfn rust_make() {}\n";
        let stub = from_source(text, "p.rs", "because", false);
        assert!(stub.contains("__all__ = [\"Point\", \"make\"]"), "{stub}");
        assert!(
            stub.contains("class Point:\n    def norm(self) -> Any: ...\n"),
            "{stub}"
        );
        assert!(stub.contains("def make() -> Any: ..."), "{stub}");
    }

    #[test]
    fn a_pymodule_is_found_wherever_pyo3_takes_one() {
        for text in [
            "#[pymodule]\nfn fast(m: &Bound<PyModule>) -> PyResult<()> { Ok(()) }",
            "#[pyo3::pymodule]\nmod fast {}",
            "mod a { mod b { #[pymodule]\n#[pyo3(name = \"fast\")]\npub fn init(m: &Bound<PyModule>) -> PyResult<()> { Ok(()) } } }",
            "#[cfg(feature = \"py\")]\nmod py { #[pymodule]\nmod fast {} }",
        ] {
            let file = syn::parse_file(text).unwrap();
            assert!(declares_pymodule(&file.items), "{text}");
        }
        let file = syn::parse_file("mod a { #[pyfunction]\nfn f() {} }\nmod b;").unwrap();
        assert!(!declares_pymodule(&file.items));
    }
}
