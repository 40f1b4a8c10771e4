//! Whether a GGUF chat template (Jinja2) is safe to render outside a
//! sandbox. llama-cpp-python rendered templates in a plain
//! `jinja2.Environment` (CVE-2024-34359), where `x.__class__.__mro__`,
//! `lipsum.__globals__` or `cycler.__init__.__globals__` reach `os` and run
//! commands. This check tokenises the template as Jinja2 does and allows
//! only what real chat templates use: names without a leading underscore,
//! attributes and string subscripts from a safe set (plus the template's
//! own `namespace` fields), and the filters, tests, functions and
//! statements of that set. A subscript whose key is built from strings at
//! render time (`x[a ~ b]`, or a variable set that way) is refused, since
//! Jinja2 falls back from `x[key]` to `getattr(x, key)`.
//!
//! Not followed: strings passed through macro arguments or dict literals
//! and used as keys inside the macro; such a key is still a plain name, and
//! any underscore-led name or literal containing `__` is refused wherever
//! it appears.

use std::collections::HashSet;

use super::{ContentProblem, ContentProblemKind};

mod lexer;
mod safe;

use lexer::{Tag, TagKind, Token, TokenKind};

/// The longest template checked; real chat templates are under 100 KiB.
pub const MAX_TEMPLATE_BYTES: u64 = 1 << 20;
/// How deeply brackets may nest inside one tag.
const MAX_NESTING: usize = 64;
/// Most problems reported for one template.
const MAX_PROBLEMS: usize = 20;

/// Checks the template stored under `name` (a GGUF metadata key), given as
/// bytes: one that is not UTF-8 cannot be checked.
pub fn check_bytes(name: &str, template: &[u8]) -> Vec<ContentProblem> {
    match std::str::from_utf8(template) {
        Ok(text) => check(name, text),
        Err(e) => vec![unsafe_template(
            name,
            format!(
                "is not UTF-8 (at byte {}), so it cannot be checked",
                e.valid_up_to()
            ),
        )],
    }
}

/// Checks the template stored under `name`: every construct outside the
/// safe set is one [`ContentProblemKind::UnsafeGgufTemplate`], naming the
/// construct and its line and column. A template that cannot be tokenised
/// is one problem saying it cannot be checked.
pub fn check(name: &str, template: &str) -> Vec<ContentProblem> {
    if template.len() as u64 > MAX_TEMPLATE_BYTES {
        return vec![unsafe_template(
            name,
            format!("is over {MAX_TEMPLATE_BYTES} bytes, so it cannot be checked"),
        )];
    }
    let tags = match lexer::tags(template) {
        Ok(tags) => tags,
        Err(e) => {
            let (line, column) = line_column(template, e.at);
            return vec![unsafe_template(
                name,
                format!(
                    "cannot be checked: {} at line {line}, column {column}",
                    e.what
                ),
            )];
        }
    };
    let scope = Scope::collect(&tags);
    let mut findings = Findings::default();
    for tag in &tags {
        check_tag(tag, &scope, &mut findings);
    }
    findings.into_problems(name, template)
}

fn unsafe_template(name: &str, what: String) -> ContentProblem {
    ContentProblem {
        kind: ContentProblemKind::UnsafeGgufTemplate,
        message: format!("chat template {name:?} {what}"),
    }
}

/// The 1-based line and column (in characters) of byte `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// What was found, by byte position.
#[derive(Default)]
struct Findings {
    found: Vec<(usize, String)>,
    dropped: usize,
}

impl Findings {
    fn push(&mut self, at: usize, what: String) {
        if self.found.len() < MAX_PROBLEMS {
            self.found.push((at, what));
        } else {
            self.dropped += 1;
        }
    }

    fn into_problems(self, name: &str, template: &str) -> Vec<ContentProblem> {
        let mut problems: Vec<ContentProblem> = self
            .found
            .into_iter()
            .map(|(at, what)| {
                let (line, column) = line_column(template, at);
                unsafe_template(name, format!("uses {what} at line {line}, column {column}"))
            })
            .collect();
        if self.dropped > 0 {
            problems.push(unsafe_template(
                name,
                format!("has {} more constructs like these", self.dropped),
            ));
        }
        problems
    }
}

/// What the whole template declares, gathered before checking: macros it
/// may call, `namespace` fields it may read, and the variables whose values
/// are strings built at render time.
#[derive(Default)]
struct Scope {
    macros: HashSet<String>,
    fields: HashSet<String>,
    built_strings: HashSet<String>,
}

impl Scope {
    fn collect(tags: &[Tag]) -> Scope {
        let mut scope = Scope::default();
        for tag in tags {
            scope.declare(tag);
        }
        // A variable set from one set from built strings is built too:
        // follow such chains a few steps.
        for _ in 0..8 {
            let before = scope.built_strings.len();
            for tag in tags {
                scope.mark_built_strings(tag);
            }
            if scope.built_strings.len() == before {
                break;
            }
        }
        scope
    }

    /// Macros, and `namespace(field=...)` / `set ns.field = ...` fields.
    fn declare(&mut self, tag: &Tag) {
        let tokens = tag.tokens.as_slice();
        // Nested namespace calls would each be scanned to their end; a tag
        // nested that deep is refused by the check anyway.
        if nesting(tokens) > MAX_NESTING {
            return;
        }
        if tag.kind == TagKind::Block
            && let [first, second, ..] = tokens
            && first.is_name("macro")
            && let Some(name) = second.name()
        {
            self.macros.insert(name.to_owned());
        }
        for (i, token) in tokens.iter().enumerate() {
            if token.is_name("namespace") && next_is(tokens, i, "(") {
                self.declare_namespace_fields(&tokens[i + 1..]);
            }
        }
        if let Some((target, _)) = set_target(tag)
            && let Some((_, field)) = target.split_once('.')
        {
            self.fields.insert(field.to_owned());
        }
    }

    /// The keyword names in `namespace(a=..., b=...)`, from its `(` on.
    fn declare_namespace_fields(&mut self, from_paren: &[Token]) {
        let mut depth = 0usize;
        for (i, token) in from_paren.iter().enumerate() {
            match &token.kind {
                TokenKind::Op(op) if matches!(*op, "(" | "[" | "{") => depth += 1,
                TokenKind::Op(op) if matches!(*op, ")" | "]" | "}") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                TokenKind::Name(name) if depth == 1 && next_is(from_paren, i, "=") => {
                    self.fields.insert(name.clone());
                }
                _ => {}
            }
        }
    }

    /// `set x = <built string>`, `{% set x %}...`, `for x in <built strings>`.
    fn mark_built_strings(&mut self, tag: &Tag) {
        if let Some((target, value)) = set_target(tag) {
            // A block set captures rendered text: a built string. A
            // namespace is an object, whatever its fields start as.
            let namespace =
                value.is_some_and(|v| v.first().is_some_and(|t| t.is_name("namespace")));
            if !namespace && value.is_none_or(|value| self.builds_strings(value)) {
                self.built_strings.insert(target);
            }
            return;
        }
        if let Some((targets, iterable)) = for_targets(tag)
            && self.builds_strings(iterable)
        {
            self.built_strings.extend(targets);
        }
    }

    /// Whether an expression may evaluate to a string made at render time:
    /// it joins (`~`), holds a string literal that is not itself a
    /// subscript key, applies a string-making filter or method, calls a
    /// macro, or reads a variable already known to hold such a string.
    fn builds_strings(&self, tokens: &[Token]) -> bool {
        tokens
            .iter()
            .enumerate()
            .any(|(i, token)| match &token.kind {
                TokenKind::Op("~") => true,
                TokenKind::Str(_) => !is_lone_subscript_key(tokens, i),
                TokenKind::Name(name) => {
                    let previous = i.checked_sub(1).and_then(|p| tokens.get(p));
                    let after_dot = previous.is_some_and(|p| p.is_op("."));
                    let after_bar = previous.is_some_and(|p| p.is_op("|"));
                    let called = next_is(tokens, i, "(");
                    if after_bar {
                        !safe::NUMERIC_FILTERS.contains(&name.as_str())
                    } else if after_dot {
                        called && !safe::DATA_METHODS.contains(&name.as_str())
                            || self.built_strings.contains(&dotted_path(tokens, i))
                    } else {
                        self.built_strings.contains(name)
                            || called && !safe::DATA_FUNCTIONS.contains(&name.as_str())
                    }
                }
                _ => false,
            })
    }
}

/// How deeply the brackets of a tag nest.
fn nesting(tokens: &[Token]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0;
    for token in tokens {
        match &token.kind {
            TokenKind::Op("(" | "[" | "{") => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            TokenKind::Op(")" | "]" | "}") => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Whether `tokens[i]` is followed by the operator `op`.
fn next_is(tokens: &[Token], i: usize, op: &str) -> bool {
    tokens.get(i + 1).is_some_and(|t| t.is_op(op))
}

/// Whether the string literal at `i` is the whole key of a subscript
/// (`x['role']`), which is checked as a name rather than as a built string.
fn is_lone_subscript_key(tokens: &[Token], i: usize) -> bool {
    i.checked_sub(1)
        .and_then(|p| tokens.get(p))
        .is_some_and(|t| t.is_op("["))
        && next_is(tokens, i, "]")
}

/// `ns.field` ending at the name at `i`: the longest target `set` can
/// assign, so no longer path is built (a chain of dots costs no more).
fn dotted_path(tokens: &[Token], i: usize) -> String {
    let name = tokens.get(i).and_then(Token::name).unwrap_or_default();
    let dot = i.checked_sub(1).and_then(|p| tokens.get(p));
    let owner = i
        .checked_sub(2)
        .and_then(|p| tokens.get(p))
        .and_then(Token::name);
    match owner {
        Some(owner) if dot.is_some_and(|t| t.is_op(".")) => format!("{owner}.{name}"),
        _ => name.to_owned(),
    }
}

/// A `set` tag's target (`x` or `ns.x`) and its value tokens, `None` for a
/// block set (`{% set x %}...{% endset %}`).
fn set_target(tag: &Tag) -> Option<(String, Option<&[Token]>)> {
    let tokens = tag.tokens.as_slice();
    if tag.kind != TagKind::Block || !tokens.first()?.is_name("set") {
        return None;
    }
    let equals = tokens.iter().position(|t| t.is_op("="));
    let target_end = equals.unwrap_or(tokens.len());
    let target: Vec<&str> = tokens
        .get(1..target_end)?
        .iter()
        .filter_map(|t| match &t.kind {
            TokenKind::Name(name) => Some(name.as_str()),
            TokenKind::Op(".") => Some("."),
            _ => None,
        })
        .collect();
    let value = equals.and_then(|e| tokens.get(e + 1..));
    Some((target.concat(), value))
}

/// A `for` tag's targets and its iterable (up to a filtering `if`).
fn for_targets(tag: &Tag) -> Option<(Vec<String>, &[Token])> {
    let tokens = tag.tokens.as_slice();
    if tag.kind != TagKind::Block || !tokens.first()?.is_name("for") {
        return None;
    }
    let in_at = tokens.iter().position(|t| t.is_name("in"))?;
    let targets = tokens
        .get(1..in_at)?
        .iter()
        .filter_map(|t| t.name().map(str::to_owned))
        .collect();
    let rest = tokens.get(in_at + 1..)?;
    let end = rest
        .iter()
        .position(|t| t.is_name("if") || t.is_name("recursive"))
        .unwrap_or(rest.len());
    Some((targets, rest.get(..end)?))
}

/// Checks the tokens of one tag.
fn check_tag(tag: &Tag, scope: &Scope, findings: &mut Findings) {
    let tokens = tag.tokens.as_slice();
    if tag.kind == TagKind::Block {
        check_statement(tokens, tag.at, findings);
    }
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        match &token.kind {
            TokenKind::Op(op) if matches!(*op, "(" | "[" | "{") => {
                depth += 1;
                if depth > MAX_NESTING {
                    findings.push(token.at, format!("brackets nested over {MAX_NESTING} deep"));
                    return;
                }
                if *op == "[" && is_postfix(tokens, i) {
                    check_subscript(tokens, i, scope, findings);
                }
            }
            TokenKind::Op(op) if matches!(*op, ")" | "]" | "}") => {
                depth = depth.saturating_sub(1);
            }
            TokenKind::Name(name) => check_name(tokens, i, name, scope, findings),
            TokenKind::Str(text) if text.contains("__") => {
                findings.push(
                    token.at,
                    format!("the string {text:?}, which names a dunder"),
                );
            }
            _ => {}
        }
    }
}

/// The statement a block tag starts with must be one chat templates use.
fn check_statement(tokens: &[Token], at: usize, findings: &mut Findings) {
    match tokens.first().map(|t| &t.kind) {
        Some(TokenKind::Name(keyword)) => {
            if !safe::STATEMENTS.contains(&keyword.as_str()) {
                findings.push(at, format!("the statement `{keyword}`"));
            } else if keyword == "filter"
                && let Some(filter) = tokens.get(1).and_then(Token::name)
                && !safe::FILTERS.contains(&filter)
            {
                findings.push(at, format!("the filter `{filter}`"));
            }
        }
        _ => findings.push(at, "a block tag that starts with no statement".to_owned()),
    }
}

/// Whether the `[` at `i` follows a value (a subscript) rather than
/// starting a list literal.
fn is_postfix(tokens: &[Token], i: usize) -> bool {
    let Some(previous) = i.checked_sub(1).and_then(|p| tokens.get(p)) else {
        return false;
    };
    match &previous.kind {
        TokenKind::Name(name) => !safe::KEYWORDS.contains(&name.as_str()),
        TokenKind::Str(_) => true,
        TokenKind::Op(op) => matches!(*op, ")" | "]" | "}"),
        TokenKind::Number => false,
    }
}

/// The tokens between the `[` at `open` and its matching `]`.
fn bracketed(tokens: &[Token], open: usize) -> &[Token] {
    let mut depth = 0usize;
    for (offset, token) in tokens.iter().enumerate().skip(open) {
        match &token.kind {
            TokenKind::Op(op) if matches!(*op, "(" | "[" | "{") => depth += 1,
            TokenKind::Op(op) if matches!(*op, ")" | "]" | "}") => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return tokens.get(open + 1..offset).unwrap_or_default();
                }
            }
            _ => {}
        }
    }
    tokens.get(open + 1..).unwrap_or_default()
}

/// `x['name']` must name a safe attribute; any other key must not be a
/// string built at render time (Jinja2 looks a string key up as an
/// attribute when the item is missing).
fn check_subscript(tokens: &[Token], open: usize, scope: &Scope, findings: &mut Findings) {
    let key = bracketed(tokens, open);
    let at = tokens.get(open).map_or(0, |t| t.at);
    if let [only] = key
        && let TokenKind::Str(text) = &only.kind
    {
        check_attribute(text, only.at, scope, findings);
        return;
    }
    if scope.builds_strings(key) {
        findings.push(
            at,
            "a subscript whose key is a string built at render time".to_owned(),
        );
    }
}

/// An attribute (or string key) must be in the safe set or a field of the
/// template's own namespaces.
fn check_attribute(name: &str, at: usize, scope: &Scope, findings: &mut Findings) {
    if name.starts_with('_') {
        findings.push(at, format!("the attribute `{name}`"));
    } else if !safe::ATTRIBUTES.contains(&name) && !scope.fields.contains(name) {
        findings.push(at, format!("the attribute `{name}`, outside the safe set"));
    }
}

/// A name token: by where it stands, a variable, attribute, filter, test,
/// keyword argument or function.
fn check_name(tokens: &[Token], i: usize, name: &str, scope: &Scope, findings: &mut Findings) {
    let at = tokens.get(i).map_or(0, |t| t.at);
    let previous = i.checked_sub(1).and_then(|p| tokens.get(p));
    if previous.is_some_and(|p| p.is_op(".")) {
        return check_attribute(name, at, scope, findings);
    }
    if name.starts_with('_') {
        return findings.push(at, format!("the name `{name}`"));
    }
    if safe::KEYWORDS.contains(&name) {
        return;
    }
    if previous.is_some_and(|p| p.is_op("|")) {
        return check_filter(tokens, i, name, scope, findings);
    }
    if is_test_position(tokens, i) {
        if !safe::TESTS.contains(&name) {
            findings.push(at, format!("the test `{name}`"));
        }
        return;
    }
    if safe::FORBIDDEN_GLOBALS.contains(&name) {
        return findings.push(at, format!("the global `{name}`"));
    }
    let keyword_argument = next_is(tokens, i, "=");
    if next_is(tokens, i, "(")
        && !keyword_argument
        && !safe::FUNCTIONS.contains(&name)
        && !scope.macros.contains(name)
        && !tokens.first().is_some_and(|t| t.is_name("macro"))
    {
        findings.push(at, format!("the function `{name}`"));
    }
}

/// Whether the name at `i` follows `is` or `is not`.
fn is_test_position(tokens: &[Token], i: usize) -> bool {
    let back = |n: usize| i.checked_sub(n).and_then(|p| tokens.get(p));
    back(1).is_some_and(|t| t.is_name("is"))
        || back(1).is_some_and(|t| t.is_name("not")) && back(2).is_some_and(|t| t.is_name("is"))
}

/// A filter must be safe, and the filters that look attributes, tests or
/// other filters up by name must be given those names as safe literals.
fn check_filter(tokens: &[Token], i: usize, name: &str, scope: &Scope, findings: &mut Findings) {
    let at = tokens.get(i).map_or(0, |t| t.at);
    if !safe::FILTERS.contains(&name) {
        return findings.push(at, format!("the filter `{name}`"));
    }
    let args = if next_is(tokens, i, "(") {
        filter_arguments(tokens, i + 1)
    } else {
        Vec::new()
    };
    let positional: Vec<&[Token]> = args
        .iter()
        .filter(|a| keyword(a).is_none())
        .copied()
        .collect();
    for arg in &args {
        if keyword(arg) == Some("attribute") {
            check_named_argument(
                arg.get(2..).unwrap_or_default(),
                at,
                Lookup::Attribute,
                scope,
                findings,
            );
        }
    }
    let lookups: &[Lookup] = match name {
        "attr" | "groupby" => &[Lookup::Attribute],
        "selectattr" | "rejectattr" => &[Lookup::Attribute, Lookup::Test],
        "select" | "reject" => &[Lookup::Test],
        "map" if !args.iter().any(|a| keyword(a) == Some("attribute")) => &[Lookup::Filter],
        _ => &[],
    };
    for (lookup, arg) in lookups.iter().zip(&positional) {
        check_named_argument(arg, at, *lookup, scope, findings);
    }
    // `map('attr', 'name')` looks an attribute up too.
    if name == "map"
        && positional.first().and_then(|a| literal(a)) == Some("attr")
        && let Some(arg) = positional.get(1)
    {
        check_named_argument(arg, at, Lookup::Attribute, scope, findings);
    }
}

/// What a filter argument names.
#[derive(Clone, Copy)]
enum Lookup {
    Attribute,
    Test,
    Filter,
}

/// An argument that names an attribute (dotted paths allowed), a test or a
/// filter: it must be a literal, and what it names must be safe.
fn check_named_argument(
    arg: &[Token],
    at: usize,
    lookup: Lookup,
    scope: &Scope,
    findings: &mut Findings,
) {
    let Some(text) = literal(arg) else {
        return findings.push(
            at,
            "a filter argument naming an attribute, test or filter by a computed value".to_owned(),
        );
    };
    let at = arg.first().map_or(at, |t| t.at);
    match lookup {
        Lookup::Attribute => {
            for part in text.split('.') {
                if !part.bytes().all(|b| b.is_ascii_digit()) {
                    check_attribute(part, at, scope, findings);
                }
            }
        }
        Lookup::Test if !safe::TESTS.contains(&text) => {
            findings.push(at, format!("the test `{text}`"));
        }
        Lookup::Filter if !safe::FILTERS.contains(&text) => {
            findings.push(at, format!("the filter `{text}`"));
        }
        _ => {}
    }
}

/// The text of an argument that is one string literal.
fn literal(arg: &[Token]) -> Option<&str> {
    match arg {
        [token] => match &token.kind {
            TokenKind::Str(text) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// The keyword of a `name=value` argument.
fn keyword(arg: &[Token]) -> Option<&str> {
    match arg {
        [name, equals, ..] if equals.is_op("=") => name.name(),
        _ => None,
    }
}

/// The arguments of a call whose `(` is at `open`, split at top-level commas.
fn filter_arguments(tokens: &[Token], open: usize) -> Vec<&[Token]> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    for (offset, token) in tokens.iter().enumerate().skip(open) {
        match &token.kind {
            TokenKind::Op(op) if matches!(*op, "(" | "[" | "{") => depth += 1,
            TokenKind::Op(op) if matches!(*op, ")" | "]" | "}") => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    args.extend(tokens.get(start..offset).filter(|a| !a.is_empty()));
                    return args;
                }
            }
            TokenKind::Op(",") if depth == 1 => {
                args.extend(tokens.get(start..offset));
                start = offset + 1;
            }
            _ => {}
        }
    }
    args
}

#[cfg(test)]
mod tests;
