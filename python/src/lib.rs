//! `modelseal._modelseal`: the native half of the `modelseal` Python package.
//!
//! Thin: each function turns its arguments into the library's options, runs
//! the library on a worker thread with the GIL released, and hands back the
//! library's result as plain Python values (the verify report as the JSON
//! that `modelseal verify --format json` prints). The typed API, the
//! dataclasses and `VerificationError` live in `python/modelseal/`.
//!
//! Every error is raised as `modelseal.ModelsealError` with the library's
//! message; Ctrl-C (or any exception a signal handler raises) stops the
//! worker and is re-raised.
#![forbid(unsafe_code)]

use modelseal::gate::{self, GateOptions};
use modelseal::hashing::{self, Cancellable, NoProgress, Progress};
use modelseal::keys;
use modelseal::manifest::{self, Kind};
use modelseal::oms::OmsVerifyError;
use modelseal::problem::Problem;
use modelseal::release::{self, InitOptions, ListingMode, ReleaseError};
use modelseal::timestamp::Timestamp;
use modelseal::trust::TrustPolicy;
use modelseal::verify::{MAX_LEVEL, VerifyError, VerifyOptions};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use zeroize::Zeroizing;

pyo3::create_exception!(
    modelseal,
    ModelsealError,
    PyException,
    "An input, usage or I/O error that stopped modelseal before a verdict: \
     no manifest, a malformed manifest, key or policy, a bad level, an unreadable directory."
);

/// Environment variable that holds a private key's passphrase (as for the CLI).
const PASSPHRASE_ENV: &str = "MODELSEAL_PASSPHRASE";

/// How long the thread holding Python waits between checks for signals.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

fn error(message: impl std::fmt::Display) -> PyErr {
    ModelsealError::new_err(message.to_string())
}

/// A release error, with the problems it carries named one per line.
fn release_error(err: ReleaseError) -> PyErr {
    let mut message = err.to_string();
    if let ReleaseError::NotSealable(problems) | ReleaseError::Mismatch(problems) = &err {
        for p in problems {
            message.push_str("\n  ");
            message.push_str(&problem_line(p));
        }
    }
    error(message)
}

fn problem_line(p: &Problem) -> String {
    format!(
        "{} {}: {}",
        p.kind.as_str(),
        modelseal::escape::field(&p.path),
        modelseal::escape::field(&p.message)
    )
}

fn problem_tuples(problems: &[Problem]) -> Vec<(String, String, String)> {
    problems
        .iter()
        .map(|p| {
            (
                p.kind.as_str().to_owned(),
                p.path.clone(),
                p.message.clone(),
            )
        })
        .collect()
}

/// `jobs=None` is every core; otherwise 1 to 65535, as `--jobs`.
fn jobs(value: Option<i64>) -> PyResult<usize> {
    match value {
        None => Ok(hashing::default_jobs()),
        Some(n) => u16::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .map(usize::from)
            .ok_or_else(|| {
                error(format!(
                    "jobs={n}: give a number of threads from 1 to 65535"
                ))
            }),
    }
}

fn level(value: i64) -> PyResult<u8> {
    u8::try_from(value)
        .ok()
        .filter(|l| *l <= MAX_LEVEL)
        .ok_or_else(|| {
            error(format!(
                "level {value} does not exist; levels are 0 (intact) to 3 (chained)"
            ))
        })
}

/// The policy `key=` and `trust=` make, as the CLI's `--key` and `--trust`:
/// trust.toml joined by the keys; the keys alone (threshold 1); or none.
fn policy(keys: &[PathBuf], trust: Option<&Path>) -> PyResult<Option<TrustPolicy>> {
    let mut policy = match trust {
        Some(path) => TrustPolicy::load(path).map_err(error)?,
        None if keys.is_empty() => return Ok(None),
        None => TrustPolicy::from_key_files(&[]).map_err(error)?,
    };
    policy.add_key_files(keys).map_err(error)?;
    Ok(Some(policy))
}

/// `verify DIR/provenance.toml` means `verify DIR`, as for the CLI.
fn model_dir(path: PathBuf) -> PathBuf {
    let names_manifest = path.file_name() == Some(std::ffi::OsStr::new(modelseal::MANIFEST_FILE));
    if names_manifest && path.is_file() {
        return match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
    }
    path
}

/// Set by the worker when it is done, waited on by the thread holding Python.
struct Done {
    done: Mutex<bool>,
    signal: Condvar,
}

impl Done {
    fn set(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.signal.notify_all();
    }

    /// Whether the worker is done, waiting at most `timeout` for it.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = self.done.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .signal
            .wait_timeout_while(guard, timeout, |done| !*done)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// Marks the worker done when dropped.
struct SetOnDrop<'a>(&'a Done);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// Runs `work` on a worker thread while this thread, Python's, waits with
/// the GIL released, checking for signals every [`SIGNAL_POLL`]. When a
/// signal handler raises (Ctrl-C: KeyboardInterrupt), the work is
/// cancelled through its [`Progress`], joined, and the exception raised.
fn run_released<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&dyn Progress) -> T + Send,
{
    let flag = AtomicBool::new(false);
    let done = Done {
        done: Mutex::new(false),
        signal: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let progress = Cancellable {
                inner: &NoProgress,
                flag: &flag,
            };
            // Set however the work ends, a panic included.
            let _done = SetOnDrop(&done);
            work(&progress)
        });
        loop {
            if py.detach(|| done.wait(SIGNAL_POLL)) {
                break;
            }
            if let Err(raised) = py.check_signals() {
                flag.store(true, Ordering::Relaxed);
                // The readers stop between reads: this is quick.
                let _ = py.detach(|| worker.join());
                return Err(raised);
            }
        }
        py.detach(|| worker.join()).map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            pyo3::panic::PanicException::new_err(format!("modelseal worker thread: {what}"))
        })
    })
}

/// Verifies a model directory; returns the report as the CLI's JSON.
#[pyfunction]
#[pyo3(signature = (path, keys, trust, level, jobs, bundle, inspect=false))]
#[allow(clippy::too_many_arguments)]
fn verify(
    py: Python<'_>,
    path: PathBuf,
    keys: Vec<PathBuf>,
    trust: Option<PathBuf>,
    level: i64,
    jobs: Option<i64>,
    bundle: Option<PathBuf>,
    inspect: bool,
) -> PyResult<String> {
    let options = GateOptions {
        verify: VerifyOptions {
            required_level: self::level(level)?,
            policy: policy(&keys, trust.as_deref())?,
            jobs: self::jobs(jobs)?,
            now: Timestamp::now(),
            lfs_pointers: false,
            partition: None,
        },
        bundle: bundle.as_deref(),
        ignore_paths: &[],
        ignore_unsigned_files: false,
        inspect,
    };
    let dir = model_dir(path);
    let result = run_released(py, |progress| gate::verify_dir(&dir, &options, progress))?;
    match result {
        Ok(report) => Ok(modelseal::report::to_json(&report)),
        // Only our flag cancels, and it is set only on the way out above.
        Err(err) if err.cancelled() => Err(error(
            "cancelled before verification finished: no verdict was reached",
        )),
        Err(err) => Err(gate_error(err)),
    }
}

/// The library's message, except that the missing-policy one names this
/// API's arguments rather than the CLI's flags.
fn gate_error(err: gate::GateError) -> PyErr {
    use gate::GateError;
    match err {
        GateError::Verify(VerifyError::NoPolicy(level)) => error(format!(
            "level {level} needs a trust policy: pass key=PUBLIC.pub or trust=trust.toml (or level=0 to check only the bytes)"
        )),
        GateError::Oms(OmsVerifyError::NoPolicy) => error(
            "level 1 needs a trust policy: pass key=PUBLIC.pem or trust=trust.toml (or level=0 to check only the bytes)",
        ),
        other => error(other),
    }
}

/// Writes a new `provenance.toml`; returns what it wrote.
#[pyfunction]
#[pyo3(signature = (path, name, version, kind, force, jobs))]
fn init<'py>(
    py: Python<'py>,
    path: PathBuf,
    name: Option<String>,
    version: String,
    kind: &str,
    force: bool,
    jobs: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let kind = match kind {
        "model" => Kind::Model,
        "dataset" => Kind::Dataset,
        other => {
            return Err(error(format!(
                "kind={other:?}: a manifest's kind is \"model\" or \"dataset\""
            )));
        }
    };
    let options = InitOptions {
        name,
        version,
        kind,
        force,
        shard_size: manifest::DEFAULT_SHARD_SIZE,
        jobs: self::jobs(jobs)?,
        listing: ListingMode::Auto,
    };
    let outcome = run_released(py, |progress| release::init(&path, &options, progress))?
        .map_err(release_error)?;
    let out = PyDict::new(py);
    out.set_item("manifest", path.join(modelseal::MANIFEST_FILE))?;
    out.set_item("name", &outcome.manifest.name)?;
    out.set_item("version", &outcome.manifest.version)?;
    out.set_item("kind", outcome.manifest.kind.to_string())?;
    out.set_item("files", outcome.files)?;
    out.set_item("bytes", outcome.bytes)?;
    out.set_item("large_form", outcome.manifest.listing.is_some())?;
    out.set_item(
        "missing_for_level_2",
        problem_tuples(&outcome.missing_for_level_2),
    )?;
    let content: Vec<(String, String, String)> = outcome
        .content
        .iter()
        .map(|c| {
            let kind = c.kind.as_str().to_string();
            (kind, c.path.clone(), c.message.clone())
        })
        .collect();
    out.set_item("content", content)?;
    Ok(out)
}

/// Rehashes a model directory and rewrites its manifest's digests.
#[pyfunction]
#[pyo3(signature = (path, jobs))]
fn update<'py>(py: Python<'py>, path: PathBuf, jobs: Option<i64>) -> PyResult<Bound<'py, PyDict>> {
    let jobs = self::jobs(jobs)?;
    let outcome = run_released(py, |progress| release::update(&path, jobs, progress))?
        .map_err(release_error)?;
    let out = PyDict::new(py);
    out.set_item("added", &outcome.added)?;
    out.set_item("changed", &outcome.changed)?;
    out.set_item("removed", &outcome.removed)?;
    out.set_item("unchanged", outcome.unchanged)?;
    out.set_item("written", outcome.written)?;
    out.set_item(
        "counts",
        (
            outcome.counts.added,
            outcome.counts.changed,
            outcome.counts.removed,
        ),
    )?;
    Ok(out)
}

/// Signs a model directory's manifest with an Ed25519 private key.
#[pyfunction]
#[pyo3(signature = (path, key, signer, trust, passphrase, jobs))]
#[allow(clippy::too_many_arguments)]
fn sign<'py>(
    py: Python<'py>,
    path: PathBuf,
    key: PathBuf,
    signer: Option<String>,
    trust: Option<PathBuf>,
    passphrase: Option<String>,
    jobs: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let jobs = self::jobs(jobs)?;
    // As the CLI, the passphrase is asked for only when the key is
    // encrypted; here it comes from `passphrase=`, else the environment
    // (never a prompt: Python may have no terminal).
    let (passphrase, from_env) = match passphrase {
        Some(given) => (Some(Zeroizing::new(given)), false),
        None => match std::env::var(PASSPHRASE_ENV) {
            Ok(env) => (Some(Zeroizing::new(env)), true),
            Err(_) => (None, false),
        },
    };
    let loaded = keys::load_signing_key(&key, || passphrase).map_err(|err| match err {
        keys::KeyError::NoPassphrase(file) => error(format!(
            "{}: the key is encrypted; pass passphrase= or set {PASSPHRASE_ENV}",
            file.display()
        )),
        keys::KeyError::WrongPassphrase(file) if from_env => error(format!(
            "{}: the passphrase in {PASSPHRASE_ENV} does not decrypt this key (fix the variable, or pass passphrase=)",
            file.display()
        )),
        other => error(other),
    })?;
    if let Some(trust) = &trust {
        let policy = TrustPolicy::load(trust).map_err(error)?;
        let keyid = keys::keyid(&loaded.key.verifying_key());
        if let Some(why) = policy.refuses_signer(&keyid, Timestamp::now()) {
            return Err(error(format!(
                "{}: {why}, so verifiers using this policy would not count its signature; nothing was signed",
                key.display()
            )));
        }
    }
    let signing_key = &loaded.key;
    let outcome = run_released(py, |progress| {
        release::sign(&path, signing_key, signer, jobs, progress)
    })?
    .map_err(release_error)?;
    let out = PyDict::new(py);
    out.set_item("keyid", &outcome.keyid)?;
    out.set_item("total", outcome.total)?;
    out.set_item("replaced", outcome.replaced)?;
    out.set_item("dropped", &outcome.dropped)?;
    out.set_item("warnings", &loaded.warnings)?;
    Ok(out)
}

#[pymodule]
fn _modelseal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ModelsealError", m.py().get_type::<ModelsealError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(init, m)?)?;
    m.add_function(wrap_pyfunction!(update, m)?)?;
    m.add_function(wrap_pyfunction!(sign, m)?)?;
    Ok(())
}
