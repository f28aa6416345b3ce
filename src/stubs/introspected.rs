//! A stub from pyo3's introspection of a built library (`pyo3-introspection`'s model),
//! with what it leaves untyped made `Any` and listed in the header.

use std::path::Path;

use pyo3_introspection::model::{Argument, Arguments, Attribute, Expr, Function, Module};

use super::MARKER;

/// A stub from pyo3's introspection, with what it could not type made `Any` and listed.
pub(super) fn from_model(mut model: Module, from: &str) -> String {
    let mut untyped = Vec::new();
    fill_untyped(&mut model, &mut untyped);
    let mut header = format!(
        "{MARKER} from {from}; rewritten when the module's interface changes.\n\
         # Typed by pyo3's introspection of the built library.\n"
    );
    for note in &untyped {
        header.push_str(&format!("# Any: {note}\n"));
    }
    let mut files = pyo3_introspection::module_stub_files(&model);
    let body = files.remove(Path::new("__init__.pyi")).unwrap_or_default();
    format!("{header}\n{body}")
}

/// `typing.Any`, which the stub writer imports as `Any`.
fn any() -> Expr {
    Expr::Attribute {
        value: Box::new(Expr::Name {
            id: "typing".into(),
        }),
        attr: "Any".into(),
    }
}

fn module_type() -> Expr {
    Expr::Attribute {
        value: Box::new(Expr::Name { id: "types".into() }),
        attr: "ModuleType".into(),
    }
}

/// Gives every parameter and return value introspection left untyped the type `Any`
/// (a bare name would fail `mypy --strict`), noting each in `untyped`. Submodules
/// become attributes typed as modules: a single-file stub cannot hold their contents.
fn fill_untyped(module: &mut Module, untyped: &mut Vec<String>) {
    for submodule in std::mem::take(&mut module.modules) {
        untyped.push(format!(
            "`{}` is a submodule; its contents are not in this stub",
            submodule.name
        ));
        module.attributes.push(Attribute {
            name: submodule.name,
            value: None,
            annotation: Some(module_type()),
            docstring: submodule.docstring,
        });
    }
    for function in &mut module.functions {
        fill_function(function, None, untyped);
    }
    for class in &mut module.classes {
        for method in &mut class.methods {
            fill_function(method, Some(&class.name), untyped);
        }
        for attribute in &mut class.attributes {
            if attribute.annotation.is_none() && attribute.value.is_none() {
                untyped.push(format!(
                    "`{}.{}`: no type given",
                    class.name, attribute.name
                ));
                attribute.annotation = Some(any());
            }
        }
    }
    for attribute in &mut module.attributes {
        if attribute.annotation.is_none() && attribute.value.is_none() {
            untyped.push(format!("`{}`: no type given", attribute.name));
            attribute.annotation = Some(any());
        }
    }
}

fn fill_function(function: &mut Function, class: Option<&str>, untyped: &mut Vec<String>) {
    let name = match class {
        Some(class) => format!("{class}.{}", function.name),
        None => function.name.clone(),
    };
    let Arguments {
        positional_only_arguments,
        arguments,
        vararg,
        keyword_only_arguments,
        kwarg,
    } = &mut function.arguments;
    let bound = |index: usize, argument: &Argument| {
        // `self` and `cls` are typed by the checker itself.
        index == 0 && class.is_some() && (argument.name == "self" || argument.name == "cls")
    };
    let mut missing = Vec::new();
    for (index, argument) in positional_only_arguments
        .iter_mut()
        .chain(arguments.iter_mut())
        .chain(keyword_only_arguments.iter_mut())
        .enumerate()
    {
        if argument.annotation.is_none() && !bound(index, argument) {
            missing.push(argument.name.clone());
            argument.annotation = Some(any());
        }
    }
    if let Some(vararg) = vararg {
        if vararg.annotation.is_none() {
            missing.push(format!("*{}", vararg.name));
            vararg.annotation = Some(any());
        }
    }
    if let Some(kwarg) = kwarg {
        if kwarg.annotation.is_none() {
            missing.push(format!("**{}", kwarg.name));
            kwarg.annotation = Some(any());
        }
    }
    if !missing.is_empty() {
        untyped.push(format!(
            "`{name}` {}: pyo3 gives no type for them (a `#[pyo3(signature = (x: \"int\"))]` annotation would)",
            missing.join(", ")
        ));
    }
    if function.returns.is_none() && !function.decorators.iter().any(is_setter) {
        untyped.push(format!("`{name}` return value: pyo3 gives no type for it"));
        function.returns = Some(any());
    }
}

/// `@x.setter`: introspection gives it no return type, and it needs none.
fn is_setter(decorator: &Expr) -> bool {
    matches!(decorator, Expr::Attribute { attr, .. } if attr == "setter")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_parameters_become_any_and_are_listed() {
        let function = Function {
            name: "count".into(),
            decorators: Vec::new(),
            arguments: Arguments {
                positional_only_arguments: Vec::new(),
                arguments: Vec::new(),
                vararg: Some(pyo3_introspection::model::VariableLengthArgument {
                    name: "args".into(),
                    annotation: None,
                }),
                keyword_only_arguments: Vec::new(),
                kwarg: None,
            },
            returns: Some(Expr::Name { id: "int".into() }),
            is_async: false,
            docstring: None,
        };
        let model = Module {
            name: "fast".into(),
            modules: Vec::new(),
            classes: Vec::new(),
            functions: vec![function],
            attributes: Vec::new(),
            incomplete: false,
            docstring: None,
        };
        let stub = from_model(model, "fast.rs");
        assert!(stub.contains("def count(*args: Any) -> int: ..."), "{stub}");
        assert!(stub.contains("from typing import Any"), "{stub}");
        assert!(stub.contains("# Any: `count` *args"), "{stub}");
    }
}
