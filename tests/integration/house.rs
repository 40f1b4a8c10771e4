//! The shape of the code, held by tests: the library's modules import each
//! other without a cycle, and no function in `src/` is over 100 lines.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};

/// The library's modules (`pub mod X;` in lib.rs) and the modules each one
/// names through `crate::`, comments and unit tests left out.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = repo().join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let mut graph = BTreeMap::new();
    for module in &modules {
        let code = module_code(&src, module);
        let mut uses = BTreeSet::new();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for part in line.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if modules.contains(&name) && &name != module {
                    uses.insert(name);
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A module's code, unit tests left out: `src/NAME.rs`, or every file of
/// `src/NAME/` for a module with submodules.
fn module_code(src: &std::path::Path, module: &str) -> String {
    let without_tests = |text: String| {
        text.split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or("")
            .to_string()
    };
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        return without_tests(std::fs::read_to_string(file).unwrap());
    }
    source_files(&src.join(module))
        .into_iter()
        .map(|path| without_tests(std::fs::read_to_string(path).unwrap()))
        .collect()
}

/// Every `.rs` file under `dir`.
fn source_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(source_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_library_modules_import_each_other_without_a_cycle() {
    let graph = module_graph();
    assert!(graph.len() > 20, "{graph:?}");
    // Kahn's algorithm: what cannot be ordered is on a cycle.
    let mut remaining = graph.clone();
    loop {
        let leaves: Vec<String> = remaining
            .iter()
            .filter(|(_, uses)| uses.iter().all(|u| !remaining.contains_key(u)))
            .map(|(m, _)| m.clone())
            .collect();
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            remaining.remove(&leaf);
        }
    }
    assert!(
        remaining.is_empty(),
        "modules on an import cycle: {remaining:?}"
    );
}

#[test]
fn no_function_in_src_is_over_100_lines() {
    let mut long = Vec::new();
    for path in source_files(&repo().join("src")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let trimmed = lines[i].trim_start();
            let indent = lines[i].len() - trimmed.len();
            let is_fn = (trimmed.starts_with("fn ") || trimmed.starts_with("pub fn "))
                && !trimmed.ends_with(';');
            if is_fn {
                let close = format!("{}}}", " ".repeat(indent));
                let end = (i + 1..lines.len())
                    .find(|&j| lines[j] == close)
                    .unwrap_or(lines.len());
                if end - i + 1 > 100 {
                    long.push(format!("{}:{}", path.display(), i + 1));
                }
                i = end;
            }
            i += 1;
        }
    }
    assert!(long.is_empty(), "functions over 100 lines: {long:?}");
}
