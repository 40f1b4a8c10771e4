//! `modelseal inspect`: each malicious sample of fixtures/inspect/ caught by
//! name, each benign one passing, and bytes of no known format reported as
//! not inspected, never as safe. The real binary, on committed files made by
//! the real libraries (tests/inspect/make_*_corpus.py).

use crate::common::*;
use std::path::{Path, PathBuf};

fn sample(rel: &str) -> PathBuf {
    repo().join("fixtures/inspect").join(rel)
}

/// `inspect --format json` of `paths`: the exit code and the report.
fn inspect_json(paths: &[PathBuf]) -> (i32, serde_json::Value) {
    let out = modelseal()
        .arg("inspect")
        .args(paths)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), report)
}

fn only_file(report: &serde_json::Value) -> &serde_json::Value {
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{report}");
    &files[0]
}

/// Each malicious sample the issue names: its file, the problem kind, and
/// what the message must name.
const MALICIOUS: &[(&str, &str, &str)] = &[
    (
        "pickle/os_system_reduce.pkl",
        "unsafe_pickle",
        "posix.system",
    ),
    (
        "pickle/os_system_protocol0.pkl",
        "unsafe_pickle",
        "posix.system",
    ),
    ("pickle/builtins_eval.pkl", "unsafe_pickle", "builtins.eval"),
    ("pickle/builtins_exec.pkl", "unsafe_pickle", "builtins.exec"),
    (
        "pickle/getattr_chain.pkl",
        "unsafe_pickle",
        "builtins.getattr",
    ),
    (
        "pickle/nested_stack_global_memo.pkl",
        "unsafe_pickle",
        "os.system",
    ),
    (
        "pickle/unresolvable_stack_global.pkl",
        "unsafe_pickle",
        "STACK_GLOBAL",
    ),
    (
        "pickle/runpy_run_code.pkl",
        "unsafe_pickle",
        "runpy._run_code",
    ),
    (
        "pickle/subprocess_popen.pkl",
        "unsafe_pickle",
        "subprocess.Popen",
    ),
    (
        "pickle/webbrowser_open.pkl",
        "unsafe_pickle",
        "webbrowser.open",
    ),
    ("pickle/pip_main.pkl", "unsafe_pickle", "pip.main"),
    (
        "pickle/joblib_os_system.joblib",
        "unsafe_pickle",
        "posix.system",
    ),
    (
        "torch/poisoned_data_pkl.pt",
        "unsafe_pickle",
        "archive/data.pkl",
    ),
    (
        "numpy/object_os_system.npy",
        "unsafe_pickle",
        "posix.system",
    ),
    ("numpy/object_os_system.npz", "unsafe_pickle", "evil.npy"),
    (
        "safetensors/overlapping_offsets.safetensors",
        "malformed_safetensors",
        "overlaps",
    ),
    (
        "safetensors/duplicate_tensor_names.safetensors",
        "malformed_safetensors",
        "",
    ),
    (
        "safetensors/end_past_file.safetensors",
        "malformed_safetensors",
        "",
    ),
    (
        "safetensors/shape_dtype_mismatch.safetensors",
        "malformed_safetensors",
        "",
    ),
    (
        "gguf/template_cve_2024_34359.gguf",
        "unsafe_gguf_template",
        "__subclasses__",
    ),
    (
        "gguf/misaligned_tensor_offset.gguf",
        "malformed_gguf",
        "aligned",
    ),
    (
        "onnx/external_data_parent_escape.onnx",
        "unsafe_onnx_external_data",
        "../../etc/passwd",
    ),
    (
        "onnx/external_data_absolute.onnx",
        "unsafe_onnx_external_data",
        "/etc/passwd",
    ),
    ("keras/lambda.keras", "keras_lambda", "evil_lambda"),
    (
        "keras/time_distributed_lambda.keras",
        "keras_lambda",
        "wrapped_lambda",
    ),
];

/// Real files the real libraries wrote, with the format each must be seen as.
const BENIGN: &[(&str, &str)] = &[
    ("pickle/benign_protocol0.pkl", "pickle"),
    ("pickle/benign_protocol1.pkl", "pickle"),
    ("pickle/benign_protocol2.pkl", "pickle"),
    ("pickle/benign_protocol3.pkl", "pickle"),
    ("pickle/benign_protocol4.pkl", "pickle"),
    ("pickle/benign_protocol5.pkl", "pickle"),
    ("pickle/numpy_array_protocol5.pkl", "pickle"),
    ("pickle/joblib_arrays.joblib", "pickle"),
    ("torch/state_dict.pt", "torch_zip"),
    ("numpy/float32_2x3.npy", "numpy"),
    ("numpy/arrays_compressed.npz", "numpy_zip"),
    (
        "safetensors/benign_several_dtypes.safetensors",
        "safetensors",
    ),
    ("gguf/benign_llama3_template.gguf", "gguf"),
    ("onnx/external_data_benign.onnx", "onnx"),
    ("onnx/inline_weights.onnx", "onnx"),
    ("keras/dense.keras", "keras"),
];

#[test]
fn every_malicious_sample_is_caught_by_name_and_fails() {
    for (rel, kind, needle) in MALICIOUS {
        let (code, report) = inspect_json(&[sample(rel)]);
        assert_eq!(code, 1, "{rel}: {report}");
        assert_eq!(report["ok"], false, "{rel}");
        let file = only_file(&report);
        assert_eq!(file["verdict"], "unsafe", "{rel}");
        let problems = file["problems"].as_array().unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p["kind"] == *kind && p["message"].as_str().unwrap().contains(needle)),
            "{rel}: no {kind} naming {needle:?} in {problems:?}"
        );
    }
}

#[test]
fn every_benign_real_file_passes_as_its_format() {
    let paths: Vec<PathBuf> = BENIGN.iter().map(|(rel, _)| sample(rel)).collect();
    let (code, report) = inspect_json(&paths);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["counts"]["ok"], BENIGN.len());
    for ((rel, format), file) in BENIGN.iter().zip(report["files"].as_array().unwrap()) {
        assert_eq!(file["verdict"], "ok", "{rel}: {file}");
        assert_eq!(file["format"], *format, "{rel}");
        assert_eq!(file["problems"], serde_json::json!([]), "{rel}");
    }
}

#[test]
fn a_pickle_reports_every_import_it_makes() {
    let (_, report) = inspect_json(&[sample("pickle/getattr_chain.pkl")]);
    let imports = only_file(&report)["imports"].as_array().unwrap().clone();
    assert!(imports.contains(&"builtins.getattr".into()), "{imports:?}");
    assert!(
        imports.contains(&"builtins.__import__".into()),
        "{imports:?}"
    );
}

#[test]
fn raw_floats_in_a_bin_are_not_a_pickle_and_not_called_safe() {
    let s = Scratch::new();
    let bin = s.path("pytorch_model.bin");
    let floats: Vec<u8> = (0..4096u32)
        .flat_map(|i| (i as f32 * 0.37).to_le_bytes())
        .collect();
    write(&bin, &floats);
    let (code, report) = inspect_json(std::slice::from_ref(&bin));
    assert_eq!(code, 0, "unknown is not a failure: {report}");
    let file = only_file(&report);
    assert_eq!(file["verdict"], "uninspected");
    assert_eq!(file["format"], "unknown");
    assert!(file["note"].as_str().unwrap().contains("no format"));
}

#[test]
fn a_directory_is_walked_without_following_links() {
    let s = Scratch::new();
    let dir = s.path("model");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::copy(
        sample("pickle/os_system_reduce.pkl"),
        dir.join("sub/evil.pkl"),
    )
    .unwrap();
    std::fs::copy(
        sample("safetensors/benign_several_dtypes.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    std::os::unix::fs::symlink(sample("pickle/builtins_eval.pkl"), dir.join("link.pkl")).unwrap();
    let (code, report) = inspect_json(std::slice::from_ref(&dir));
    assert_eq!(code, 1, "{report}");
    let verdicts: Vec<(String, String)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let rel = Path::new(path).strip_prefix(&dir).unwrap();
            (
                rel.display().to_string(),
                f["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("link.pkl".to_string(), "uninspected".to_string()),
            ("model.safetensors".to_string(), "ok".to_string()),
            ("sub/evil.pkl".to_string(), "unsafe".to_string()),
        ]
    );
    assert_eq!(report["counts"]["unsafe"], 1);
}

#[test]
fn the_text_report_names_each_file_its_format_and_what_was_found() {
    let out = modelseal()
        .arg("inspect")
        .arg(sample("pickle/os_system_reduce.pkl"))
        .arg(sample("torch/state_dict.pt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("os_system_reduce.pkl: pickle, UNSAFE"),
        "{text}"
    );
    assert!(
        text.contains("  unsafe_pickle: imports outside the allow list"),
        "{text}"
    );
    assert!(text.contains("state_dict.pt: PyTorch zip, ok"), "{text}");
    assert!(
        text.ends_with("2 files: 1 unsafe, 1 ok, 0 not inspected\n"),
        "{text}"
    );
}

#[test]
fn a_missing_path_is_an_input_error() {
    let s = Scratch::new();
    let out = modelseal()
        .arg("inspect")
        .arg(s.path("nothing-here"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing-here"));
}

/// A model whose signed files include `pickle` (a fixture), signed by `release`.
fn signed_model_with(s: &Scratch, pickle: &str) -> (PathBuf, PathBuf) {
    let dir = s.path("with-pickle");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(sample(pickle), dir.join("pytorch_model.bin")).unwrap();
    s.signed_model_in(&dir)
}

fn verify_json(dir: &Path, public: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = modelseal()
        .arg("verify")
        .arg(dir)
        .arg("--key")
        .arg(public)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), report)
}

#[test]
fn verify_inspect_fails_a_signed_malicious_pickle_without_touching_the_level() {
    let s = Scratch::new();
    let (dir, public) = signed_model_with(&s, "pickle/os_system_reduce.pkl");
    // Signed and intact: without --inspect it verifies, and says nothing of content.
    let (code, report) = verify_json(&dir, &public, &[]);
    assert_eq!(code, 0, "{report}");
    assert!(report.get("content").is_none(), "{report}");
    let (code, report) = verify_json(&dir, &public, &["--inspect"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["level"]["reached"], 1,
        "the bytes are the signed ones"
    );
    assert_eq!(report["problems"], serde_json::json!([]));
    let content = report["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{content:?}");
    assert_eq!(content[0]["kind"], "unsafe_pickle");
    assert_eq!(content[0]["path"], "pytorch_model.bin");
    assert!(
        content[0]["message"]
            .as_str()
            .unwrap()
            .contains("posix.system")
    );
}

#[test]
fn verify_inspect_passes_a_benign_model_and_says_it_looked() {
    let s = Scratch::new();
    let (dir, public) = signed_model_with(&s, "pickle/benign_protocol4.pkl");
    let (code, report) = verify_json(&dir, &public, &["--inspect"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["content"], serde_json::json!([]));
    let text = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .arg("--inspect")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("content:    inspected, nothing unsafe to load found"),
        "{text}"
    );
}

#[test]
fn verify_inspect_with_copy_to_publishes_nothing_unsafe() {
    let s = Scratch::new();
    let (dir, public) = signed_model_with(&s, "pickle/subprocess_popen.pkl");
    let dest = s.path("out/model");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .arg("--inspect")
        .arg("--copy-to")
        .arg(&dest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unsafe_pickle"), "{text}");
    assert!(
        text.contains("FAILED: level 1 (signed) holds, but 1 content problem(s)"),
        "{text}"
    );
    assert!(!dest.exists());
    assert_eq!(
        std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
        0
    );
}

#[test]
fn verify_inspect_refuses_a_partition() {
    let s = Scratch::new();
    let (dir, public) = s.signed_model();
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .args(["--inspect", "--partition", "0/2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn verify_inspect_refuses_sarif_which_would_not_carry_its_findings() {
    let s = Scratch::new();
    let (dir, public) = signed_model_with(&s, "pickle/os_system_reduce.pkl");
    let out = modelseal()
        .arg("verify")
        .arg(&dir)
        .arg("--key")
        .arg(&public)
        .args(["--inspect", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("not in SARIF output"), "{said}");
}
