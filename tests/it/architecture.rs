//! The layering the README promises, checked from the code itself: every `crate::`, `super::` and
//! `self::` path in `src/` is resolved to the file it names. A module may only use the layers the
//! table below allows (data flows one way), and no two files may depend on each other in a cycle.
//! Test-only code (`#[cfg(test)]` items) is left out: a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The top-level modules and what each may use. Anything not listed is an upward or sideways edge.
const ALLOWED: &[(&str, &[&str])] = &[
    ("wire", &[]),
    ("text", &[]),
    ("logging", &[]),
    ("platform", &["wire", "text"]),
    ("config", &["wire", "text", "platform"]),
    ("live", &["wire", "text"]),
    ("feed", &["wire", "config", "platform", "live", "text"]),
    ("kick", &["wire", "config", "platform", "live", "text"]),
    ("mock", &["wire", "config", "text"]),
    ("tui", &["wire", "config", "live", "kick", "feed", "text"]),
    (
        "console",
        &[
            "wire", "config", "platform", "live", "feed", "kick", "mock", "tui", "text",
        ],
    ),
    (
        "cli",
        &[
            "wire", "config", "platform", "live", "feed", "kick", "mock", "console", "text",
            "logging",
        ],
    ),
    ("lib", &[]),
    (
        "main",
        &["cli", "console", "config", "logging", "mock", "text"],
    ),
];

/// File cycles accepted as known debt: each found cycle must lie inside one of these groups, so no
/// new cycle can appear, and each group must still hold a cycle, so the list only shrinks. Empty
/// (issue 7 broke the last ones, in the mock): no file cycles at all.
const KNOWN_CYCLES: &[&[&str]] = &[];

struct SourceFile {
    path: PathBuf,
    /// Module path within the crate (`["kick", "machine"]`); empty for `lib.rs` and `main.rs`.
    module: Vec<String>,
    /// Whether `self::` points below this file (a `mod.rs`, `lib.rs` or `main.rs`).
    is_dir_module: bool,
}

fn source_files(root: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under src");
                let mut module: Vec<String> = rel
                    .with_extension("")
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect();
                let last = module.last().cloned().unwrap_or_default();
                let is_dir_module = matches!(last.as_str(), "mod" | "lib" | "main");
                if is_dir_module {
                    module.pop();
                }
                files.push(SourceFile {
                    path,
                    module,
                    is_dir_module,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Collects every path that starts at `crate`, `super`, `self` or (in `main.rs`) the library.
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

impl PathCollector {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push_with(prefix, &n.ident.to_string()),
            syn::UseTree::Rename(r) => self.push_with(prefix, &r.ident.to_string()),
            syn::UseTree::Glob(_) => self.paths.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }

    fn push_with(&mut self, prefix: &[String], last: &str) {
        let mut path = prefix.to_vec();
        if last != "self" {
            path.push(last.to_string());
        }
        self.paths.push(path);
    }
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        if let syn::Item::Use(u) = item {
            self.use_tree(&mut Vec::new(), &u.tree);
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

/// Turns a path as written in `file` into an absolute module path, or `None` for paths that do not
/// point into this crate (std, other crates, local names).
fn absolute(file: &SourceFile, path: &[String]) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" | "confwatch" => Vec::new(),
        "self" => file.module.clone(),
        "super" => {
            let mut parent = file.module.clone();
            parent.pop();
            parent
        }
        _ => return None,
    };
    let mut segments = rest.iter().peekable();
    while segments.peek().is_some_and(|s| s.as_str() == "super") {
        base.pop();
        segments.next();
    }
    base.extend(segments.cloned());
    Some(base)
}

/// The file that defines the longest prefix of `module_path`.
fn resolve(src: &Path, module_path: &[String]) -> Option<PathBuf> {
    for len in (1..=module_path.len()).rev() {
        let joined: PathBuf = module_path[..len].iter().collect();
        for candidate in [
            src.join(&joined).with_extension("rs"),
            src.join(&joined).join("mod.rs"),
        ] {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    Some(src.join("lib.rs"))
}

fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.iter().next().expect("non-empty").to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

struct Graph {
    /// file → files it uses (names relative to `src/`).
    files: BTreeMap<String, BTreeSet<String>>,
    /// (from module, to module, a file where it happens) for every edge between top-level modules.
    modules: BTreeSet<(String, String, String)>,
}

/// Files brought in by `#[cfg(test)] mod name;`: test code, left out like inline test modules.
fn test_only_files(file: &SourceFile, ast: &syn::File) -> Vec<PathBuf> {
    let dir = if file.is_dir_module {
        file.path.parent().unwrap().to_path_buf()
    } else {
        file.path.with_extension("")
    };
    ast.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.content.is_none() && is_test_only(&m.attrs) => {
                let name = m.ident.to_string();
                Some([
                    dir.join(format!("{name}.rs")),
                    dir.join(&name).join("mod.rs"),
                ])
            }
            _ => None,
        })
        .flatten()
        .collect()
}

fn dependency_graph(src: &Path) -> Graph {
    let mut graph = Graph {
        files: BTreeMap::new(),
        modules: BTreeSet::new(),
    };
    let parsed: Vec<(SourceFile, syn::File)> = source_files(src)
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file.path).expect("read source");
            let ast = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.path.display()));
            (file, ast)
        })
        .collect();
    let tests: BTreeSet<PathBuf> = parsed
        .iter()
        .flat_map(|(file, ast)| test_only_files(file, ast))
        .collect();
    for (file, ast) in parsed {
        if tests.contains(&file.path) {
            continue;
        }
        let mut collector = PathCollector::default();
        collector.visit_file(&ast);
        let from_name = file.path.strip_prefix(src).unwrap().display().to_string();
        let from_top = top_module(src, &file.path);
        let uses = graph.files.entry(from_name.clone()).or_default();
        for path in collector.paths {
            let Some(abs) = absolute(&file, &path) else {
                continue;
            };
            let Some(target) = resolve(src, &abs) else {
                continue;
            };
            if target == file.path {
                continue;
            }
            // A facade (`mod.rs`, `lib.rs`) naming its own children is a declaration, not a use.
            let facade_dir = file.path.parent().unwrap();
            if file.is_dir_module && target.starts_with(facade_dir) {
                continue;
            }
            let to_name = target.strip_prefix(src).unwrap().display().to_string();
            uses.insert(to_name.clone());
            let to_top = top_module(src, &target);
            if to_top != from_top && to_top != "lib" {
                graph
                    .modules
                    .insert((from_top.clone(), to_top, from_name.clone()));
            }
        }
    }
    graph
}

fn upward_imports(graph: &Graph) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    graph
        .modules
        .iter()
        .filter(|(from, to, _)| {
            !allowed
                .get(from.as_str())
                .is_some_and(|ok| ok.contains(&to.as_str()))
        })
        .map(|(from, to, file)| format!("{from} → {to} (in src/{file})"))
        .collect()
}

/// Strongly connected components of more than one file (Tarjan).
fn file_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        cycles: Vec<Vec<String>>,
    }
    fn connect<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                connect(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.cycles.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        cycles: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            connect(&mut state, v);
        }
    }
    state.cycles
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let graph = dependency_graph(&src_dir());
    let upward = upward_imports(&graph);
    assert!(
        upward.is_empty(),
        "imports against the layering (see ALLOWED in tests/it/architecture.rs):\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_new_file_cycles_and_the_known_ones_still_listed_are_real() {
    let graph = dependency_graph(&src_dir());
    let cycles = file_cycles(&graph.files);
    let new: Vec<String> = cycles
        .iter()
        .filter(|cycle| {
            !KNOWN_CYCLES
                .iter()
                .any(|known| cycle.iter().all(|file| known.contains(&file.as_str())))
        })
        .map(|c| c.join(" ⇄ "))
        .collect();
    assert!(new.is_empty(), "new file cycles:\n{}", new.join("\n"));
    for known in KNOWN_CYCLES {
        assert!(
            cycles
                .iter()
                .any(|cycle| cycle.iter().any(|file| known.contains(&file.as_str()))),
            "a known cycle is gone: remove it from KNOWN_CYCLES: {known:?}"
        );
    }
}

/// The checker itself: a planted upward import and a planted cycle are both found.
#[test]
fn the_checks_catch_a_planted_upward_import_and_cycle() {
    let dir = crate::common::temp_dir("arch");
    std::fs::create_dir_all(dir.join("platform")).unwrap();
    std::fs::create_dir_all(dir.join("live")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod platform; pub mod live;").unwrap();
    std::fs::write(dir.join("live/mod.rs"), "pub struct Model;").unwrap();
    std::fs::write(dir.join("platform/mod.rs"), "pub mod a; pub mod b;").unwrap();
    std::fs::write(
        dir.join("platform/a.rs"),
        "use crate::live::Model; use super::b::B; pub struct A(Model, B);",
    )
    .unwrap();
    std::fs::write(
        dir.join("platform/b.rs"),
        "use super::a::A; pub struct B(Box<A>);",
    )
    .unwrap();
    let graph = dependency_graph(&dir);
    let upward = upward_imports(&graph);
    let cycles = file_cycles(&graph.files);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(upward, vec!["platform → live (in src/platform/a.rs)"]);
    assert_eq!(
        cycles,
        vec![vec![
            "platform/a.rs".to_string(),
            "platform/b.rs".to_string()
        ]]
    );
}
