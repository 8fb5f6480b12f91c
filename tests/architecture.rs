//! The import graph of `src/` is the chain stated in the crate docs: each
//! module uses only modules listed before it in `src/lib.rs`'s stage table.
//! A new `use crate::…` that points down the chain fails here, naming the
//! file and the module it reached for.

use std::path::Path;

/// The stages in the order of `src/lib.rs`'s table.
fn chain() -> Vec<String> {
    let lib = std::fs::read_to_string("src/lib.rs").unwrap();
    let mut order = Vec::new();
    for line in lib.lines() {
        // `//! | stage | [`module`] | … |`
        if let Some(rest) = line.strip_prefix("//! | ") {
            if let Some(start) = rest.find("[`") {
                let end = rest[start + 2..].find('`').unwrap();
                order.push(rest[start + 2..start + 2 + end].to_string());
            }
        }
    }
    order
}

/// The top-level module a file under `src/` belongs to.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix("src").unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::name` a file's code mentions outside its test module
/// (comments, doc links included, are not imports).
fn crate_uses(text: &str) -> Vec<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut used = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            used.push(name);
        }
    }
    // `use crate::{a, b}` and `super::` stay inside a module; braces at the
    // top level are listed explicitly.
    for (i, _) in code.match_indices("crate::{") {
        let rest = &code[i + 8..];
        let inner = &rest[..rest.find('}').unwrap_or(0)];
        for part in inner.split(',') {
            let name = part.trim().split("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                used.push(name.to_string());
            }
        }
    }
    used
}

#[test]
fn src_imports_form_a_chain_without_cycles() {
    let order = chain();
    assert!(
        order.len() >= 12,
        "stage table not found in src/lib.rs: {order:?}"
    );
    let position = |m: &str| order.iter().position(|o| o == m);
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.sort();
    let mut violations = Vec::new();
    for file in files {
        let module = module_of(&file);
        if module == "lib" || module == "main" || module == "testutil" {
            continue;
        }
        let here = position(&module).unwrap_or_else(|| {
            panic!("{} is not in the stage table of src/lib.rs", file.display())
        });
        let text = std::fs::read_to_string(&file).unwrap();
        for used in crate_uses(&text) {
            if used == module {
                continue;
            }
            match position(&used) {
                Some(there) if there < here => {}
                Some(_) => violations.push(format!(
                    "{} (stage `{module}`) uses `{used}`, which comes after it",
                    file.display()
                )),
                None => violations.push(format!(
                    "{} uses `crate::{used}`, which is not in the stage table",
                    file.display()
                )),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn every_module_states_its_job_in_its_first_doc_line() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or("");
        assert!(
            first.starts_with("//! ") && first.len() > 10,
            "{} does not open with a `//!` line saying its job",
            file.display()
        );
    }
}
