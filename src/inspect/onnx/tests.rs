use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/inspect/onnx");

/// A protobuf field: tag, then a varint or length-delimited bytes.
fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn bytes_field(field: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(field << 3 | 2, &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

fn varint_field(field: u64, n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(field << 3, &mut out);
    varint(n, &mut out);
    out
}

/// A TensorProto with external data at `location`.
fn external_tensor(name: &str, location: &str) -> Vec<u8> {
    let mut tensor = bytes_field(8, name.as_bytes());
    let entry = [
        bytes_field(1, b"location"),
        bytes_field(2, location.as_bytes()),
    ]
    .concat();
    tensor.extend(bytes_field(13, &entry));
    let offset = [bytes_field(1, b"offset"), bytes_field(2, b"0")].concat();
    tensor.extend(bytes_field(13, &offset));
    tensor.extend(varint_field(14, 1));
    tensor
}

fn model(graph: &[u8]) -> Vec<u8> {
    [
        varint_field(1, 9),
        bytes_field(2, b"test"),
        bytes_field(7, graph),
    ]
    .concat()
}

fn kinds(bytes: &[u8]) -> Vec<(ContentProblemKind, String)> {
    let inspection = inspect(bytes).unwrap();
    assert_eq!(inspection.format, Some(Format::Onnx));
    inspection
        .problems
        .into_iter()
        .map(|p| (p.kind, p.message))
        .collect()
}

#[test]
fn external_locations_are_recorded_and_escapes_flagged() {
    let graph = [
        bytes_field(5, &external_tensor("w", "weights.bin")),
        bytes_field(5, &external_tensor("evil", "../../etc/passwd")),
    ]
    .concat();
    let bytes = model(&graph);
    let inspection = inspect(bytes.as_slice()).unwrap();
    assert_eq!(inspection.references, ["weights.bin", "../../etc/passwd"]);
    let [problem] = inspection.problems.as_slice() else {
        panic!("{:?}", inspection.problems);
    };
    assert_eq!(problem.kind, ContentProblemKind::UnsafeOnnxExternalData);
    assert!(problem.message.contains("\"evil\""), "{}", problem.message);
    assert!(problem.message.contains("has a `..` component"));
}

#[test]
fn nested_graphs_and_sparse_initializers_are_walked() {
    let inner = bytes_field(5, &external_tensor("deep", "/etc/shadow"));
    let attribute = [bytes_field(1, b"then_branch"), bytes_field(6, &inner)].concat();
    let node = bytes_field(5, &attribute);
    let sparse = bytes_field(1, &external_tensor("sparse", "C:/x"));
    let graph = [bytes_field(1, &node), bytes_field(15, &sparse)].concat();
    let found = kinds(&model(&graph));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].1.contains("\"deep\"") && found[0].1.contains("absolute"));
    assert!(found[1].1.contains("\"sparse\"") && found[1].1.contains("drive letter"));
}

#[test]
fn location_checks() {
    for bad in ["/abs", "a\\b", "a\0b", "..", "x/../y", "", ".", "C:x", "./"] {
        assert!(location_escapes(bad).is_some(), "{bad:?}");
    }
    for good in ["w.bin", "data/w.bin", "./w.bin", "a..b", "...x"] {
        assert_eq!(location_escapes(good), None, "{good:?}");
    }
}

#[test]
fn broken_structures_are_malformed() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            bytes_field(7, b"\x0a\xff\xff\xff\x0f"),
            "past its message's end",
        ),
        (vec![0x08], "runs past its message's end"),
        (vec![0x0b, 0x00], "wire type 3"),
        (vec![0x00], "field number 0"),
        (
            vec![
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ],
            "over 64 bits",
        ),
    ];
    for (bytes, expected) in cases {
        let found = kinds(&bytes);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, ContentProblemKind::MalformedOnnx);
        assert!(
            found[0].1.contains(expected),
            "{expected:?} not in {found:?}"
        );
    }
    // Graphs nested past the depth limit.
    let mut graph = Vec::new();
    for _ in 0..100 {
        let attribute = bytes_field(6, &graph);
        graph = bytes_field(1, &bytes_field(5, &attribute));
    }
    assert!(kinds(&model(&graph))[0].1.contains("nest more than"));
    // A bad offset number.
    let mut tensor = external_tensor("w", "w.bin");
    tensor.extend(bytes_field(
        13,
        &[bytes_field(1, b"length"), bytes_field(2, b"-1")].concat(),
    ));
    assert!(
        kinds(&model(&bytes_field(5, &tensor)))[0]
            .1
            .contains("length \"-1\"")
    );
}

#[test]
fn raw_data_is_skipped_unread() {
    // A huge raw_data length inside a tensor whose bytes are not there is
    // caught by its length, not read.
    let mut tensor = bytes_field(8, b"w");
    tensor.extend(bytes_field(9, &vec![7u8; 100_000]));
    let found = kinds(&model(&bytes_field(5, &tensor)));
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn the_head_of_a_model_is_recognised_and_floats_are_not() {
    assert!(looks_like_onnx(&model(b"")));
    let long_graph = model(&vec![0u8; 10_000]);
    assert!(looks_like_onnx(&long_graph[..100]));
    let floats: Vec<u8> = (0..64u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
    assert!(!looks_like_onnx(&floats));
    assert!(!looks_like_onnx(b"\x08\x07"));
    assert!(!looks_like_onnx(b""));
    assert!(!looks_like_onnx(
        &[varint_field(1, 9), varint_field(9, 1)].concat()
    ));
    assert!(!looks_like_onnx(
        &[varint_field(1, 9), bytes_field(2, b"\xff\xfe")].concat()
    ));
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

#[test]
fn models_saved_by_onnx_itself() {
    let benign = fixture("external_data_benign.onnx");
    assert!(looks_like_onnx(&benign));
    let inspection = inspect(benign.as_slice()).unwrap();
    assert_eq!(inspection.problems, Vec::new());
    assert_eq!(inspection.references, ["external_data_benign.onnx.data"]);
    let inline = fixture("inline_weights.onnx");
    assert!(looks_like_onnx(&inline));
    let inspection = inspect(inline.as_slice()).unwrap();
    assert_eq!(inspection.problems, Vec::new());
    assert!(inspection.references.is_empty());
    assert!(!looks_like_onnx(&fixture("external_data_benign.onnx.data")));
}

#[test]
fn escaping_models_made_with_onnx() {
    for (name, location, why) in [
        (
            "external_data_parent_escape.onnx",
            "../../etc/passwd",
            "`..` component",
        ),
        (
            "external_data_absolute.onnx",
            "/etc/passwd",
            "absolute path",
        ),
    ] {
        let inspection = inspect(fixture(name).as_slice()).unwrap();
        assert_eq!(inspection.references, [location], "{name}");
        let [problem] = inspection.problems.as_slice() else {
            panic!("{name}: {:?}", inspection.problems);
        };
        assert_eq!(problem.kind, ContentProblemKind::UnsafeOnnxExternalData);
        assert!(
            problem.message.contains("\"weight\""),
            "{}",
            problem.message
        );
        assert!(problem.message.contains(why), "{}", problem.message);
    }
}
