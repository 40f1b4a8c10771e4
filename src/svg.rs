//! The lineage graph drawn as SVG by modelseal itself (no Graphviz): nodes
//! in columns by their depth from the sources, left to right as in
//! `lineage --format dot`, each coloured by what was verified, with a
//! legend. All text is escaped for XML and for terminals' hidden
//! characters; long labels are cut, the whole kept in a `<title>`.

use crate::lineage::{Graph, GraphNode, NodeStatus};
use std::collections::HashMap;
use std::fmt::Write as _;

const NODE_W: usize = 230;
const NODE_H: usize = 58;
const COL_GAP: usize = 70;
const ROW_GAP: usize = 22;
const MARGIN: usize = 20;
const LEGEND_H: usize = 34;
/// Characters of a label line that fit in a node.
const LINE_CHARS: usize = 33;

/// The graph as a standalone `<svg>` element.
pub fn draw(graph: &Graph) -> String {
    let nodes = graph.unique_nodes();
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let edges: Vec<(usize, usize, &str)> = graph
        .edges
        .iter()
        .filter_map(|e| {
            Some((
                *index.get(e.from.as_str())?,
                *index.get(e.to.as_str())?,
                e.label,
            ))
        })
        .filter(|(a, b, _)| a != b)
        .collect();
    let column = columns(nodes.len(), &edges);
    let (place, rows) = rows_of(&column, &edges);
    let xy = |i: usize| {
        let (c, r) = place[i];
        (
            MARGIN + c * (NODE_W + COL_GAP),
            MARGIN + LEGEND_H + r * (NODE_H + ROW_GAP),
        )
    };
    let width = 2 * MARGIN + rows.len().max(1) * (NODE_W + COL_GAP) - COL_GAP;
    let height =
        2 * MARGIN + LEGEND_H + rows.iter().max().copied().unwrap_or(1).max(1) * (NODE_H + ROW_GAP);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" aria-label="lineage graph" width="100%" style="max-width:{width}px" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##
    );
    legend(&mut out);
    for &(a, b, label) in &edges {
        let (ax, ay) = xy(a);
        let (bx, by) = xy(b);
        let (x1, y1) = (ax + NODE_W, ay + NODE_H / 2);
        let (x2, y2) = (bx, by + NODE_H / 2);
        let bend = (x2 as i64 - x1 as i64).abs().max(40) / 2;
        let _ = write!(
            out,
            r##"<path class="edge" d="M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"><title>{}</title></path>"##,
            x1 as i64 + bend,
            x2 as i64 - bend,
            xml(label)
        );
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" font-size="9" fill="#333" text-anchor="middle">{}</text>"##,
            (x1 + x2) / 2,
            (y1 + y2) / 2 - 3,
            xml(label)
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        let (x, y) = xy(i);
        node_svg(&mut out, node, x, y);
    }
    out.push_str("</svg>");
    out
}

/// The column of each node: its longest distance from a source, found by
/// relaxing edges at most once per node, so a cycle in attacker-written
/// lineage cannot loop.
fn columns(count: usize, edges: &[(usize, usize, &str)]) -> Vec<usize> {
    let mut column = vec![0usize; count];
    for _ in 0..count {
        let mut changed = false;
        for &(a, b, _) in edges {
            if column[b] < column[a] + 1 && column[a] + 1 < count {
                column[b] = column[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    column
}

/// Each node's (column, row), and the rows of each column: a column is
/// ordered by the mean row of what feeds it, so edges cross less.
fn rows_of(column: &[usize], edges: &[(usize, usize, &str)]) -> (Vec<(usize, usize)>, Vec<usize>) {
    let columns = column.iter().max().map_or(0, |m| m + 1);
    let mut place = vec![(0usize, 0usize); column.len()];
    let rows: Vec<usize> = (0..columns)
        .map(|c| column.iter().filter(|&&x| x == c).count())
        .collect();
    for c in 0..columns {
        let mut members: Vec<(f64, usize)> = (0..column.len())
            .filter(|&i| column[i] == c)
            .map(|i| {
                let feeds: Vec<usize> = edges
                    .iter()
                    .filter(|(a, b, _)| *b == i && column[*a] < c)
                    .map(|(a, _, _)| place[*a].1)
                    .collect();
                let key = if feeds.is_empty() {
                    f64::MAX
                } else {
                    feeds.iter().sum::<usize>() as f64 / feeds.len() as f64
                };
                (key, i)
            })
            .collect();
        members.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for (row, (_, i)) in members.into_iter().enumerate() {
            place[i] = (c, row);
        }
    }
    (place, rows)
}

fn colours(status: NodeStatus) -> (&'static str, &'static str, &'static str) {
    // (stroke, fill, word)
    match status {
        NodeStatus::Verified => ("#1a7f37", "#e8f5ec", "verified"),
        NodeStatus::Failed => ("#cf222e", "#fdecec", "FAILED"),
        NodeStatus::Unchecked => ("#6e7781", "#f2f3f5", "unchecked"),
    }
}

fn legend(out: &mut String) {
    let mut x = MARGIN;
    for status in [
        NodeStatus::Verified,
        NodeStatus::Failed,
        NodeStatus::Unchecked,
    ] {
        let (stroke, fill, word) = colours(status);
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{MARGIN}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="2"/><text x="{}" y="{}" fill="#222">{word}</text>"##,
            x + 20,
            MARGIN + 11
        );
        x += 110;
    }
}

fn node_svg(out: &mut String, node: &GraphNode, x: usize, y: usize) {
    let (stroke, fill, word) = colours(node.status);
    let dash = if node.status == NodeStatus::Unchecked {
        r#" stroke-dasharray="4 3""#
    } else {
        ""
    };
    let title = format!("{}\n{}: {}", node.label, word, node.detail);
    let _ = write!(
        out,
        r##"<g class="node {}" data-id="{}"><title>{}</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="2"{dash}/>"##,
        word.to_lowercase(),
        xml(&node.id),
        xml(&title)
    );
    let mut lines: Vec<String> = node.label.lines().take(2).map(cut).collect();
    lines.push(cut(&format!("{word}: {}", node.detail)));
    for (i, line) in lines.iter().enumerate() {
        let (weight, colour) = if i + 1 == lines.len() {
            ("normal", stroke)
        } else {
            (if i == 0 { "bold" } else { "normal" }, "#111")
        };
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" font-weight="{weight}" fill="{colour}">{}</text>"##,
            x + 10,
            y + 17 + i * 15,
            xml(line)
        );
    }
    out.push_str("</g>");
}

/// A label line cut to fit the node.
fn cut(line: &str) -> String {
    if line.chars().count() <= LINE_CHARS {
        return line.to_string();
    }
    let mut s: String = line.chars().take(LINE_CHARS - 1).collect();
    s.push('…');
    s
}

/// Text made safe inside SVG/HTML: hidden characters shown, markup escaped.
pub fn xml(text: &str) -> String {
    let shown = crate::escape::block(text);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineage::{GraphEdge, GraphNode};

    fn node(id: &str, label: &str) -> GraphNode {
        GraphNode {
            id: id.into(),
            label: label.into(),
            shape: "box",
            status: NodeStatus::Verified,
            detail: "ok".into(),
        }
    }

    #[test]
    fn a_cycle_terminates_and_markup_in_labels_is_escaped() {
        let graph = Graph {
            nodes: vec![
                node("a", "<script>alert(1)</script>"),
                node("b", "b & \u{1b}[8m"),
            ],
            edges: vec![
                GraphEdge {
                    from: "a".into(),
                    to: "b".into(),
                    label: "x",
                },
                GraphEdge {
                    from: "b".into(),
                    to: "a".into(),
                    label: "y",
                },
            ],
        };
        let svg = draw(&graph);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(!svg.contains('\u{1b}') && svg.contains("b &amp; \\u{1b}[8m"));
    }

    #[test]
    fn sources_are_left_of_what_they_feed() {
        let graph = Graph {
            nodes: vec![node("model", "m"), node("train", "t"), node("data", "d")],
            edges: vec![
                GraphEdge {
                    from: "data".into(),
                    to: "train".into(),
                    label: "trained on",
                },
                GraphEdge {
                    from: "train".into(),
                    to: "model".into(),
                    label: "produced",
                },
            ],
        };
        let cols = columns(3, &[(2, 1, ""), (1, 0, "")]);
        assert_eq!(cols, vec![2, 1, 0]);
        assert_eq!(draw(&graph).matches("class=\"node verified\"").count(), 3);
    }
}
