//! The committed corpus of fixtures/inspect/ (made by
//! tests/inspect/make_pickle_corpus.py from the real numpy, joblib and
//! pickle), each file by name: malicious ones yield the right problem
//! naming the import or layer, benign ones none.

use crate::inspect::InMemory;
use crate::inspect::{self, ContentProblemKind, Format, Inspection};
use ContentProblemKind::*;

/// Inspects a fixture as the lead's dispatcher would: by sniffing.
fn inspect_fixture(rel: &str) -> Inspection {
    let path = format!("{}/fixtures/inspect/{rel}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let src = InMemory(&bytes);
    let len = bytes.len() as u64;
    let head = bytes.get(..inspect::SNIFF_BYTES).unwrap_or(&bytes);
    let mut out = Inspection::default();
    match inspect::sniff(head, len) {
        Format::Zip => inspect::zip::inspect_zip(&src, &mut out),
        Format::Numpy => {
            out.format = Some(Format::Numpy);
            inspect::numpy::inspect_npy(&src, 0, len, &mut out);
        }
        Format::Pickle => {
            out.format = Some(Format::Pickle);
            inspect::pickle::inspect_pickle(&src, 0, len, &mut out);
        }
        _ if inspect::pickle::looks_like_pickle(head) => {
            out.format = Some(Format::Pickle);
            inspect::pickle::inspect_pickle(&src, 0, len, &mut out);
        }
        other => out.format = Some(other),
    }
    out
}

/// Asserts the fixture is of `format` and has no problem.
fn benign(rel: &str, format: Format) {
    let out = inspect_fixture(rel);
    assert_eq!(out.format, Some(format), "{rel}");
    assert!(out.problems.is_empty(), "{rel}: {:?}", out.problems);
}

/// Asserts the fixture has exactly problems of `kinds`, the first naming `needle`.
fn malicious(rel: &str, kinds: &[ContentProblemKind], needle: &str) {
    let out = inspect_fixture(rel);
    let found: Vec<_> = out.problems.iter().map(|p| p.kind).collect();
    assert_eq!(found, kinds, "{rel}: {:?}", out.problems);
    assert!(
        out.problems[0].message.contains(needle),
        "{rel}: {:?} lacks {needle}",
        out.problems[0].message
    );
}

#[test]
fn benign_pickles_at_every_protocol_pass() {
    for proto in 0..=5 {
        benign(
            &format!("pickle/benign_protocol{proto}.pkl"),
            Format::Pickle,
        );
    }
    for proto in [2, 4, 5] {
        benign(
            &format!("pickle/numpy_array_protocol{proto}.pkl"),
            Format::Pickle,
        );
    }
    benign("pickle/numpy_scalar.pkl", Format::Pickle);
    let out = inspect_fixture("pickle/benign_protocol0.pkl");
    assert!(out.imports.contains(&"__builtin__.set".to_string()));
}

#[test]
fn malicious_pickles_name_their_imports() {
    for (rel, needle) in [
        ("pickle/os_system_reduce.pkl", "posix.system"),
        ("pickle/os_system_protocol0.pkl", "posix.system"),
        ("pickle/builtins_eval.pkl", "builtins.eval"),
        ("pickle/builtins_exec.pkl", "builtins.exec"),
        ("pickle/runpy_run_code.pkl", "runpy._run_code"),
        ("pickle/subprocess_popen.pkl", "subprocess.Popen"),
        ("pickle/webbrowser_open.pkl", "webbrowser.open"),
        ("pickle/pip_main.pkl", "pip.main"),
        ("pickle/getattr_chain.pkl", "builtins.__import__"),
        ("pickle/nested_stack_global_memo.pkl", "os.system"),
        (
            "pickle/unresolvable_stack_global.pkl",
            "unresolvable import",
        ),
    ] {
        malicious(rel, &[UnsafePickle], needle);
    }
    let chain = inspect_fixture("pickle/getattr_chain.pkl");
    assert_eq!(chain.imports, ["builtins.__import__", "builtins.getattr"]);
    malicious("pickle/truncated.pkl", &[MalformedPickle], "truncated");
}

#[test]
fn joblib_dumps_are_walked_past_their_arrays() {
    benign("pickle/joblib_arrays.joblib", Format::Pickle);
    benign("pickle/joblib_object_array.joblib", Format::Pickle);
    let out = inspect_fixture("pickle/joblib_arrays.joblib");
    assert!(
        out.imports
            .contains(&"joblib.numpy_pickle.NumpyArrayWrapper".to_string())
    );
    // The import after an array is reached: the array was skipped right.
    malicious(
        "pickle/joblib_os_system.joblib",
        &[UnsafePickle],
        "posix.system",
    );
}

#[test]
fn torch_archives_allow_state_dicts_and_refuse_poison() {
    benign("torch/state_dict.pt", Format::TorchZip);
    let out = inspect_fixture("torch/state_dict.pt");
    assert_eq!(
        out.imports,
        [
            "collections.OrderedDict",
            "torch.FloatStorage",
            "torch._utils._rebuild_tensor_v2"
        ]
    );
    malicious(
        "torch/poisoned_data_pkl.pt",
        &[UnsafePickle],
        "archive/data.pkl: ",
    );
    malicious(
        "torch/poisoned_data_pkl.pt",
        &[UnsafePickle],
        "posix.system",
    );
}

#[test]
fn numpy_arrays_and_archives() {
    for rel in ["float32_2x3", "structured", "unicode", "object_benign"] {
        benign(&format!("numpy/{rel}.npy"), Format::Numpy);
    }
    benign("numpy/arrays.npz", Format::NumpyZip);
    benign("numpy/arrays_compressed.npz", Format::NumpyZip);
    malicious(
        "numpy/object_os_system.npy",
        &[UnsafePickle],
        "posix.system",
    );
    malicious("numpy/object_os_system.npz", &[UnsafePickle], "evil.npy: ");
    malicious(
        "numpy/object_os_system_compressed.npz",
        &[UnsafePickle],
        "evil.npy: imports outside the allow list, which loading runs: posix.system",
    );
    malicious(
        "numpy/truncated_data.npy",
        &[MalformedNumpy],
        "needs 64 data bytes",
    );
}

#[test]
fn keras_lambdas_are_named() {
    benign("keras/dense.keras", Format::Keras);
    malicious("keras/lambda.keras", &[KerasLambda], "evil_lambda");
    malicious(
        "keras/time_distributed_lambda.keras",
        &[KerasLambda],
        "wrapped_lambda",
    );
    malicious(
        "keras/lambda_deflated.keras",
        &[KerasLambda],
        "config.json: Lambda layer \"evil_lambda\"",
    );
}
