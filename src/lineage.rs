//! The lineage view: the graph behind the weights, drawn as a text tree, as
//! JSON, or as Graphviz DOT, each node marked with what was verified.

use crate::problem::{Problem, ProblemKind};
use crate::signature::short_keyid;
use crate::trace::{DatasetView, FileRef, TrainingView, UpstreamOutcome};
use crate::trust::SignatureStatus;
use crate::verify::Report;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

/// How a node fared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mark {
    Ok(String),
    Bad(String),
    Unchecked(String),
}

impl Mark {
    fn text(&self) -> String {
        match self {
            Mark::Ok(s) => format!("[ok: {s}]"),
            Mark::Bad(s) => format!("[FAIL: {s}]"),
            Mark::Unchecked(s) => format!("[unchecked: {s}]"),
        }
    }
}

fn short(d: &Option<crate::digest::Sha256Digest>) -> String {
    d.map(|d| format!("sha256:{}…", &d.to_hex()[..12]))
        .unwrap_or_else(|| "not listed".into())
}

/// The report's problems, upstreams and datasets, looked up by path or id.
struct Index<'a> {
    report: &'a Report,
    problems: HashMap<&'a str, Vec<&'a Problem>>,
    upstreams: HashMap<&'a str, Vec<&'a UpstreamOutcome>>,
    datasets: HashMap<&'a str, &'a DatasetView>,
    outputs: HashMap<&'a str, &'a FileRef>,
}

impl<'a> Index<'a> {
    fn new(report: &'a Report) -> Self {
        let mut problems: HashMap<&str, Vec<&Problem>> = HashMap::new();
        for p in &report.problems {
            problems.entry(p.path.as_str()).or_default().push(p);
        }
        let mut upstreams: HashMap<&str, Vec<&UpstreamOutcome>> = HashMap::new();
        for up in &report.lineage.upstreams {
            upstreams.entry(up.path.as_str()).or_default().push(up);
        }
        let mut datasets = HashMap::new();
        for d in &report.lineage.datasets {
            datasets.entry(d.id.as_str()).or_insert(d);
        }
        let mut outputs = HashMap::new();
        for o in report.lineage.trainings.iter().flat_map(|t| &t.outputs) {
            outputs.entry(o.path.as_str()).or_insert(o);
        }
        Index {
            report,
            problems,
            upstreams,
            datasets,
            outputs,
        }
    }

    fn problems_at(&self, path: &str) -> &[&'a Problem] {
        self.problems.get(path).map_or(&[], Vec::as_slice)
    }
}

fn kinds_of(problems: &[&Problem]) -> String {
    let kinds: BTreeSet<&str> = problems.iter().map(|p| p.kind.as_str()).collect();
    kinds.into_iter().collect::<Vec<_>>().join(", ")
}

fn file_mark(ix: &Index<'_>, file: &FileRef) -> Mark {
    let found = ix.problems_at(&file.path);
    if file.sha256.is_none() {
        return Mark::Bad("not a listed file".into());
    }
    if found.is_empty() {
        Mark::Ok(format!("{} verified", short(&file.sha256)))
    } else {
        Mark::Bad(kinds_of(found))
    }
}

/// An upstream manifest is shown as chained only when every reference to it
/// holds and no problem names it: a second reference with a wrong name or
/// digest fails the node.
fn upstream_mark(ix: &Index<'_>, path: &str) -> Mark {
    let outcomes = ix.upstreams.get(path).map_or(&[][..], Vec::as_slice);
    let Some(first) = outcomes.first() else {
        return if ix.report.lineage.chained.is_none() {
            Mark::Unchecked("signatures not checked; pass --key or --trust".into())
        } else {
            Mark::Bad("not followed".into())
        };
    };
    let signers = signers(first);
    let problems = ix.problems_at(path);
    if outcomes.iter().all(|u| u.chained) && problems.is_empty() {
        Mark::Ok(format!(
            "{}, signed by {signers}, chained",
            short(&first.sha256)
        ))
    } else {
        let why = if problems.is_empty() {
            "not chained".to_string()
        } else {
            kinds_of(problems)
        };
        Mark::Bad(format!("{why}; signed by {signers}"))
    }
}

fn signers(up: &UpstreamOutcome) -> String {
    let valid: Vec<String> = up
        .signatures
        .iter()
        .filter(|s| s.status == SignatureStatus::Valid)
        .map(|s| s.key_name.clone().unwrap_or_else(|| short_keyid(&s.keyid)))
        .collect();
    if valid.is_empty() {
        "no trusted key".into()
    } else {
        valid.join(", ")
    }
}

fn weights_mark(ix: &Index<'_>, path: &str) -> Mark {
    let untraced = ix
        .problems_at(path)
        .iter()
        .any(|p| p.kind == ProblemKind::UntracedWeights);
    let file = FileRef {
        path: path.into(),
        sha256: ix.outputs.get(path).and_then(|o| o.sha256),
    };
    match (file_mark(ix, &file), untraced) {
        (Mark::Ok(s), false) => Mark::Ok(s),
        (Mark::Ok(_), true) => Mark::Bad("untraced_weights".into()),
        (m, _) => m,
    }
}

/// The lineage as a text tree.
pub fn to_text(report: &Report) -> String {
    let ix = Index::new(report);
    let mut out = String::new();
    let l = &report.lineage;
    let verdict = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not checked",
    };
    let _ = writeln!(
        out,
        "{} {} ({}): traced {}, chained {}",
        report.model.name,
        report.model.version,
        report.model.kind,
        verdict(l.traced),
        verdict(l.chained)
    );
    if l.trainings.is_empty() && l.datasets.is_empty() {
        let _ = writeln!(out, "(no lineage recorded: see `modelseal trace --help`)");
    }
    for t in &l.trainings {
        let _ = writeln!(out, "training {}", t.id);
        write_tree(&mut out, training_lines(&ix, t));
    }
    for p in report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::UntracedWeights)
    {
        let _ = writeln!(out, "untraced: {}: {}", p.path, p.message);
    }
    // The tree is laid out here, but names and paths in it are attacker text.
    crate::escape::block(&out).into_owned()
}

/// A tree line and the lines below it.
type TreeLine = (String, Vec<String>);

/// The lines under a training run: outputs, configs, datasets, code, base model.
fn training_lines(ix: &Index<'_>, t: &TrainingView) -> Vec<TreeLine> {
    let mut lines: Vec<TreeLine> = Vec::new();
    for o in &t.outputs {
        let mark = weights_mark(ix, &o.path).text();
        lines.push((format!("output {}  {mark}", o.path), vec![]));
    }
    for c in &t.configs {
        lines.push((
            format!("config {}  {}", c.path, file_mark(ix, c).text()),
            vec![],
        ));
    }
    for id in &t.datasets {
        lines.push(match ix.datasets.get(id.as_str()) {
            None => (
                format!("dataset {id}  [FAIL: no [[dataset]] with this id]"),
                vec![],
            ),
            Some(d) => dataset_lines(ix, d),
        });
    }
    lines.push(match &t.code {
        Some(code) => (format!("code {} @ {}", code.uri, code.commit), vec![]),
        None => ("code  [FAIL: no commit recorded]".into(), vec![]),
    });
    if let Some(b) = &t.base_model {
        let mut children = Vec::new();
        if let Some(sha) = b.sha256 {
            children.push(format!("recorded sha256 {sha}"));
        }
        match &b.manifest {
            Some(m) => {
                children.push(format!("manifest {m}  {}", upstream_mark(ix, m).text()));
                children.extend(nested_upstreams(ix, m, 1));
            }
            None => children.push("manifest  [none: level 3 needs one]".into()),
        }
        lines.push((format!("base model {}", b.name), children));
    }
    lines
}

/// A dataset's line, with its files, digest and manifest below it.
fn dataset_lines(ix: &Index<'_>, d: &DatasetView) -> TreeLine {
    let mut children: Vec<String> = d
        .files
        .iter()
        .map(|f| format!("file {}  {}", f.path, file_mark(ix, f).text()))
        .collect();
    if let Some(sha) = d.sha256 {
        children.push(format!("published sha256 {sha}"));
    }
    if let Some(m) = &d.manifest {
        children.push(format!(
            "manifest {}  {}",
            m.path,
            upstream_mark(ix, &m.path).text()
        ));
        children.extend(nested_upstreams(ix, &m.path, 1));
    }
    let name = d
        .name
        .as_deref()
        .map(|n| format!(" \"{n}\""))
        .unwrap_or_default();
    (format!("dataset {}{name}", d.id), children)
}

/// Writes lines as a two-level tree with box-drawing branches.
fn write_tree(out: &mut String, lines: Vec<TreeLine>) {
    let count = lines.len();
    for (i, (line, children)) in lines.into_iter().enumerate() {
        let last = i + 1 == count;
        let _ = writeln!(out, "{}{line}", if last { "└── " } else { "├── " });
        let cn = children.len();
        for (j, child) in children.into_iter().enumerate() {
            let _ = writeln!(
                out,
                "{}{}{child}",
                if last { "    " } else { "│   " },
                if j + 1 == cn {
                    "└── "
                } else {
                    "├── "
                }
            );
        }
    }
}

/// Lines for the upstream manifests that `origin` refers to, recursively.
fn nested_upstreams(ix: &Index<'_>, origin: &str, depth: usize) -> Vec<String> {
    if depth > 16 {
        return Vec::new();
    }
    let mut lines = Vec::new();
    for up in ix
        .report
        .lineage
        .upstreams
        .iter()
        .filter(|u| u.referenced_by == origin)
    {
        lines.push(format!(
            "{}↳ {} {}: manifest {}  {}",
            "  ".repeat(depth - 1),
            up.role.replace('_', " "),
            up.name,
            up.path,
            upstream_mark(ix, &up.path).text()
        ));
        lines.extend(nested_upstreams(ix, &up.path, depth + 1));
    }
    lines
}

fn dot_escape(s: &str) -> String {
    crate::escape::block(s)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// How a node of the lineage graph fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    /// Verified.
    Verified,
    /// A check failed.
    Failed,
    /// Not checked (no policy given).
    Unchecked,
}

/// One node of the lineage graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// Unique id (`file:PATH`, `dataset:ID`, `training:ID`, …).
    pub id: String,
    /// What it is, for people (may hold a newline).
    pub label: String,
    /// Its Graphviz shape.
    pub shape: &'static str,
    /// How it fared.
    pub status: NodeStatus,
    /// Why, in words.
    pub detail: String,
}

/// One edge of the lineage graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEdge {
    /// The id of the node it leaves.
    pub from: String,
    /// The id of the node it enters.
    pub to: String,
    /// What it means.
    pub label: &'static str,
}

/// The lineage graph, as `lineage --format dot` and the audit report draw
/// it. A node may be given twice (a file that is a config and a dataset
/// file); its last entry wins, as in Graphviz.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Nodes, in the order they were met.
    pub nodes: Vec<GraphNode>,
    /// Edges, in the order they were met.
    pub edges: Vec<GraphEdge>,
}

impl Graph {
    /// Each node once, its last entry kept, in the order first met.
    pub fn unique_nodes(&self) -> Vec<&GraphNode> {
        let mut last: HashMap<&str, &GraphNode> = HashMap::new();
        let mut order = Vec::new();
        for n in &self.nodes {
            if last.insert(n.id.as_str(), n).is_none() {
                order.push(n.id.as_str());
            }
        }
        order
            .into_iter()
            .filter_map(|id| last.get(id).copied())
            .collect()
    }
}

/// The lineage graph being built from a report.
struct Builder<'a> {
    ix: Index<'a>,
    graph: Graph,
}

impl<'a> Builder<'a> {
    fn node(&mut self, id: &str, label: &str, shape: &'static str, mark: &Mark) {
        let (status, detail) = match mark {
            Mark::Ok(s) => (NodeStatus::Verified, s),
            Mark::Bad(s) => (NodeStatus::Failed, s),
            Mark::Unchecked(s) => (NodeStatus::Unchecked, s),
        };
        self.graph.nodes.push(GraphNode {
            id: id.to_string(),
            label: label.to_string(),
            shape,
            status,
            detail: detail.clone(),
        });
    }

    fn edge(&mut self, from: String, to: String, label: &'static str) {
        self.graph.edges.push(GraphEdge { from, to, label });
    }

    /// A training run with its outputs, configs, code and base model.
    fn training(&mut self, t: &TrainingView, model_id: &str) {
        let model_id = model_id.to_string();
        let tid = format!("training:{}", t.id);
        let traced = !t.outputs.iter().any(|o| {
            self.ix
                .problems_at(&o.path)
                .iter()
                .any(|p| p.kind == ProblemKind::UntracedWeights)
        });
        let tmark = match self.ix.report.lineage.traced {
            None => Mark::Unchecked("lineage".into()),
            Some(_) if traced => Mark::Ok("training run".into()),
            Some(_) => Mark::Bad("incomplete".into()),
        };
        self.node(&tid, &format!("training {}", t.id), "ellipse", &tmark);
        for o in &t.outputs {
            let id = format!("file:{}", o.path);
            self.node(&id, &o.path, "box", &weights_mark(&self.ix, &o.path));
            self.edge(tid.clone(), id.clone(), "produced");
            self.edge(id, model_id.clone(), "part of");
        }
        for c in &t.configs {
            let id = format!("file:{}", c.path);
            self.node(&id, &c.path, "note", &file_mark(&self.ix, c));
            self.edge(id, tid.clone(), "config");
        }
        for ds in &t.datasets {
            self.edge(format!("dataset:{ds}"), tid.clone(), "trained on");
        }
        if let Some(code) = &t.code {
            let id = format!("code:{}@{}", code.uri, code.commit);
            self.node(
                &id,
                &format!("{}\n@{}", code.uri, code.commit.short()),
                "component",
                &Mark::Ok("commit recorded".into()),
            );
            self.edge(id, tid.clone(), "code");
        }
        if let Some(b) = &t.base_model {
            let id = format!("base:{}", b.name);
            let mark = match &b.manifest {
                Some(m) => upstream_mark(&self.ix, m),
                None => Mark::Bad("no manifest".into()),
            };
            self.node(&id, &format!("base model {}", b.name), "box3d", &mark);
            self.edge(id, tid.clone(), "fine-tuned from");
        }
    }

    /// A dataset with its files.
    fn dataset(&mut self, d: &DatasetView) {
        let id = format!("dataset:{}", d.id);
        let mark = match &d.manifest {
            Some(m) => upstream_mark(&self.ix, &m.path),
            None if !d.files.is_empty() || d.sha256.is_some() => {
                Mark::Ok("files or digest recorded".into())
            }
            None => Mark::Bad("no files, digest or manifest".into()),
        };
        let label = match &d.name {
            Some(n) => format!("dataset {}\n{n}", d.id),
            None => format!("dataset {}", d.id),
        };
        self.node(&id, &label, "cylinder", &mark);
        for f in &d.files {
            let fid = format!("file:{}", f.path);
            self.node(&fid, &f.path, "box", &file_mark(&self.ix, f));
            self.edge(fid, id.clone(), "holds");
        }
    }

    /// Every upstream manifest, linked to what referenced it.
    fn upstreams(&mut self) {
        let l = &self.ix.report.lineage;
        // Which node of this model each of its own upstream manifests belongs to.
        let mut root_targets: HashMap<(&str, &str), String> = HashMap::new();
        for b in l.trainings.iter().filter_map(|t| t.base_model.as_ref()) {
            if let Some(m) = &b.manifest {
                root_targets
                    .entry(("base_model", m.as_str()))
                    .or_insert_with(|| format!("base:{}", b.name));
            }
        }
        for d in &l.datasets {
            if let Some(m) = &d.manifest {
                root_targets
                    .entry(("dataset", m.path.as_str()))
                    .or_insert_with(|| format!("dataset:{}", d.id));
            }
        }
        for up in &l.upstreams {
            let id = format!("manifest:{}", up.path);
            self.node(
                &id,
                &format!("{} manifest\n{}", up.role.replace('_', " "), up.path),
                "folder",
                &upstream_mark(&self.ix, &up.path),
            );
            let target = if up.referenced_by == crate::MANIFEST_FILE {
                root_targets.get(&(up.role, up.path.as_str())).cloned()
            } else {
                Some(format!("manifest:{}", up.referenced_by))
            };
            if let Some(target) = target {
                self.edge(id, target, "signed manifest");
            }
        }
    }

    fn finish(self) -> Graph {
        self.graph
    }
}

fn colour(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Verified => "darkgreen",
        NodeStatus::Failed => "red",
        NodeStatus::Unchecked => "gray40",
    }
}

/// The lineage as a Graphviz digraph (`dot -Tsvg`).
pub fn to_dot(report: &Report) -> String {
    let graph = graph(report);
    let mut out = String::from(
        "digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for n in &graph.nodes {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\", shape={}, color={}, fontcolor={}];",
            dot_escape(&n.id),
            dot_escape(&n.label),
            dot_escape(&n.detail),
            n.shape,
            colour(n.status),
            colour(n.status)
        );
    }
    for e in &graph.edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\", fontsize=8];",
            dot_escape(&e.from),
            dot_escape(&e.to),
            e.label
        );
    }
    out.push_str("}\n");
    out
}

/// The lineage graph of a report: the model, its training runs, their
/// outputs, configs, code and base model, the datasets and their files, and
/// every upstream manifest followed, each marked with what was verified.
pub fn graph(report: &Report) -> Graph {
    let mut dot = Builder {
        ix: Index::new(report),
        graph: Graph::default(),
    };
    let model_id = format!("model:{}", report.model.name);
    let model_mark = match report.reached {
        Some(level) => Mark::Ok(format!("level {level} reached")),
        None => Mark::Bad("level 0 does not hold".into()),
    };
    dot.node(
        &model_id,
        &format!("{} {}", report.model.name, report.model.version),
        "doubleoctagon",
        &model_mark,
    );
    for t in &report.lineage.trainings {
        dot.training(t, &model_id);
    }
    for d in &report.lineage.datasets {
        dot.dataset(d);
    }
    dot.upstreams();
    dot.finish()
}
