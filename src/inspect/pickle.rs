//! Pickle streams, protocols 0 to 5, walked opcode by opcode without
//! unpickling anything.
//!
//! The walker models the unpickler's stack, marks and memo only as far as
//! it must to name every import: `GLOBAL` and `INST` carry theirs inline,
//! `STACK_GLOBAL` takes the two strings on top of the stack (pushed, or
//! fetched from the memo), `OBJ`, `REDUCE` and `NEWOBJ` call what those
//! produced, and `EXT1/2/4` name entries of a registry that is empty by
//! default. Every import is checked against a default-deny allow list
//! ([`is_allowed_import`]); one that is not on it, or a `STACK_GLOBAL`
//! whose operands are not known strings, makes the pickle unsafe.
//!
//! Payloads (`BINBYTES8`, `BINUNICODE`, ...) are skipped by offset; only
//! short strings are read. joblib's raw array bytes, which follow a
//! `NumpyArrayWrapper`'s `BUILD`, are skipped by the size the wrapper's
//! shape and dtype give.

mod allow;
mod cursor;
mod text;
mod value;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{ByteSource, ContentProblem, ContentProblemKind, Inspection, limits};
pub use allow::is_allowed as is_allowed_import;
use cursor::Cursor;
use value::Value;

/// Longest `GLOBAL`/`INST` line read (module or name).
const MAX_NAME_LINE: usize = 4096;
/// Longest string operand kept; longer ones are skipped and unknown.
const MAX_KEPT_STRING: usize = 1024;
/// Most string bytes kept in one pickle's model; past it, strings are unknown.
const MAX_KEPT_STRING_BYTES: u64 = 64 << 20;
/// Deepest stack modelled (a pickle's stack is its nesting times batches
/// of at most 1000 items in real files).
const MAX_STACK: usize = 4_000_000;
/// Most memo entries modelled (real state dicts memoise about ten objects
/// per tensor).
const MAX_MEMO: usize = 4_000_000;
/// Most tuple items, dict entries and calls modelled in one pickle; past
/// it, new ones are unknown (an import they would resolve is unresolvable).
const MAX_MODELLED_CELLS: u64 = 8_000_000;
/// The cells a dict counts for: the most entries it models.
const MODELLED_DICT_CELLS: u64 = 64;
/// Most distinct imports recorded from one pickle.
const MAX_IMPORTS: usize = 100_000;
/// How many names or offsets a problem's message lists before "and N more".
const MAX_LISTED: usize = 50;
/// The class joblib pickles in place of an array whose bytes follow.
const JOBLIB_WRAPPER: &str = "joblib.numpy_pickle.NumpyArrayWrapper";

/// Why a walk stopped before its `STOP`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum WalkError {
    /// The bytes end first.
    #[error("truncated: the bytes end at offset {offset} before STOP")]
    Truncated { offset: u64 },
    /// A byte that is no opcode.
    #[error("unknown opcode 0x{opcode:02x} at offset {offset}")]
    BadOpcode { offset: u64, opcode: u8 },
    /// An opcode the unpickler would refuse here.
    #[error("{what} at offset {offset}")]
    Malformed { offset: u64, what: String },
    /// More than the inspection limits allow.
    #[error("{what} at offset {offset}: past the inspection limit")]
    Limit { offset: u64, what: &'static str },
    /// The source could not be read.
    #[error("read failed at offset {offset}: {message}")]
    Io { offset: u64, message: String },
}

/// A [`WalkError::Malformed`].
fn malformed(offset: u64, what: impl Into<String>) -> WalkError {
    WalkError::Malformed {
        offset,
        what: what.into(),
    }
}

/// How to walk a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickleOptions {
    /// Skip the raw array bytes joblib writes after each
    /// `NumpyArrayWrapper` (a bare file may be a `joblib.dump`). Off for
    /// pickles that a plain unpickler loads (a torch archive's `data.pkl`),
    /// where those bytes would be opcodes.
    pub joblib_arrays: bool,
    /// Walk further pickles that follow the first (`PROTO` 2 to 5 after its
    /// `STOP`), as torch's legacy format and joblib write them.
    pub consecutive: bool,
}

impl PickleOptions {
    /// For a bare pickle file: joblib arrays and consecutive pickles.
    pub const FILE: PickleOptions = PickleOptions {
        joblib_arrays: true,
        consecutive: true,
    };
    /// For one pickle that a plain unpickler loads from an archive entry.
    pub const ENTRY: PickleOptions = PickleOptions {
        joblib_arrays: false,
        consecutive: false,
    };
}

/// What walking a region found, besides its problems and imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickleWalk {
    /// Pickles walked to their `STOP`.
    pub pickles: u32,
    /// The offset after the last `STOP` reached (the region's start if none).
    pub end: u64,
    /// Bytes after the last pickle that are not inspected (torch's legacy
    /// storages, or anything appended): noted, not a problem.
    pub trailing_bytes: u64,
}

/// Imports seen, refused, and unresolvable, across the pickles of a region.
#[derive(Default)]
struct Findings {
    imports: BTreeSet<String>,
    /// Refused imports, with the offset each was first seen at.
    refused: BTreeMap<String, u64>,
    /// Offsets of `STACK_GLOBAL`s whose operands are not known strings.
    unresolvable: Vec<u64>,
    /// Opcodes spent on shadow walks of joblib array bytes, all pickles together.
    shadow_ops: u64,
    /// Offsets of joblib array bytes the shadow budget left unchecked.
    unchecked_arrays: Vec<u64>,
    /// Refused imports and offsets past [`MAX_IMPORTS`], counted, not kept.
    not_kept: u64,
}

impl Findings {
    /// Records an import made at `offset`.
    fn import(&mut self, name: String, offset: u64) {
        if !is_allowed_import(&name) && !self.refused.contains_key(&name) {
            if self.refused.len() < MAX_IMPORTS {
                self.refused.insert(name.clone(), offset);
            } else {
                self.not_kept = self.not_kept.saturating_add(1);
            }
        }
        if self.imports.len() < MAX_IMPORTS {
            self.imports.insert(name);
        }
    }

    /// Records a `STACK_GLOBAL` at `offset` whose operands are unknown.
    fn unresolvable(&mut self, offset: u64) {
        if self.unresolvable.len() < MAX_IMPORTS {
            self.unresolvable.push(offset);
        } else {
            self.not_kept = self.not_kept.saturating_add(1);
        }
    }

    /// Adds `other`'s findings to these.
    fn merge(&mut self, other: Findings) {
        for (name, offset) in other.refused {
            self.refused.entry(name).or_insert(offset);
        }
        for name in other.imports {
            if self.imports.len() < MAX_IMPORTS {
                self.imports.insert(name);
            }
        }
        for offset in other.unresolvable {
            self.unresolvable(offset);
        }
        self.not_kept = self.not_kept.saturating_add(other.not_kept);
        self.shadow_ops = self.shadow_ops.saturating_add(other.shadow_ops);
        self.unchecked_arrays.extend(other.unchecked_arrays);
    }

    /// Whether an import of any kind was seen.
    fn any_import(&self) -> bool {
        !self.imports.is_empty() || !self.unresolvable.is_empty()
    }

    /// The problems and imports, written into `out`.
    fn report(self, out: &mut Inspection) {
        if !self.refused.is_empty() {
            let names: Vec<String> = self
                .refused
                .iter()
                .map(|(name, at)| format!("{name} (offset {at})"))
                .collect();
            out.problems.push(ContentProblem {
                kind: ContentProblemKind::UnsafePickle,
                message: format!(
                    "imports outside the allow list, which loading runs: {}",
                    listed(&names)
                ),
            });
        }
        if !self.unresolvable.is_empty() {
            let offsets: Vec<String> = self.unresolvable.iter().map(u64::to_string).collect();
            out.problems.push(ContentProblem {
                kind: ContentProblemKind::UnsafePickle,
                message: format!(
                    "unresolvable import: STACK_GLOBAL whose module and name are not both \
                     known strings, at offset {}",
                    listed(&offsets)
                ),
            });
        }
        if !self.unchecked_arrays.is_empty() {
            let offsets: Vec<String> = self.unchecked_arrays.iter().map(u64::to_string).collect();
            out.problems.push(ContentProblem {
                kind: ContentProblemKind::UnsafePickle,
                message: format!(
                    "joblib array bytes that a plain unpickler would read as opcodes, not \
                     checked (past the inspection limit), at offset {}",
                    listed(&offsets)
                ),
            });
        }
        if self.not_kept > 0 {
            out.problems.push(ContentProblem {
                kind: ContentProblemKind::UnsafePickle,
                message: format!(
                    "{} more refused or unresolvable imports, past what inspection records",
                    self.not_kept
                ),
            });
        }
        out.imports.extend(self.imports);
        out.imports.sort();
        out.imports.dedup();
    }
}

/// `items` joined with ", ", the first [`MAX_LISTED`] of them.
fn listed(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_LISTED {
        text.push_str(&format!(" and {} more", items.len() - MAX_LISTED));
    }
    text
}

/// Inspects the pickle (or pickles) in `len` bytes at `offset` of `src` as
/// a bare pickle file ([`PickleOptions::FILE`]); see [`inspect_pickle_with`].
pub fn inspect_pickle(
    src: &dyn ByteSource,
    offset: u64,
    len: u64,
    out: &mut Inspection,
) -> PickleWalk {
    inspect_pickle_with(src, offset, len, PickleOptions::FILE, out)
}

/// Inspects the pickle in `len` bytes at `offset` of `src`: adds an
/// [`ContentProblemKind::UnsafePickle`] problem naming every refused import,
/// one for unresolvable imports, a [`ContentProblemKind::MalformedPickle`]
/// one when the first pickle cannot be walked to its `STOP`, and every
/// import to `out.imports`. Does not set `out.format`.
pub fn inspect_pickle_with(
    src: &dyn ByteSource,
    offset: u64,
    len: u64,
    options: PickleOptions,
    out: &mut Inspection,
) -> PickleWalk {
    let mut found = Findings::default();
    let mut cur = Cursor::new(src, offset, len);
    let end = cur.end();
    let mut walk = PickleWalk {
        pickles: 0,
        end: cur.pos(),
        trailing_bytes: 0,
    };
    match walk_one(&mut cur, &mut found, options.joblib_arrays) {
        Ok(_) => {
            walk.pickles = 1;
            walk.end = cur.pos();
        }
        Err(e) => push_malformed(out, offset, &e),
    }
    if walk.pickles == 1 && options.consecutive {
        walk_following(src, end, options, &mut walk, &mut found, out);
    }
    walk.trailing_bytes = end - walk.end;
    found.report(out);
    walk
}

/// Walks the pickles that follow the first, while the bytes after a `STOP`
/// start with `PROTO` 2 to 5. A following pickle that fails is data, not a
/// pickle (a torch storage may start like one), unless it made imports
/// before failing: an unpickler would have run them.
fn walk_following(
    src: &dyn ByteSource,
    end: u64,
    options: PickleOptions,
    walk: &mut PickleWalk,
    found: &mut Findings,
    out: &mut Inspection,
) {
    while walk.end < end {
        let mut head = [0u8; 2];
        let starts_pickle =
            src.read_exact_at(&mut head, walk.end).is_ok() && matches!(head, [0x80, 2..=5]);
        if !starts_pickle {
            return;
        }
        let mut cur = Cursor::new(src, walk.end, end - walk.end);
        let mut next = Findings::default();
        match walk_one(&mut cur, &mut next, options.joblib_arrays) {
            Ok(_) => {
                walk.pickles = walk.pickles.saturating_add(1);
                walk.end = cur.pos();
                found.merge(next);
            }
            Err(e) => {
                if next.any_import() {
                    push_malformed(out, walk.end, &e);
                    found.merge(next);
                }
                return;
            }
        }
    }
}

/// A [`ContentProblemKind::MalformedPickle`] for the pickle at `start`.
fn push_malformed(out: &mut Inspection, start: u64, e: &WalkError) {
    out.problems.push(ContentProblem {
        kind: ContentProblemKind::MalformedPickle,
        message: format!("pickle at offset {start} cannot be walked to its STOP: {e}"),
    });
}

/// Walks one pickle from the cursor to just past its `STOP`; the number of
/// opcodes walked.
fn walk_one(cur: &mut Cursor<'_>, found: &mut Findings, joblib: bool) -> Result<u64, WalkError> {
    let mut walker = Walker::new(cur, found, joblib);
    walker.walk()?;
    Ok(walker.ops)
}

/// Whether `head`, the first bytes of a file without a `PROTO` 2 to 5
/// header, is a protocol 0 or 1 pickle: it starts with an opcode such
/// pickles start with (a mark, an empty container, `GLOBAL`, `PROTO` 0/1)
/// and walks without error, over at least a few opcodes, to the end of
/// `head` or to a `STOP` that ends it. Raw tensor bytes and text fail one
/// of these.
pub fn looks_like_pickle(head: &[u8]) -> bool {
    let plausible_start = matches!(
        head,
        [0x80, 0 | 1, ..] | [b'(' | b')' | b']' | b'}' | b'c', ..]
    );
    if !plausible_start {
        return false;
    }
    let src = super::InMemory(head);
    let mut cur = Cursor::new(&src, 0, head.len() as u64);
    let mut found = Findings::default();
    let mut walker = Walker::new(&mut cur, &mut found, false);
    let result = walker.walk();
    let (ops, end) = (walker.ops, cur.pos());
    match result {
        // A whole small pickle: its STOP ends the head.
        Ok(()) => ops >= 3 && end == head.len() as u64,
        Err(WalkError::Truncated { offset }) => offset == head.len() as u64 && ops >= 4,
        Err(_) => false,
    }
}

/// The unpickler's state, as far as it is modelled.
struct Walker<'c, 'a> {
    cur: &'c mut Cursor<'a>,
    found: &'c mut Findings,
    stack: Vec<Value>,
    /// Stack lengths at each `MARK` still open.
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    /// Whether joblib's raw array bytes follow its wrappers.
    joblib: bool,
    kept_string_bytes: u64,
    /// Tuple items, dict entries and calls modelled so far.
    modelled_cells: u64,
    ops: u64,
    /// Most opcodes this walk may take.
    op_limit: u64,
}

impl<'c, 'a> Walker<'c, 'a> {
    /// A walker at the cursor's position, with an empty stack and memo.
    fn new(cur: &'c mut Cursor<'a>, found: &'c mut Findings, joblib: bool) -> Self {
        Walker {
            cur,
            found,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            joblib,
            kept_string_bytes: 0,
            modelled_cells: 0,
            ops: 0,
            op_limit: limits::MAX_PICKLE_OPS,
        }
    }

    /// Walks opcodes to just past the `STOP`.
    fn walk(&mut self) -> Result<(), WalkError> {
        loop {
            let at = self.cur.pos();
            self.ops += 1;
            if self.ops > self.op_limit {
                return Err(WalkError::Limit {
                    offset: at,
                    what: "more opcodes than inspected in one pickle",
                });
            }
            let op = self.cur.byte()?;
            if op == b'.' {
                self.pop(at)?;
                return Ok(());
            }
            self.step(op, at)?;
        }
    }

    /// One opcode other than `STOP`, by family.
    fn step(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        match op {
            b'(' | b'0' | b'1' | b'2' | 0x95 | 0x80 | 0x97 | 0x98 => self.control(op, at),
            b'I' | b'J' | b'K' | b'M' | b'L' | 0x8a | 0x8b | b'F' | b'G' | b'N' | 0x88 | 0x89 => {
                self.number(op, at)
            }
            b'S' | b'T' | b'U' | b'V' | b'X' | 0x8c | 0x8d | b'B' | b'C' | 0x8e | 0x96 => {
                self.string(op, at)
            }
            b')' | b']' | b'}' | 0x8f | b't' | 0x85..=0x87 | b'l' | b'd' | 0x91 => {
                self.container(op, at)
            }
            b'a' | b'e' | b's' | b'u' | 0x90 => self.fill(op, at),
            b'p' | b'q' | b'r' | 0x94 | b'g' | b'h' | b'j' => self.memo_op(op, at),
            b'c' | 0x93 | b'i' | 0x82..=0x84 => self.import_op(op, at),
            b'o' | b'R' | 0x81 | 0x92 | b'b' | b'P' | b'Q' => self.call(op, at),
            _ => Err(WalkError::BadOpcode {
                offset: at,
                opcode: op,
            }),
        }
    }

    /// The stack's floor: what the innermost open `MARK` leaves below it.
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    /// Pushes a value.
    fn push(&mut self, value: Value, at: u64) -> Result<(), WalkError> {
        if self.stack.len() >= MAX_STACK {
            return Err(WalkError::Limit {
                offset: at,
                what: "a deeper stack than modelled",
            });
        }
        self.stack.push(value);
        Ok(())
    }

    /// Pops the top value, which must lie above the innermost mark.
    fn pop(&mut self, at: u64) -> Result<Value, WalkError> {
        if self.stack.len() <= self.fence() {
            return Err(malformed(at, "stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| malformed(at, "stack underflow"))
    }

    /// The top value, which must lie above the innermost mark.
    fn top(&self, at: u64) -> Result<&Value, WalkError> {
        if self.stack.len() <= self.fence() {
            return Err(malformed(at, "stack underflow"));
        }
        self.stack
            .last()
            .ok_or_else(|| malformed(at, "stack underflow"))
    }

    /// Pops everything above the innermost mark, and the mark.
    fn pop_mark(&mut self, at: u64) -> Result<Vec<Value>, WalkError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| malformed(at, "no MARK to pop to"))?;
        if mark > self.stack.len() {
            return Err(malformed(at, "stack underflow"));
        }
        Ok(self.stack.split_off(mark))
    }

    /// MARK, POP, POP_MARK, DUP, FRAME, PROTO, NEXT_BUFFER, READONLY_BUFFER.
    fn control(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        match op {
            b'(' => {
                if self.marks.len() >= MAX_STACK {
                    return Err(WalkError::Limit {
                        offset: at,
                        what: "more open marks than modelled",
                    });
                }
                self.marks.push(self.stack.len());
            }
            // POP at a mark pops the mark, as CPython's unpickler does.
            b'0' if self.stack.len() == self.fence() && !self.marks.is_empty() => {
                self.marks.pop();
            }
            b'0' => drop(self.pop(at)?),
            b'1' => drop(self.pop_mark(at)?),
            b'2' => {
                let top = self.top(at)?.clone();
                self.push(top, at)?;
            }
            0x95 => {
                let frame = u64::from_le_bytes(self.cur.array()?);
                if frame > self.cur.remaining() {
                    return Err(WalkError::Truncated {
                        offset: self.cur.end(),
                    });
                }
            }
            0x80 => {
                let proto = self.cur.byte()?;
                if proto > 5 {
                    return Err(malformed(at, format!("unsupported protocol {proto}")));
                }
            }
            0x97 => self.push(Value::Unknown, at)?,
            _ => {
                self.top(at)?;
            }
        }
        Ok(())
    }

    /// Numbers, None and booleans.
    fn number(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        let value = match op {
            b'I' => match self.cur.line(64)?.as_deref() {
                Some(b"00") => Value::Int(0),
                Some(b"01") => Value::Int(1),
                Some(digits) => parse_int(digits),
                None => Value::Unknown,
            },
            b'L' => match self.cur.line(64)? {
                Some(digits) => parse_int(digits.strip_suffix(b"L").unwrap_or(&digits)),
                None => Value::Unknown,
            },
            b'J' => Value::Int(i32::from_le_bytes(self.cur.array()?).into()),
            b'K' => Value::Int(self.cur.byte()?.into()),
            b'M' => Value::Int(u16::from_le_bytes(self.cur.array()?).into()),
            0x8a => {
                let n = self.cur.byte()?;
                long_le(self.cur.bytes(n.into(), 8)?)
            }
            0x8b => {
                let n = self.signed_len(at)?;
                long_le(self.cur.bytes(n, 8)?)
            }
            b'F' => {
                self.cur.line(0)?;
                Value::Unknown
            }
            b'G' => {
                self.cur.skip(8)?;
                Value::Unknown
            }
            b'N' => Value::None,
            0x88 => Value::Int(1),
            _ => Value::Int(0),
        };
        self.push(value, at)
    }

    /// A 4-byte signed length, refused when negative.
    fn signed_len(&mut self, at: u64) -> Result<u64, WalkError> {
        let n = i32::from_le_bytes(self.cur.array()?);
        u64::try_from(n).map_err(|_| malformed(at, "negative byte count"))
    }

    /// Strings (kept when short), bytes and bytearrays (skipped).
    fn string(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        let value = match op {
            b'S' => {
                let line = self.cur.line(MAX_KEPT_STRING)?;
                self.text(line.and_then(|l| text::quoted_string(&l)))
            }
            b'V' => {
                let line = self.cur.line(MAX_KEPT_STRING)?;
                let decoded = line.and_then(|l| text::raw_unicode_escape(&l));
                self.text(decoded.map(String::into_bytes))
            }
            b'T' | b'X' => {
                let n = match op {
                    b'T' => self.signed_len(at)?,
                    _ => u32::from_le_bytes(self.cur.array()?).into(),
                };
                let bytes = self.cur.bytes(n, MAX_KEPT_STRING)?;
                self.text(bytes)
            }
            b'U' | 0x8c => {
                let n = self.cur.byte()?;
                let bytes = self.cur.bytes(n.into(), MAX_KEPT_STRING)?;
                self.text(bytes)
            }
            0x8d => {
                let n = u64::from_le_bytes(self.cur.array()?);
                let bytes = self.cur.bytes(n, MAX_KEPT_STRING)?;
                self.text(bytes)
            }
            _ => {
                let n = match op {
                    b'B' => u32::from_le_bytes(self.cur.array()?).into(),
                    b'C' => self.cur.byte()?.into(),
                    _ => u64::from_le_bytes(self.cur.array()?),
                };
                self.cur.skip(n)?;
                Value::Unknown
            }
        };
        self.push(value, at)
    }

    /// A string value for `bytes` when they are UTF-8 and within the budget.
    fn text(&mut self, bytes: Option<Vec<u8>>) -> Value {
        let Some(text) = bytes.and_then(|b| String::from_utf8(b).ok()) else {
            return Value::Unknown;
        };
        let grown = self.kept_string_bytes.saturating_add(text.len() as u64);
        if grown > MAX_KEPT_STRING_BYTES {
            return Value::Unknown;
        }
        self.kept_string_bytes = grown;
        Value::Str(text.into())
    }

    /// `value` while the model's budget of cells lasts (`cells` more), and
    /// `Unknown` after: memory stays bounded whatever the pickle builds.
    fn model(&mut self, value: Value, cells: u64) -> Value {
        let grown = self.modelled_cells.saturating_add(cells);
        if grown > MAX_MODELLED_CELLS {
            return Value::Unknown;
        }
        self.modelled_cells = grown;
        value
    }

    /// Empty containers, and containers built from the stack.
    fn container(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        let value = match op {
            b')' => self.model(Value::tuple(Vec::new()), 1),
            b'}' => self.model(Value::dict(Vec::new()), MODELLED_DICT_CELLS),
            b']' | 0x8f => Value::Unknown,
            b't' => {
                let items = self.pop_mark(at)?;
                let cells = items.len() as u64 + 1;
                self.model(Value::tuple(items), cells)
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop(at)?);
                }
                items.reverse();
                self.model(Value::tuple(items), n as u64 + 1)
            }
            b'd' => {
                let items = self.pop_mark(at)?;
                if items.len() % 2 != 0 {
                    return Err(malformed(at, "odd number of items for DICT"));
                }
                self.model(Value::dict(items), MODELLED_DICT_CELLS)
            }
            _ => {
                self.pop_mark(at)?;
                Value::Unknown
            }
        };
        self.push(value, at)
    }

    /// APPEND, APPENDS, SETITEM, SETITEMS, ADDITEMS: items added to the
    /// container below them.
    fn fill(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        match op {
            b'a' => drop(self.pop(at)?),
            b's' => {
                let value = self.pop(at)?;
                let key = self.pop(at)?;
                self.top(at)?.set_item(key, value);
                return Ok(());
            }
            _ => {
                let items = self.pop_mark(at)?;
                if op == b'u' {
                    if items.len() % 2 != 0 {
                        return Err(malformed(at, "odd number of items for SETITEMS"));
                    }
                    let target = self.top(at)?.clone();
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        target.set_item(k, v);
                    }
                    return Ok(());
                }
            }
        }
        self.top(at)?;
        Ok(())
    }

    /// PUT, BINPUT, LONG_BINPUT, MEMOIZE, GET, BINGET, LONG_BINGET.
    fn memo_op(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        let key = match op {
            b'p' | b'g' => self.line_index(at)?,
            b'q' | b'h' => self.cur.byte()?.into(),
            b'r' | b'j' => u32::from_le_bytes(self.cur.array()?).into(),
            _ => self.memo.len() as u64,
        };
        if matches!(op, b'g' | b'h' | b'j') {
            let value = self
                .memo
                .get(&key)
                .cloned()
                .ok_or_else(|| malformed(at, format!("memo key {key} not found")))?;
            return self.push(value, at);
        }
        let value = self.top(at)?.clone();
        if !self.memo.contains_key(&key) && self.memo.len() >= MAX_MEMO {
            return Err(WalkError::Limit {
                offset: at,
                what: "more memo entries than modelled",
            });
        }
        self.memo.insert(key, value);
        Ok(())
    }

    /// The decimal memo index of a PUT or GET line.
    fn line_index(&mut self, at: u64) -> Result<u64, WalkError> {
        let line = self.cur.line(32)?;
        let text = line
            .as_deref()
            .and_then(|l| std::str::from_utf8(l).ok())
            .map(str::trim);
        text.and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| malformed(at, "memo index that is not a non-negative integer"))
    }

    /// GLOBAL, STACK_GLOBAL, INST and EXT1/2/4: each an import.
    fn import_op(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        match op {
            b'c' => {
                let name = self.line_pair(at)?;
                self.found.import(name.clone(), at);
                self.push(Value::Global(name.into()), at)
            }
            b'i' => {
                let name = self.line_pair(at)?;
                self.found.import(name.clone(), at);
                let items = self.pop_mark(at)?;
                let cells = items.len() as u64 + 2;
                let call = Value::call(&Value::Global(name.into()), Value::tuple(items));
                let call = self.model(call, cells);
                self.push(call, at)
            }
            0x93 => {
                let name = self.pop(at)?;
                let module = self.pop(at)?;
                let value = match (module.as_str(), name.as_str()) {
                    (Some(m), Some(n)) => {
                        let full = format!("{m}.{n}");
                        self.found.import(full.clone(), at);
                        Value::Global(full.into())
                    }
                    _ => {
                        self.found.unresolvable(at);
                        Value::Unknown
                    }
                };
                self.push(value, at)
            }
            _ => {
                let code: i64 = match op {
                    0x82 => self.cur.byte()?.into(),
                    0x83 => u16::from_le_bytes(self.cur.array()?).into(),
                    _ => i32::from_le_bytes(self.cur.array()?).into(),
                };
                if code <= 0 {
                    return Err(malformed(at, "extension code not above 0"));
                }
                // copyreg's extension registry is empty unless a program fills it.
                self.found
                    .import(format!("copyreg extension code {code}"), at);
                self.push(Value::Unknown, at)
            }
        }
    }

    /// The module and name lines of GLOBAL or INST, as `module.name`.
    fn line_pair(&mut self, at: u64) -> Result<String, WalkError> {
        let module = self.cur.line(MAX_NAME_LINE)?;
        let name = self.cur.line(MAX_NAME_LINE)?;
        let (Some(module), Some(name)) = (module, name) else {
            return Err(WalkError::Limit {
                offset: at,
                what: "an import name longer than read",
            });
        };
        match (String::from_utf8(module), String::from_utf8(name)) {
            (Ok(m), Ok(n)) => Ok(format!("{m}.{n}")),
            _ => Err(malformed(at, "an import name that is not UTF-8")),
        }
    }

    /// OBJ, REDUCE, NEWOBJ, NEWOBJ_EX, BUILD, PERSID, BINPERSID.
    fn call(&mut self, op: u8, at: u64) -> Result<(), WalkError> {
        let value = match op {
            b'o' => {
                let mut items = self.pop_mark(at)?.into_iter();
                let class = items
                    .next()
                    .ok_or_else(|| malformed(at, "OBJ without a class"))?;
                let items: Vec<Value> = items.collect();
                let cells = items.len() as u64 + 2;
                self.model(Value::call(&class, Value::tuple(items)), cells)
            }
            b'R' | 0x81 => {
                let args = self.pop(at)?;
                let callable = self.pop(at)?;
                self.model(Value::call(&callable, args), 1)
            }
            0x92 => {
                self.pop(at)?;
                let args = self.pop(at)?;
                let class = self.pop(at)?;
                self.model(Value::call(&class, args), 1)
            }
            b'b' => {
                let state = self.pop(at)?;
                let target = self.top(at)?.clone();
                return self.build(&target, &state, at);
            }
            b'P' => {
                self.cur.line(0)?;
                Value::Unknown
            }
            _ => {
                self.pop(at)?;
                Value::Unknown
            }
        };
        self.push(value, at)
    }

    /// BUILD's effect on what is modelled: a dtype learns its item size; a
    /// joblib wrapper's array bytes are walked past.
    fn build(&mut self, target: &Value, state: &Value, at: u64) -> Result<(), WalkError> {
        let Value::Object(object) = target else {
            return Ok(());
        };
        match &*object.class {
            "numpy.dtype" => describe_dtype(object, state),
            JOBLIB_WRAPPER if self.joblib => {
                self.shadow_walk();
                self.skip_joblib_array(state, at)?;
                self.pop(at)?;
                self.push(Value::Unknown, at)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Walks what follows a joblib wrapper as a plain unpickler would (it
    /// reads the array bytes as opcodes): any import it resolves there is
    /// recorded. Real array bytes fail at once: joblib's padding-length
    /// byte is no opcode.
    /// All shadow walks of a region share one budget of opcodes, so that
    /// many wrappers cannot make the walk quadratic.
    fn shadow_walk(&mut self) {
        let pos = self.cur.pos();
        let budget = limits::MAX_PICKLE_OPS.saturating_sub(self.found.shadow_ops);
        let mut cur = self.cur.fork();
        let mut shadow = Findings::default();
        let mut walker = Walker::new(&mut cur, &mut shadow, false);
        walker.op_limit = budget;
        let result = walker.walk();
        let spent = walker.ops;
        if matches!(result, Err(WalkError::Limit { .. })) {
            if self.found.unchecked_arrays.len() < MAX_LISTED {
                self.found.unchecked_arrays.push(pos);
            } else {
                self.found.not_kept = self.found.not_kept.saturating_add(1);
            }
        }
        self.found.shadow_ops = self.found.shadow_ops.saturating_add(spent);
        for name in shadow.imports {
            self.found.import(name, pos);
        }
    }

    /// Moves past the array bytes joblib wrote after a wrapper whose
    /// state is `state`: padding, then shape × item size bytes, or, for
    /// object arrays, a whole nested pickle (walked).
    fn skip_joblib_array(&mut self, state: &Value, at: u64) -> Result<(), WalkError> {
        let bad = |what: &str| malformed(at, format!("joblib array wrapper {what}"));
        let Some(Value::Object(dtype)) = state.get("dtype") else {
            return Err(bad("without a dtype"));
        };
        if dtype.has_object.get() {
            let mut nested = Walker::new(&mut *self.cur, &mut *self.found, false);
            return nested.walk();
        }
        let count = state
            .get("shape")
            .as_ref()
            .and_then(Value::as_tuple)
            .and_then(element_count)
            .ok_or_else(|| bad("whose shape is not a tuple of sizes"))?;
        let itemsize = dtype
            .itemsize
            .get()
            .ok_or_else(|| bad("whose dtype's item size is unknown"))?;
        if let Some(alignment) = state
            .get("numpy_array_alignment_bytes")
            .and_then(|v| v.as_int())
        {
            let padding = self.cur.byte()?;
            // A padding byte below '(' is no opcode: plain unpicklers stop there.
            if i64::from(padding) > alignment || padding >= b'(' {
                return Err(bad("whose padding disagrees with its alignment"));
            }
            self.cur.skip(padding.into())?;
        }
        let bytes = count
            .checked_mul(itemsize)
            .ok_or_else(|| bad("larger than any file"))?;
        self.cur.skip(bytes)
    }
}

/// What BUILD tells of a `numpy.dtype` reduced with args `(typestr, align,
/// copy)` and state `(version, byteorder, subarray, names, fields, elsize,
/// alignment, flags, ...)`: its item size and whether it holds objects.
fn describe_dtype(dtype: &value::Object, state: &Value) {
    let typestr = dtype
        .args
        .as_tuple()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .unwrap_or("");
    let state = state.as_tuple().unwrap_or(&[]);
    let elsize = state.get(5).and_then(Value::as_int).filter(|&n| n > 0);
    let flags = state.get(7).and_then(Value::as_int).unwrap_or(0);
    let from_typestr = typestr
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0);
    let itemsize = elsize.and_then(|n| u64::try_from(n).ok()).or(from_typestr);
    dtype.itemsize.set(itemsize);
    // NPY_ITEM_REFCOUNT (bit 0): the dtype holds Python objects.
    dtype
        .has_object
        .set(typestr.starts_with('O') || flags & 1 != 0);
}

/// The number of elements of an array of `shape` (1 for `()`), or `None`
/// when a dimension is not a non-negative integer or the product overflows.
fn element_count(shape: &[Value]) -> Option<u64> {
    shape.iter().try_fold(1u64, |count, dim| {
        let dim = u64::try_from(dim.as_int()?).ok()?;
        count.checked_mul(dim)
    })
}

/// An INT or LONG line's value, when it fits an `i64`.
fn parse_int(digits: &[u8]) -> Value {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .map_or(Value::Unknown, Value::Int)
}

/// A little-endian two's complement integer of at most 8 bytes.
fn long_le(bytes: Option<Vec<u8>>) -> Value {
    let Some(bytes) = bytes else {
        return Value::Unknown;
    };
    let Some(&last) = bytes.last() else {
        return Value::Int(0);
    };
    let fill = if last & 0x80 != 0 { 0xff } else { 0 };
    let mut full = [fill; 8];
    for (slot, b) in full.iter_mut().zip(&bytes) {
        *slot = *b;
    }
    Value::Int(i64::from_le_bytes(full))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fixtures;
