use super::*;
use crate::inspect::InMemory;

/// Inspects `bytes` as a bare pickle file.
fn inspect(bytes: &[u8]) -> (Inspection, PickleWalk) {
    let mut out = Inspection::default();
    let walk = inspect_pickle(&InMemory(bytes), 0, bytes.len() as u64, &mut out);
    (out, walk)
}

/// The kinds of the problems found.
fn kinds(out: &Inspection) -> Vec<ContentProblemKind> {
    out.problems.iter().map(|p| p.kind).collect()
}

/// A SHORT_BINUNICODE of `s`.
fn short_str(s: &str) -> Vec<u8> {
    let mut v = vec![0x8c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

#[test]
fn global_reduce_is_refused_and_named() {
    let (out, walk) = inspect(b"cos\nsystem\n(S'echo hi'\ntR.");
    assert_eq!(kinds(&out), [ContentProblemKind::UnsafePickle]);
    assert!(out.problems[0].message.contains("os.system (offset 0)"));
    assert_eq!(out.imports, ["os.system"]);
    assert_eq!(walk.pickles, 1);
    assert_eq!(walk.trailing_bytes, 0);
}

#[test]
fn allowed_globals_make_no_problem() {
    let (out, _) = inspect(b"\x80\x02ccollections\nOrderedDict\n)R.");
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(out.imports, ["collections.OrderedDict"]);
}

#[test]
fn stack_global_through_the_memo_resolves() {
    // 'builtins' memoised as 0, 'eval' as 1; later fetched with BINGET.
    let mut p = b"\x80\x04".to_vec();
    p.extend(short_str("builtins"));
    p.push(0x94);
    p.extend(short_str("eval"));
    p.push(0x94);
    p.extend(b"0h\x00h\x01\x93\x94");
    p.extend(short_str("1+1"));
    p.extend(b"\x85R.");
    let (out, _) = inspect(&p);
    assert_eq!(kinds(&out), [ContentProblemKind::UnsafePickle]);
    assert_eq!(out.imports, ["builtins.eval"]);
    assert!(out.problems[0].message.contains("builtins.eval"));
}

#[test]
fn stack_global_with_unknown_operands_is_unresolvable() {
    // The module name is a bytes payload, not a string.
    let mut p = b"\x80\x04C\x02os".to_vec();
    p.extend(short_str("system"));
    p.extend(b"\x93.");
    let (out, _) = inspect(&p);
    assert_eq!(kinds(&out), [ContentProblemKind::UnsafePickle]);
    assert!(out.problems[0].message.contains("unresolvable"));
    assert!(out.imports.is_empty());
}

#[test]
fn protocol_0_strings_decode_their_escapes() {
    let (out, _) = inspect(b"Vo\\u0073\nVsystem\n\x93.");
    assert_eq!(out.imports, ["os.system"]);
    let (out, _) = inspect(b"S'o\\x73'\nS'system'\n\x93.");
    assert_eq!(out.imports, ["os.system"]);
}

#[test]
fn inst_obj_and_ext_count_as_imports() {
    let (out, _) = inspect(b"(S'ls'\nisubprocess\ncheck_output\n.");
    assert_eq!(out.imports, ["subprocess.check_output"]);
    assert_eq!(kinds(&out), [ContentProblemKind::UnsafePickle]);
    let (out, _) = inspect(b"(cposix\nsystem\nS'ls'\no.");
    assert_eq!(out.imports, ["posix.system"]);
    let (out, _) = inspect(b"\x80\x02\x82\x07).");
    assert_eq!(kinds(&out), [ContentProblemKind::UnsafePickle]);
    assert_eq!(out.imports, ["copyreg extension code 7"]);
}

#[test]
fn payloads_are_skipped_by_their_lengths() {
    let mut p = b"\x80\x04\x8e".to_vec();
    p.extend(5000u64.to_le_bytes());
    p.extend(vec![b'c'; 5000]);
    p.push(b'.');
    let (out, walk) = inspect(&p);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(walk.end, p.len() as u64);
    // A length past the end is truncation, not a huge allocation.
    let mut p = b"\x80\x04\x8d".to_vec();
    p.extend(u64::MAX.to_le_bytes());
    let (out, _) = inspect(&p);
    assert_eq!(kinds(&out), [ContentProblemKind::MalformedPickle]);
    assert!(out.problems[0].message.contains("truncated"));
}

#[test]
fn malformed_pickles_name_the_offset() {
    for (bytes, needle) in [
        (&b"\x80\x02K\x01"[..], "truncated"),
        (b"\x80\x02\xff.", "unknown opcode 0xff at offset 2"),
        (b"\x80\x02.", "stack underflow at offset 2"),
        (b"\x80\x02h\x05.", "memo key 5 not found"),
        (b"\x80\x09N.", "unsupported protocol 9"),
        (b"\x80\x02(K\x01d.", "odd number of items for DICT"),
        (b"\x80\x02K\x01t.", "no MARK"),
        (b"\x80\x02(\x85.", "stack underflow"),
    ] {
        let (out, walk) = inspect(bytes);
        assert_eq!(
            kinds(&out),
            [ContentProblemKind::MalformedPickle],
            "{bytes:?}"
        );
        assert!(
            out.problems[0].message.contains(needle),
            "{bytes:?}: {}",
            out.problems[0].message
        );
        assert_eq!(walk.pickles, 0);
    }
}

#[test]
fn pop_at_a_mark_pops_the_mark() {
    let (out, _) = inspect(b"\x80\x02N(0.");
    assert!(out.problems.is_empty(), "{:?}", out.problems);
}

#[test]
fn consecutive_pickles_are_walked_and_trailing_bytes_noted() {
    let mut p = b"\x80\x02K\x01.".to_vec();
    p.extend(b"\x80\x02cos\nsystem\n.");
    p.extend(b"\x00\x01raw storage bytes");
    let (out, walk) = inspect(&p);
    assert_eq!(walk.pickles, 2);
    assert_eq!(walk.trailing_bytes, 19);
    assert_eq!(out.imports, ["os.system"]);
    // A torch storage that starts like a pickle but is not one: data.
    let mut p = b"\x80\x02K\x01.".to_vec();
    p.extend(b"\x80\x02\x00\x00\x00\x00");
    let (out, walk) = inspect(&p);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!((walk.pickles, walk.trailing_bytes), (1, 6));
    // ... but one that imports before it fails is reported.
    let mut p = b"\x80\x02K\x01.".to_vec();
    p.extend(b"\x80\x02cos\nsystem\n\x00");
    let (out, _) = inspect(&p);
    assert_eq!(
        kinds(&out),
        [
            ContentProblemKind::MalformedPickle,
            ContentProblemKind::UnsafePickle
        ]
    );
}

#[test]
fn entries_are_walked_once() {
    let mut p = b"\x80\x02K\x01.".to_vec();
    p.extend(b"\x80\x02cos\nsystem\n.");
    let mut out = Inspection::default();
    let walk = inspect_pickle_with(
        &InMemory(&p),
        0,
        p.len() as u64,
        PickleOptions::ENTRY,
        &mut out,
    );
    assert_eq!(walk.pickles, 1);
    assert!(out.imports.is_empty());
}

/// A joblib-style pickle: a wrapper for a float64 array of `shape`, its
/// padding and raw bytes, then `tail`.
fn joblib_like(shape: &[u8], raw: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut p = b"\x80\x04cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(".to_vec();
    p.extend(short_str("shape"));
    p.push(b'(');
    for &d in shape {
        p.extend([b'K', d]);
    }
    p.push(b't');
    p.extend(short_str("dtype"));
    p.extend(b"cnumpy\ndtype\n");
    p.extend(short_str("f8"));
    p.extend(b"\x89\x88\x87R(K\x03");
    p.extend(short_str("<"));
    p.extend(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb");
    p.extend(short_str("numpy_array_alignment_bytes"));
    p.extend(b"K\x10ub");
    p.extend(raw);
    p.extend(tail);
    p
}

#[test]
fn joblib_array_bytes_are_skipped_by_shape_and_dtype() {
    // Raw bytes that would be opcodes (GLOBAL os system) if read as such.
    let mut raw = vec![3u8, 0xff, 0xff, 0xff];
    raw.extend(b"cos\nsystem\n.\x00\x00\x00\x00");
    let p = joblib_like(&[2], &raw, b".");
    let (out, walk) = inspect(&p);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(walk.end, p.len() as u64);
    assert_eq!(
        out.imports,
        ["joblib.numpy_pickle.NumpyArrayWrapper", "numpy.dtype"]
    );
    // A shape that claims more bytes than the file has.
    let (out, _) = inspect(&joblib_like(&[200, 200], &raw, b"."));
    assert_eq!(kinds(&out), [ContentProblemKind::MalformedPickle]);
}

#[test]
fn joblib_padding_that_a_plain_unpickler_would_run_is_refused() {
    // Padding byte 'c' starts a GLOBAL for pickle.load.
    let raw = b"cos\nsystem\n.\x00\x00\x00\x00\x00\x00\x00\x00";
    let (out, _) = inspect(&joblib_like(&[0], raw, b"."));
    assert!(kinds(&out).contains(&ContentProblemKind::UnsafePickle));
    assert!(out.imports.contains(&"os.system".to_string()));
}

#[test]
fn looks_like_pickle_takes_protocol_0_and_refuses_raw_data() {
    assert!(looks_like_pickle(b"(dp0\nVx\np1\nI1\ns."));
    assert!(looks_like_pickle(b"}q\x00(X\x01\x00\x00\x00xq\x01K\x01u."));
    assert!(looks_like_pickle(
        b"ccollections\nOrderedDict\np0\n(tRp1\n(V"
    ));
    let floats: Vec<u8> = (0..256u32)
        .flat_map(|i| (i as f32 * 0.37).to_le_bytes())
        .collect();
    assert!(!looks_like_pickle(&floats));
    assert!(!looks_like_pickle(b"(this is text, not a pickle)"));
    assert!(!looks_like_pickle(b"config = 1\n"));
    assert!(!looks_like_pickle(b""));
    assert!(!looks_like_pickle(b"(."));
    // Raw floats that happen to start with a mark, None, STOP: data.
    let mut floats = b"(N.".to_vec();
    floats.extend((0..64u32).flat_map(|i| (i as f32).to_le_bytes()));
    assert!(!looks_like_pickle(&floats));
    for first in [b'(', b'c', b'}', b']', b')'] {
        for seed in 0..200u32 {
            let mut data = vec![first];
            data.extend((0..1024u32).flat_map(|i| ((i * 7 + seed) as f32 * 1.37).to_le_bytes()));
            assert!(!looks_like_pickle(&data), "{first} {seed}");
        }
    }
}

#[test]
fn deep_nesting_and_many_ops_stay_bounded() {
    // 100k nested one-tuples: modelled up to a depth, then unknown.
    let mut p = b"\x80\x02)".to_vec();
    p.extend(vec![0x85; 100_000]);
    p.push(b'.');
    let (out, _) = inspect(&p);
    assert!(out.problems.is_empty());
    // 100k marks and nothing else: truncated, not a crash.
    let (out, _) = inspect(&vec![b'('; 100_000]);
    assert_eq!(kinds(&out), [ContentProblemKind::MalformedPickle]);
}
