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
            } else if let Some((file, rest)) = name.split_once("::") {
                let test = rest.rsplit("::").next().unwrap();
                sources
                    .iter()
                    .filter(|p| p.file_stem().is_some_and(|s| s == file))
                    .any(|p| defines(p, test))
            } else {
                // A test file or module, or a test named before in the row.
                sources
                    .iter()
                    .any(|p| p.file_stem().is_some_and(|s| s == name) || defines(p, name))
            };
            assert!(found, "SECURITY.md names `{name}`, which does not exist");
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} names were found in the table");
}
