//! The runtime's modules import one way: every `crate::` (and `super::`) path in `src/` must
//! point to a module on a lower floor of the table in `ARCHITECTURE.md`, and the files inside
//! one module folder must not import each other in a cycle.
//!
//! The floors are read from `ARCHITECTURE.md` itself (the table under "Layers"), so the
//! document and the rule cannot drift apart: moving a module to another floor is an edit of
//! that table, reviewed like code.
//!
//! What counts as an import: any path starting with `crate::` or `super::` in code, `use`
//! lines and inline paths alike, including `crate::{a, b::c}` groups. Comments (doc comments
//! included, so intra-doc links are free) and the `#[cfg(test)] mod tests` block at the end of
//! a file are skipped: tests may reach anywhere. A path to an item the crate root re-exports
//! (`crate::Span`) counts as an import of the module it comes from.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One `crate::`/`super::` path found in a file.
#[derive(Debug)]
struct Import {
    line: usize,
    /// Absolute path segments, from the crate root.
    segments: Vec<String>,
}

/// A source file of the runtime, named by its module path (`["config", "env"]`; `[]` for
/// `lib.rs`; a folder's `mod.rs` is the folder's path).
#[derive(Debug)]
struct SourceFile {
    path: PathBuf,
    module: Vec<String>,
    imports: Vec<Import>,
    /// The code, comments and literals blanked.
    code: String,
}

#[test]
fn imports_run_downward_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let floors = floors(&root.join("../ARCHITECTURE.md"));
    let files = source_files(&root.join("src"));
    let reexports = root_reexports(&files);
    let modules: BTreeSet<String> = files.iter().map(|f| top(&f.module)).collect();

    let mut errors = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for file in &files {
        let from = top(&file.module);
        seen_modules.insert(from.clone());
        let Some(&from_floor) = floors.get(&from) else {
            errors.push(format!(
                "{}: module `{from}` is on no floor; add it to the Layers table of ARCHITECTURE.md",
                file.path.display()
            ));
            continue;
        };
        for import in &file.imports {
            let to = target_module(&import.segments, &modules, &reexports);
            if to == from {
                continue;
            }
            match floors.get(&to) {
                Some(&to_floor) if to_floor > from_floor => {}
                Some(&to_floor) => errors.push(format!(
                    "{}:{}: `{from}` (floor {from_floor}) imports `{}` from `{to}` (floor \
                     {to_floor}); a module may only import from lower floors: move the item \
                     down, or hand it in from above",
                    file.path.display(),
                    import.line,
                    import.segments.join("::"),
                )),
                None => errors.push(format!(
                    "{}:{}: `{}` resolves to `{to}`, which is on no floor",
                    file.path.display(),
                    import.line,
                    import.segments.join("::"),
                )),
            }
        }
    }
    for module in floors.keys() {
        if !seen_modules.contains(module) {
            errors.push(format!(
                "ARCHITECTURE.md lists module `{module}`, which src/ does not have; update the table"
            ));
        }
    }
    errors.extend(folder_cycles(&files));
    assert!(
        errors.is_empty(),
        "{} layering violation(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// A test of the checker itself: an upward import and a loop inside a folder are caught.
#[test]
fn the_checker_sees_upward_imports_and_folder_loops() {
    let text = "use crate::{a::{B, c::D}, e};\nfn f() { super::g::h(); crate::x::y(); }\n\
                // crate::not_code\n/// [`crate::docs`]\nlet s = \"crate::in_a_string\";\n\
                #[cfg(all(test, feature = \"x\"))]\n// why\n#[allow(unused)]\nmod tests { use crate::z; }\n";
    let imports = imports_of(text, &["config".to_owned(), "env".to_owned()]);
    let paths: Vec<String> = imports.iter().map(|i| i.segments.join("::")).collect();
    assert_eq!(
        paths,
        ["a::B", "a::c::D", "e", "config::g::h", "x::y"],
        "{imports:?}"
    );
    assert_eq!(imports[3].line, 2);

    let file = |module: &[&str], imports: &[&[&str]]| SourceFile {
        path: PathBuf::from(module.join("/")),
        module: module.iter().map(|s| (*s).to_owned()).collect(),
        imports: imports
            .iter()
            .map(|segments| Import {
                line: 1,
                segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            })
            .collect(),
        code: String::new(),
    };
    let looping = [
        file(&["config"], &[]),
        file(&["config", "a"], &[&["config", "b", "X"]]),
        file(&["config", "b"], &[&["config", "a", "Y"]]),
    ];
    assert_eq!(folder_cycles(&looping).len(), 1);
    let straight = [
        file(&["config", "a"], &[&["config", "b", "X"]]),
        file(&["config", "b"], &[]),
    ];
    assert!(folder_cycles(&straight).is_empty());
}

/// The floor of each top-level module, from the Layers table of `ARCHITECTURE.md`: rows
/// `| 3 | `pipeline`, `export` | ... |`, floor 1 on top.
fn floors(architecture: &Path) -> BTreeMap<String, u32> {
    let text = fs::read_to_string(architecture)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", architecture.display()));
    let mut floors = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[0].is_empty() {
            continue;
        }
        let Ok(floor) = cells[1].parse::<u32>() else {
            continue;
        };
        for name in cells[2].split('`').skip(1).step_by(2) {
            let name = name.trim_end_matches('/').trim_end_matches(".rs");
            let previous = floors.insert(name.to_owned(), floor);
            assert!(previous.is_none(), "`{name}` is on two floors");
        }
    }
    assert!(
        floors.len() > 5,
        "no Layers table found in {}",
        architecture.display()
    );
    floors
}

fn source_files(src: &Path) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    collect_rs(src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(src).unwrap_or(&path).with_extension("");
            let shown = Path::new("src").join(path.strip_prefix(src).unwrap_or(&path));
            let mut module: Vec<String> = relative
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let imports = imports_of(&text, &module);
            SourceFile {
                path: shown,
                module,
                imports,
                code: strip_comments(&text),
            }
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`lib` for the crate root).
fn top(module: &[String]) -> String {
    module.first().cloned().unwrap_or_else(|| "lib".to_owned())
}

/// Where a path leads: its first segment when that is a module, or, for an item re-exported
/// by the crate root (`crate::Span`), the module it is re-exported from.
fn target_module(
    segments: &[String],
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> String {
    let first = segments.first().map(String::as_str).unwrap_or("lib");
    if modules.contains(first) {
        return first.to_owned();
    }
    reexports
        .get(first)
        .cloned()
        .unwrap_or_else(|| first.to_owned())
}

/// `pub use module::Item;` lines of `lib.rs`: item name → module.
fn root_reexports(files: &[SourceFile]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for file in files.iter().filter(|f| f.module.is_empty()) {
        for import in &file.imports {
            if let (Some(module), Some(item)) = (import.segments.first(), import.segments.last()) {
                if import.segments.len() > 1 {
                    map.insert(item.clone(), module.clone());
                }
            }
        }
        // `pub use context::propagation;`-style lines name modules without `crate::`: read
        // the plain `pub use a::{B, C};` lines too.
        for (at, _) in file.code.match_indices("pub use ") {
            let rest = &file.code[at + "pub use ".len()..];
            let tree = rest.split(';').next().unwrap_or("");
            let mut leaves = Vec::new();
            expand_tree(tree, &mut Vec::new(), &mut leaves);
            for leaf in leaves {
                if leaf.len() > 1 {
                    map.insert(leaf[leaf.len() - 1].clone(), leaf[0].clone());
                }
            }
        }
    }
    map
}

/// Inside each module folder, the files (`config/env.rs`, `config/file.rs`, …) must not
/// import each other in a cycle. The folder's `mod.rs` is its facade and is left out: files
/// reach siblings through it by re-exported name, which is resolved to the sibling when
/// `mod.rs` re-exports it.
fn folder_cycles(files: &[SourceFile]) -> Vec<String> {
    // folder → file name → sibling files it imports
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let siblings: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    for file in files.iter().filter(|f| f.module.len() >= 2) {
        let folder = file.module[..file.module.len() - 1].to_vec();
        let name = file.module[file.module.len() - 1].clone();
        let graph = graphs.entry(folder.clone()).or_default();
        let edges = graph.entry(name.clone()).or_default();
        for import in &file.imports {
            if import.segments.len() <= folder.len() || !import.segments.starts_with(&folder) {
                continue;
            }
            let mut sibling = folder.clone();
            sibling.push(import.segments[folder.len()].clone());
            if siblings.contains(&sibling) && sibling != file.module {
                edges.insert(import.segments[folder.len()].clone());
            }
        }
    }
    let mut errors = Vec::new();
    for (folder, graph) in graphs {
        if let Some(cycle) = find_cycle(&graph) {
            errors.push(format!(
                "src/{}/: its files import each other in a loop: {}; move what they share into \
                 a file both import",
                folder.join("/"),
                cycle.join(" -> ")
            ));
        }
    }
    errors
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

/// Every `crate::` and `super::` path of a file's code, made absolute.
fn imports_of(text: &str, module: &[String]) -> Vec<Import> {
    let code = strip_comments(text);
    let code = &code[..test_module_start(&code).unwrap_or(code.len())];
    let mut imports = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let preceded_by_ident = i > 0 && (is_ident_byte(bytes[i - 1]) || bytes[i - 1] == b'$');
        let (base, skip) = if !preceded_by_ident && rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if !preceded_by_ident && rest.starts_with("super::") {
            // `super::` from `a/b.rs` (module a::b) is `a`; `super::super::` goes up again.
            let mut base = module.to_vec();
            let mut skip = 0;
            while code[i + skip..].starts_with("super::") {
                base.pop();
                skip += "super::".len();
            }
            (base, skip)
        } else {
            i += 1;
            continue;
        };
        let line = code[..i].matches('\n').count() + 1;
        let tree = use_tree_at(&code[i + skip..]);
        let mut leaves = Vec::new();
        expand_tree(&tree, &mut Vec::new(), &mut leaves);
        for leaf in leaves {
            let mut segments = base.clone();
            segments.extend(leaf.into_iter().filter(|s| s != "self"));
            if !segments.is_empty() {
                imports.push(Import { line, segments });
            }
        }
        i += skip + tree.len().max(1);
    }
    imports
}

/// Where the test module starts: a `mod tests` line under a `#[cfg(test)]` (or
/// `#[cfg(all(test, …))]`) attribute, other attributes possibly between them.
fn test_module_start(code: &str) -> Option<usize> {
    code.match_indices("\nmod tests").find_map(|(at, _)| {
        // Walk back over the attribute (and blanked comment) lines right above `mod tests`.
        let mut start = at + 1;
        let mut cfg_test = false;
        while start > 0 {
            let previous_end = start - 1;
            let previous_start = code[..previous_end].rfind('\n').map_or(0, |i| i + 1);
            let line = code[previous_start..previous_end].trim();
            if line.starts_with("#[") {
                cfg_test |= line.starts_with("#[cfg(") && line.contains("test");
            } else if !line.is_empty() {
                break;
            }
            start = previous_start;
        }
        cfg_test.then_some(start)
    })
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The path (or `{…}` group) that starts `s`: identifiers, `::` and balanced braces.
fn use_tree_at(s: &str) -> String {
    let mut depth = 0usize;
    let mut end = 0;
    for (at, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            c if c.is_alphanumeric() || c == '_' || c == ':' || c == '*' => {}
            c if depth > 0 && (c == ',' || c.is_whitespace()) => {}
            _ if depth > 0 => {}
            _ => break,
        }
        end = at + c.len_utf8();
        if depth == 0 && c == '}' {
            break;
        }
    }
    let tree = &s[..end];
    // `crate::a::b::<T>` or a trailing `::`: keep the path part.
    tree.trim_end_matches(':').to_owned()
}

/// `a::{b, c::{d, e}}` → `[a, b]`, `[a, c, d]`, `[a, c, e]`; `as` renames dropped.
fn expand_tree(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches(':');
        let close = tree.rfind('}').unwrap_or(tree.len());
        let pushed = push_segments(head, prefix);
        for part in split_top_level(&tree[open + 1..close]) {
            expand_tree(part, prefix, out);
        }
        prefix.truncate(prefix.len() - pushed);
    } else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        if path.is_empty() {
            return;
        }
        let pushed = push_segments(path, prefix);
        if pushed > 0 {
            out.push(prefix.clone());
        }
        prefix.truncate(prefix.len() - pushed);
    }
}

fn push_segments(path: &str, prefix: &mut Vec<String>) -> usize {
    let mut pushed = 0;
    for segment in path.split("::").map(str::trim).filter(|s| !s.is_empty()) {
        if segment == "*" {
            continue;
        }
        prefix.push(segment.to_owned());
        pushed += 1;
    }
    pushed
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (at, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The code of a file with comments and the contents of string and char literals blanked
/// (newlines kept, so line numbers still hold).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i)
        {
            // Raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            out.push_str("\"\"");
            while j < chars.len() {
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                if chars[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            i = j;
        } else if c == '"' {
            out.push_str("\"\"");
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if chars.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') && next.is_some()
            || c == '\'' && next == Some('\\')
        {
            // A char literal ('x', '\n', '\''); lifetimes ('a) are left alone.
            let mut j = i + 1;
            if chars.get(j) == Some(&'\\') {
                j += 2;
            } else {
                j += 1;
            }
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}
