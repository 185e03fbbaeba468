//! The layering the README promises, checked from the code itself: every `crate::`, `super::`,
//! `self::` and relative (`child::X`) path in the app crate's `src/` is resolved to the file that
//! defines what it names, following `pub use` re-exports to their source. A module may only use the
//! layers the table below allows (data flows one way), and no two files may depend on each other
//! in a cycle, a `mod.rs` and its own children included (a facade's `mod` and `pub use` lines are
//! declarations, not uses). Test-only code (`#[cfg(test)]` items) is left out: a test may reach
//! anywhere. The platform's models and the mock are crates of their own: the compiler keeps those
//! boundaries (the mock cannot see the app).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The top-level modules and what each may use. Anything not listed is an upward or sideways edge.
const ALLOWED: &[(&str, &[&str])] = &[
    ("text", &[]),
    ("logging", &[]),
    ("platform", &["text"]),
    ("config", &["text", "platform"]),
    ("live", &["text"]),
    ("feed", &["config", "platform", "live", "text"]),
    ("kick", &["config", "platform", "live", "text"]),
    ("tui", &["config", "live", "kick", "feed", "text"]),
    (
        "console",
        &["config", "platform", "live", "feed", "kick", "tui", "text"],
    ),
    (
        "cli",
        &[
            "config", "platform", "live", "feed", "kick", "console", "text", "logging",
        ],
    ),
    ("lib", &[]),
    ("main", &["cli", "console", "config", "logging", "text"]),
];

/// Edges against the layering accepted as known debt, as `upward_imports` prints them. Empty:
/// the last (`tui → platform` through `feed`'s re-exports of the rate budget and the signed-out
/// text) ended when `feed` gave the screen its own `RateFigures` and a typed `AuthProblem`.
const KNOWN_UPWARD: &[&str] = &[];

/// File cycles accepted as known debt: each found cycle must lie inside one of these groups, so no
/// new cycle can appear, and each group must still hold a cycle, so the list only shrinks. Empty:
/// no file cycles at all (the last, `tui/app/mod.rs` ⇄ `rows.rs`, ended when the row cache
/// stopped reaching into `App`).
const KNOWN_CYCLES: &[&[&str]] = &[];

struct SourceFile {
    path: PathBuf,
    /// Module path within the crate (`["kick", "machine"]`); empty for `lib.rs` and `main.rs`.
    module: Vec<String>,
    /// Whether `self::` points below this file (a `mod.rs`, `lib.rs` or `main.rs`).
    is_dir_module: bool,
}

impl SourceFile {
    /// The directory of this file's child modules.
    fn children_dir(&self) -> PathBuf {
        if self.is_dir_module {
            self.path
                .parent()
                .expect("a file has a directory")
                .to_path_buf()
        } else {
            self.path.with_extension("")
        }
    }
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

/// Collects every path in a file (the ones into this crate are picked later), and what the file
/// re-exports: `pub use` lines are declarations, followed to their source, not uses.
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
    /// Re-exported name → the path it comes from, as written.
    reexports: BTreeMap<String, Vec<String>>,
    /// Whether the paths being collected are a `pub use`'s.
    in_reexport: bool,
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
            syn::UseTree::Rename(r) => {
                self.push_as(prefix, &r.ident.to_string(), &r.rename.to_string())
            }
            // A glob names nothing in particular: a use of the module, never a re-export to follow.
            syn::UseTree::Glob(_) => self.paths.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }

    fn push_with(&mut self, prefix: &[String], last: &str) {
        self.push_as(prefix, last, last);
    }

    fn push_as(&mut self, prefix: &[String], last: &str, name: &str) {
        let mut path = prefix.to_vec();
        if last != "self" {
            path.push(last.to_string());
        }
        if self.in_reexport {
            let name = if name == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                name.to_string()
            };
            self.reexports.insert(name, path);
        } else {
            self.paths.push(path);
        }
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
            self.in_reexport = !matches!(u.vis, syn::Visibility::Inherited);
            self.use_tree(&mut Vec::new(), &u.tree);
            self.in_reexport = false;
            return;
        }
        syn::visit::visit_item(self, item);
    }

    /// `pub(super)` and `pub(in path)` say who may see an item: not a use.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

/// The modules a file declares (`mod name;` or inline), test-only ones left out.
fn child_modules(ast: &syn::File) -> BTreeSet<String> {
    ast.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if !is_test_only(&m.attrs) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// Turns a path as written in `file` (which declares `children`) into an absolute module path,
/// or `None` for paths that do not point into this crate (std, other crates, local names).
fn absolute(
    file: &SourceFile,
    children: &BTreeSet<String>,
    path: &[String],
) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" | "confwatch" => Vec::new(),
        "self" => file.module.clone(),
        "super" => {
            let mut parent = file.module.clone();
            parent.pop();
            parent
        }
        // `child::X`: relative to this file (one segment alone may be a local name).
        name if children.contains(name) && !rest.is_empty() => {
            let mut own = file.module.clone();
            own.push(name.to_string());
            own
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

/// A file, the modules it declares, and what it re-exports (name → path as written).
type ParsedFile = (SourceFile, BTreeSet<String>, BTreeMap<String, Vec<String>>);

/// The file that defines the longest prefix of `module_path`, and that prefix's length.
fn file_of(src: &Path, module_path: &[String]) -> (PathBuf, usize) {
    for len in (1..=module_path.len()).rev() {
        let joined: PathBuf = module_path[..len].iter().collect();
        for candidate in [
            src.join(&joined).with_extension("rs"),
            src.join(&joined).join("mod.rs"),
        ] {
            if candidate.is_file() {
                return (candidate, len);
            }
        }
    }
    (src.join("lib.rs"), 0)
}

/// The file that defines what `module_path` names: a name a file re-exports (`pub use`) is
/// followed to its source, so a path through a facade counts as a use of what lies behind it.
/// `None` when it leads out of the crate (a re-exported crate).
fn resolve(
    src: &Path,
    files: &BTreeMap<PathBuf, ParsedFile>,
    module_path: &[String],
) -> Option<PathBuf> {
    let mut path = module_path.to_vec();
    // Each step follows one re-export; a bound, since re-exports may point in a circle.
    for _ in 0..16 {
        let (file, len) = file_of(src, &path);
        let Some((source, children, reexports)) = files.get(&file) else {
            return Some(file);
        };
        let Some(from) = path.get(len).and_then(|name| reexports.get(name)) else {
            return Some(file);
        };
        let mut next = absolute(source, children, from)?;
        next.extend(path[len + 1..].iter().cloned());
        path = next;
    }
    Some(file_of(src, &path).0)
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
    let dir = file.children_dir();
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
    let mut files = BTreeMap::new();
    let mut uses_of = Vec::new();
    for (file, ast) in parsed {
        if tests.contains(&file.path) {
            continue;
        }
        let mut collector = PathCollector::default();
        collector.visit_file(&ast);
        uses_of.push((file.path.clone(), collector.paths));
        files.insert(
            file.path.clone(),
            (file, child_modules(&ast), collector.reexports),
        );
    }
    for (path, paths) in uses_of {
        let (file, children, reexports) = &files[&path];
        let from_name = file.path.strip_prefix(src).unwrap().display().to_string();
        let from_top = top_module(src, &file.path);
        let uses = graph.files.entry(from_name.clone()).or_default();
        let reexported = reexports.values().map(|path| (path, true));
        for (path, is_reexport) in paths.iter().map(|path| (path, false)).chain(reexported) {
            let Some(abs) = absolute(file, children, path) else {
                continue;
            };
            let Some(target) = resolve(src, &files, &abs) else {
                continue;
            };
            if target == file.path {
                continue;
            }
            // Re-exporting its own children is what a facade declares, not a use of them.
            if is_reexport && target.starts_with(file.children_dir()) {
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
    let upward: Vec<String> = upward_imports(&graph)
        .into_iter()
        .filter(|edge| !KNOWN_UPWARD.contains(&edge.as_str()))
        .collect();
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

/// The checker itself: a `mod.rs` and its child that use each other (through a relative
/// `child::X` path) are a cycle, and a path through a facade's `pub use` counts as a use of what
/// it re-exports; a facade that only re-exports its child, which uses the facade's re-export of
/// another layer, is neither.
#[test]
fn the_checks_catch_a_parent_child_cycle_and_an_import_through_a_reexport() {
    let dir = crate::common::temp_dir("arch-reexport");
    for module in ["platform", "live", "feed", "tui"] {
        std::fs::create_dir_all(dir.join(module)).unwrap();
    }
    let files = [
        (
            "lib.rs",
            "pub mod platform; pub mod live; pub mod feed; pub mod tui;",
        ),
        ("platform/mod.rs", "pub struct Budget;"),
        // A parent and its child using each other.
        (
            "live/mod.rs",
            "mod rows; use rows::Row; pub struct Model(Row);",
        ),
        (
            "live/rows.rs",
            "use super::Model; pub struct Row; fn f(_: &Model) {}",
        ),
        // A pure facade, and a child that reaches a sibling layer through it.
        (
            "feed/mod.rs",
            "mod status; pub use status::Event; pub use crate::platform::Budget;",
        ),
        (
            "feed/status.rs",
            "use super::Budget; pub struct Event(Budget);",
        ),
        // `tui` may use `feed`, not `platform`: a path through feed's re-export is caught.
        (
            "tui/mod.rs",
            "use crate::feed::{Budget, Event}; pub struct App(Budget, Event);",
        ),
    ];
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let graph = dependency_graph(&dir);
    let upward = upward_imports(&graph);
    let cycles = file_cycles(&graph.files);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(upward, vec!["tui → platform (in src/tui/mod.rs)"]);
    assert_eq!(
        cycles,
        vec![vec!["live/mod.rs".to_string(), "live/rows.rs".to_string()]]
    );
}
