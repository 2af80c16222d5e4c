//! SECURITY.md maps each threat to the tests that cover it. This keeps the
//! map honest: every test it names must exist.

use std::path::{Path, PathBuf};

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from("src"), PathBuf::from("tests")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(&dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// A file's module path under `src/` or in the test crate `tests/it/`:
/// `at_rest`, `conformance` (for `conformance/mod.rs`),
/// `conformance::liveness`, `compare::in_memory`.
fn module_path(file: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = ["src", "tests/it"]
        .iter()
        .find_map(|dir| file.strip_prefix(root.join(dir)).ok())
        .unwrap_or(file);
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Whether `file` is the module a `module::…::test` name points into: the
/// module itself (`conformance::liveness`), a module nested in the file
/// (`compare::in_memory` for `compare::in_memory::races`), the file of a
/// unit-test module (`inventory::reader` for `inventory::reader::tests`),
/// or a file whose module the name starts with (`at_rest` for
/// `at_rest::tests`).
fn is_module(file: &Path, module: &str) -> bool {
    let path = module_path(file);
    let file_module = module.strip_suffix("::tests").unwrap_or(module);
    path == module
        || module.starts_with(&format!("{path}::"))
        || path.ends_with(&format!("::{module}"))
        || path == file_module
        || module.split("::").next() == path.rsplit("::").next()
}

fn defines(file: &Path, name: &str) -> bool {
    let text = std::fs::read_to_string(file).unwrap();
    match name.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => text.contains(&format!("fn {prefix}")),
        None => text.contains(&format!("fn {name}(")),
    }
}

#[test]
fn every_test_named_in_the_threat_table_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let security = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let table = security
        .split("## Threats and the tests that cover them")
        .nth(1)
        .expect("the threat table");
    let sources = sources();
    let mut checked = 0;
    for row in table.lines().filter(|l| l.starts_with('|')) {
        let Some(tests) = row.trim_end_matches('|').rsplit('|').next() else {
            continue;
        };
        for name in tests.split('`').skip(1).step_by(2) {
            if !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_:*/.".contains(c))
            {
                continue; // code, not a test name
            }
            let found = if name.ends_with(".rs") {
                root.join(name).is_file()
            } else if sources.iter().any(|p| module_path(p) == name) {
                // A module of tests (`transit::faults`).
                true
            } else if let Some((module, test)) = name.rsplit_once("::") {
                sources
                    .iter()
                    .filter(|p| is_module(p, module))
                    .any(|p| defines(p, test))
            } else {
                // A test file or module, or a test named before in the row.
                sources
                    .iter()
                    .any(|p| module_path(p).rsplit("::").next() == Some(name) || defines(p, name))
            };
            assert!(found, "SECURITY.md names `{name}`, which does not exist");
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} names were found in the table");
}
