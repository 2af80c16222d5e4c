//! No import circle among the crate's top-level modules (issue 12), so
//! each can be read on its own, from the bottom up. A module's
//! dependencies are the modules its code names: `crate::<module>`, the
//! modules in `crate::{<module>::…, …}`, and `crate::<Item>` for an item
//! the crate root re-exports from a module (a dependency on that module's
//! re-export). Code means outside comments, string and character literals
//! and items marked `#[cfg(test)]`; anything else counts (items behind
//! `cfg(any(test, feature = "test-util"))` are code with that feature), so
//! the reading errs towards seeing an edge, never towards missing one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The length of the prefix (`r`, `br` or `cr`) of a raw string starting
/// at `i`, before its `#`s and opening quote.
fn raw_string_prefix(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_ident(b[i - 1]) {
        return None;
    }
    let prefix = match (b[i], b.get(i + 1)) {
        (b'r', _) => 1,
        (b'b' | b'c', Some(b'r')) => 2,
        _ => return None,
    };
    let hashes = b[i + prefix..].iter().take_while(|&&c| c == b'#').count();
    (b.get(i + prefix + hashes) == Some(&b'"')).then_some(prefix)
}

/// The length of the character literal at the start of `rest`, if one
/// starts there (a lifetime or a label has no closing quote).
fn char_literal_len(rest: &[u8]) -> Option<usize> {
    if rest.first() != Some(&b'\'') || rest.len() < 3 {
        return None;
    }
    if rest[1] == b'\\' {
        // An escape: up to the first quote after the escaped character.
        let close = rest[3..].iter().position(|&c| c == b'\'')?;
        return Some(3 + close + 1);
    }
    // One character, of however many UTF-8 bytes, then the closing quote.
    let width = match rest[1] {
        c if c < 0x80 => 1,
        c if c >= 0xF0 => 4,
        c if c >= 0xE0 => 3,
        _ => 2,
    };
    (rest.get(1 + width) == Some(&b'\'')).then_some(width + 2)
}

/// `text` with comments, string and character literals blanked out.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(prefix) = raw_string_prefix(b, i) {
            // A raw string: r"…", r#"…"#, br"…", cr#"…"#.
            let hashes = b[i + prefix..].iter().take_while(|&&c| c == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            i += prefix + hashes + 1;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.extend_from_slice(b"\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.extend_from_slice(b"\"\"");
        } else if let Some(len) = char_literal_len(rest) {
            i += len;
            out.extend_from_slice(b"' '");
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `code` without the items marked `#[cfg(test)]`: a `mod`, `fn`, `use`,
/// `impl` and the like. On anything else (a field, an arm) the attribute is
/// ignored and the code kept.
fn without_test_items(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    const ITEMS: &[&str] = &[
        "mod",
        "fn",
        "use",
        "impl",
        "const",
        "static",
        "struct",
        "enum",
        "type",
        "trait",
        "macro_rules",
        "async",
        "pub",
        "#[",
    ];
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let after = item[MARK.len()..].trim_start();
        let is_item = ITEMS.iter().any(|k| {
            after.starts_with(k)
                && (k.starts_with('#')
                    || !after.as_bytes().get(k.len()).copied().is_some_and(is_ident))
        });
        if !is_item {
            out.push_str(MARK);
            rest = &item[MARK.len()..];
            continue;
        }
        // The item ends at its `;`, or at the brace closing its body:
        // whichever comes first outside parentheses and brackets.
        let mut depth = 0i32;
        let mut end = item.len();
        let mut body = None;
        for (k, c) in item.char_indices().skip(MARK.len()) {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                '{' if depth == 0 => {
                    body = Some(k);
                    break;
                }
                _ => {}
            }
        }
        if let Some(open) = body {
            let mut braces = 0;
            for (k, c) in item[open..].char_indices() {
                match c {
                    '{' => braces += 1,
                    '}' => {
                        braces -= 1;
                        if braces == 0 {
                            end = open + k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The first identifier of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    &s[..end.unwrap_or(s.len())]
}

/// The names `code` reaches through `crate::`: `crate::a::…` gives `a`,
/// `crate::{a::…, b, c::{…}}` gives `a`, `b` and `c`.
fn crate_names(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && is_ident(code.as_bytes()[at - 1]) {
            continue; // an identifier ending in `crate` (`$crate::` counts)
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // Each element at the group's own depth starts with a name.
            let mut depth = 0;
            let mut start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start => {
                        start = false;
                        names.insert(ident(&group[k..]).to_owned());
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident(rest).to_owned());
        }
    }
    names.remove("");
    names
}

/// The items the crate root re-exports, by name, and the module each comes
/// from (`pub use module::{A, B};` in `lib.rs`).
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut items = BTreeMap::new();
    for statement in lib.split(';') {
        // After any attributes (`#[cfg(...)] pub use ...`).
        let Some(at) = statement.find("pub use ") else {
            continue;
        };
        let path = &statement[at + "pub use ".len()..];
        let module = ident(path.trim_start_matches("crate::")).to_owned();
        let tail = &path[path.find("::").map_or(path.len(), |p| p + 2)..];
        // Each element of the group names one item: the last segment of
        // its path (`liveness::FaceLiveness` re-exports `FaceLiveness`, not
        // a `liveness`), or what it is renamed to (`X as Y`).
        for element in tail.replace(['{', '}'], "").split(',') {
            let element = element.trim();
            let name = match element.rsplit_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => element.rsplit("::").next().unwrap_or(element).trim(),
            };
            if !name.is_empty() && name != "self" {
                items.insert(name.to_owned(), module.clone());
            }
        }
    }
    items
}

/// Top-level module → the top-level modules its code depends on.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = without_test_items(&code_only(
        &std::fs::read_to_string(src.join("lib.rs")).unwrap(),
    ));
    let reexports = root_reexports(&lib);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = Path::new(first)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if module == "lib" {
            continue; // the root declares every module and re-exports from them
        }
        let code = without_test_items(&code_only(&std::fs::read_to_string(file).unwrap()));
        let deps = graph.entry(module.clone()).or_default();
        for name in crate_names(&code) {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            if target != module {
                deps.insert(target);
            }
        }
    }
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| known.contains(d));
    }
    graph
}

/// A circle in `graph`, as the modules on it, if there is one.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in &graph[node] {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_circle_among_top_level_modules() {
    let graph = module_graph();
    // The reader sees real modules and real edges.
    for module in ["at_rest", "transit", "opt_out", "backend", "guard", "aws"] {
        assert!(graph.contains_key(module), "module {module} not found");
    }
    assert!(graph["guard"].contains("backend"));
    assert!(graph["aws"].contains("backend"));
    // One guarded path: the guard reaches AWS only through the backend
    // traits, never into the AWS backend itself.
    assert!(!graph["guard"].contains("aws"), "{:?}", graph["guard"]);
    if let Some(circle) = find_circle(&graph) {
        panic!("import circle: {}", circle.join(" -> "));
    }
}

#[test]
fn the_reader_keeps_code_and_drops_the_rest() {
    let code = code_only(concat!(
        "use crate::a; // crate::b\n",
        "/* crate::c /* nested */ crate::c2 */ let s = \"crate::d \\\" crate::d2\";\n",
        "let r = r#\"crate::e\"#; let br = br\"crate::e2\"; let c = '\"';\n",
        "let q = '\\''; let u = ['é', '\"']; fn f<'a>(x: &'a u8) {} use crate::f;",
    ));
    assert!(
        code.contains("crate::a") && code.contains("crate::f"),
        "{code}"
    );
    assert!(code.contains("<'a>"), "lifetimes are code: {code}");
    for hidden in ["crate::b", "crate::c", "crate::d", "crate::e", "nested"] {
        assert!(!code.contains(hidden), "{hidden} in {code}");
    }
}

#[test]
fn test_items_are_dropped_and_nothing_else() {
    let kept = without_test_items(concat!(
        "use crate::a;\n",
        "#[cfg(test)]\nmod tests { fn f() { crate::b::g(); } }\n",
        "#[cfg(test)]\nuse crate::c;\n",
        "#[cfg(test)]\nfn h() -> [u8; 2] { crate::e::x() }\n",
        "struct S { #[cfg(test)] probe: u8, inner: crate::g::G }\n",
        "use crate::d;",
    ));
    for shown in ["crate::a", "crate::d", "crate::g"] {
        assert!(kept.contains(shown), "{shown} missing from {kept}");
    }
    for hidden in ["crate::b", "crate::c", "crate::e"] {
        assert!(!kept.contains(hidden), "{hidden} in {kept}");
    }
}

#[test]
fn names_and_reexports_are_resolved() {
    let names =
        crate_names("use crate::{a::X, b, c::{d::Y, e}}; crate::f::g(); $crate::h; crate::Z");
    let expected: BTreeSet<String> = ["a", "b", "c", "f", "h", "Z"].map(String::from).into();
    assert_eq!(names, expected);
    let reexports = root_reexports(
        "pub use guard::{Guard, GuardBuilder};\n#[cfg(test)]\npub use text::AUDIT_TARGET;\nmod guard;\npub use guard::{liveness::FaceLiveness, store::PhotoStore as Store};",
    );
    assert_eq!(reexports["Guard"], "guard");
    assert_eq!(reexports["AUDIT_TARGET"], "text");
    // A nested path re-exports its last segment, a rename its new name.
    assert_eq!(reexports["FaceLiveness"], "guard");
    assert_eq!(reexports["Store"], "guard");
    assert!(!reexports.contains_key("liveness"), "{reexports:?}");
    assert!(!reexports.contains_key("PhotoStore"), "{reexports:?}");
}

#[test]
fn circles_are_found() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        graph
            .entry(from.to_owned())
            .or_default()
            .insert(to.to_owned());
    }
    graph.entry("d".to_owned()).or_default();
    let circle = find_circle(&graph).expect("a circle");
    assert_eq!(circle.first(), circle.last());
    assert_eq!(circle.len(), 4);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_circle(&graph), None);
}
