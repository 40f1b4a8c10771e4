//! Command-line definitions and rendering. Everything that decides anything
//! lives in the library; this module parses, calls, prints and picks the exit
//! status.

use clap::{Args, Parser, Subcommand, ValueEnum};
use modelseal::cache::DigestCache;
use modelseal::check::CheckOptions;
use modelseal::digest::Sha256Digest;
use modelseal::escape;
use modelseal::gate::{self, GateOptions};
use modelseal::hashing::{Cancellable, Progress, default_jobs};
use modelseal::keys;
use modelseal::manifest::Commit;
use modelseal::manifest::Kind;
use modelseal::problem::{Problem, ProblemKind};
use modelseal::record::{BaseModelRecord, DatasetRecord, RecordAction, TrainingRecord};
use modelseal::release::{self, InitOptions, ReleaseError};
use modelseal::report;
use modelseal::timestamp::Timestamp;
use modelseal::trust::TrustPolicy;
use modelseal::verify::{self, VerifyOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// `println!` unless `-q` asked for quiet: the summaries of init, update,
/// sign and trace are for people; the exit status is the result.
macro_rules! say {
    ($quiet:expr, $($arg:tt)*) => {
        if !$quiet {
            println!($($arg)*);
        }
    };
}

/// Environment variable that holds a private key's passphrase.
const PASSPHRASE_ENV: &str = "MODELSEAL_PASSPHRASE";

#[derive(Parser)]
#[command(
    name = "modelseal",
    version,
    about = "Signed provenance for machine-learning models: file digests, lineage and Ed25519 signatures; OpenSSF Model Signing bundles",
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print only problems and errors: no progress, no summary.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Colour text output: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What the global flags say about output.
#[derive(Clone, Copy)]
struct Output {
    quiet: bool,
    style: report::Style,
}

#[derive(Subcommand)]
enum Command {
    /// Make a key pair (Ed25519; ECDSA for OMS bundles): PREFIX.key (private, 0600) and PREFIX.pub.
    Keygen(KeygenArgs),
    /// Write provenance.toml listing every file of DIR with its digests.
    Init(InitArgs),
    /// Rehash DIR: add new files, drop vanished ones, keep lineage and comments.
    Update(UpdateArgs),
    /// Sign provenance.toml, after checking DIR matches it.
    Sign(SignArgs),
    /// Write an OpenSSF Model Signing bundle (model.sig) for DIR, signed with an ECDSA key.
    Bundle(BundleArgs),
    /// Verify DIR: bytes, signatures and lineage.
    Verify(VerifyArgs),
    /// Join the JSON reports of `verify --partition I/N` into one report.
    Merge(MergeArgs),
    /// Say whether loading each file is safe: pickle imports, safetensors,
    /// GGUF (and its chat template), ONNX, Keras. No manifest needed.
    Inspect(InspectArgs),
    /// Verify DIR, then write the evidence as CycloneDX, SPDX, in-toto or SLSA.
    Export(ExportArgs),
    /// Verify DIR and write one self-contained page for auditors (HTML or Markdown).
    Report(AuditArgs),
    /// Pre-commit: every manifest at or above PATHs (up to the git root) or
    /// below them is true to its files, and its signatures still verify.
    Check(CheckArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff), or with --out-dir write one page per
    /// command (modelseal.1, modelseal-verify.1, …) into a directory.
    Man(ManArgs),
    /// Record lineage in provenance.toml: datasets and training runs.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Show the lineage behind the weights, marked with what was verified.
    Lineage(LineageArgs),
}

/// Arguments of `modelseal keygen`.
#[derive(Args)]
struct KeygenArgs {
    /// Path prefix of the two files.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Leave the private key unencrypted (otherwise the passphrase comes
    /// from MODELSEAL_PASSPHRASE or a terminal prompt).
    #[arg(long)]
    no_passphrase: bool,
    /// The kind of key: ed25519 signs provenance.sig; p256, p384 and p521
    /// (ECDSA) sign OpenSSF Model Signing bundles.
    #[arg(long, value_enum, default_value_t = KeygenAlgorithm::Ed25519)]
    algorithm: KeygenAlgorithm,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KeygenAlgorithm {
    Ed25519,
    P256,
    P384,
    P521,
}

impl KeygenAlgorithm {
    fn key_algorithm(self) -> keys::KeyAlgorithm {
        use modelseal::ecdsa_key::Curve;
        match self {
            KeygenAlgorithm::Ed25519 => keys::KeyAlgorithm::Ed25519,
            KeygenAlgorithm::P256 => keys::KeyAlgorithm::Ecdsa(Curve::P256),
            KeygenAlgorithm::P384 => keys::KeyAlgorithm::Ecdsa(Curve::P384),
            KeygenAlgorithm::P521 => keys::KeyAlgorithm::Ecdsa(Curve::P521),
        }
    }
}

/// Arguments of `modelseal init`.
#[derive(Args)]
struct InitArgs {
    /// The model directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Release name (default: the directory's name).
    #[arg(long)]
    name: Option<String>,
    /// Release version.
    #[arg(long, default_value = "0.1.0")]
    version: String,
    /// What the directory holds.
    #[arg(long, value_enum, default_value_t = KindArg::Model)]
    kind: KindArg,
    /// Replace an existing provenance.toml.
    #[arg(long)]
    force: bool,
    /// Files larger than this many bytes also get one digest per slice
    /// (1 MiB to 64 GiB), so verify can check them on every core.
    #[arg(long, value_name = "BYTES", default_value_t = modelseal::manifest::DEFAULT_SHARD_SIZE,
          value_parser = clap::value_parser!(u64).range(1 << 20..=64 << 30))]
    shard_size: u64,
    /// When to write the large form: the files in a sorted sidecar,
    /// provenance.files, pinned by digest (auto: above 10,000 files).
    #[arg(long, value_enum, default_value_t = ListingArg::Auto)]
    listing: ListingArg,
    #[command(flatten)]
    jobs: JobsArg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListingArg {
    Auto,
    Always,
    Never,
}

/// Arguments of `modelseal update`.
#[derive(Args)]
struct UpdateArgs {
    /// The model directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    jobs: JobsArg,
}

/// Arguments of `modelseal sign`.
#[derive(Args)]
struct SignArgs {
    /// The model directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The private key (PKCS#8 PEM).
    #[arg(long, value_name = "PREFIX.key")]
    key: PathBuf,
    /// Signer name recorded beside the signature (not signed).
    #[arg(long)]
    signer: Option<String>,
    /// Refuse to sign unless this trust policy accepts the key now
    /// (listed, unexpired, unrevoked).
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    #[command(flatten)]
    jobs: JobsArg,
}

/// Arguments of `modelseal bundle`.
#[derive(Args)]
struct BundleArgs {
    /// The model directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The ECDSA private key (PKCS#8 or SEC1 PEM; `modelseal keygen --algorithm p256`).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Shards serialization: one digest per slice of --shard-size bytes.
    #[arg(long)]
    shards: bool,
    /// Shard size in bytes, with --shards.
    #[arg(long, value_name = "BYTES", default_value_t = 1_000_000_000, requires = "shards",
          value_parser = clap::value_parser!(u64).range(1..))]
    shard_size: u64,
    /// Leave this path (and everything under it) out of the bundle; repeatable.
    #[arg(long, value_name = "PATH")]
    ignore_path: Vec<String>,
    /// Certificate method: the signing certificate (for --key's key) and the
    /// intermediate CAs, PEM, leaf first. Without it, the key method.
    #[arg(long, value_name = "CHAIN.pem")]
    certificate: Option<PathBuf>,
    /// Where to write the bundle (default: DIR/model.sig).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    jobs: JobsArg,
}

/// Arguments of `modelseal verify`.
#[derive(Args)]
struct VerifyArgs {
    /// The model directory (or, with an OMS bundle, a single-file model).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Verify against this OpenSSF Model Signing bundle. Without it, a
    /// directory with no provenance.toml is verified against its model.sig.
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// With an OMS bundle: also ignore this path (and everything under
    /// it), beside the bundle's signed ignore_paths; repeatable.
    #[arg(long, value_name = "PATH")]
    ignore_path: Vec<String>,
    /// With an OMS bundle: let files the bundle does not sign pass
    /// (model_signing's --ignore_unsigned_files).
    #[arg(long)]
    ignore_unsigned_files: bool,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The level that must hold: 0 intact, 1 signed, 2 traced, 3 chained.
    #[arg(long, allow_hyphen_values = true, value_parser = level_parser())]
    level: Option<u8>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Accept Git LFS pointer files whose oid and size match the signed
    /// digests in place of the content (a checkout without `git lfs pull`).
    #[arg(long)]
    lfs_pointers: bool,
    /// Check only slice I (from 0) of N of the files, for `modelseal merge`
    /// to join: whole files balanced by bytes, shards of big files spread.
    #[arg(long, value_name = "I/N")]
    partition: Option<modelseal::partition::Partition>,
    /// Copy the files into DEST as they are hashed (one read), and publish
    /// DEST by an atomic rename only if every check holds: read-only files,
    /// nothing at DEST on failure.
    #[arg(long, value_name = "DEST", conflicts_with = "partition")]
    copy_to: Option<PathBuf>,
    /// With --copy-to: swap an existing, non-empty DEST atomically for the
    /// verified copy (the old one is removed after).
    #[arg(long, requires = "copy_to")]
    replace: bool,
    /// Also inspect every file for content unsafe to load (pickle imports,
    /// malformed safetensors, GGUF templates, ONNX paths, Keras Lambda
    /// layers); anything found fails verification.
    #[arg(long, conflicts_with = "partition")]
    inspect: bool,
    /// With --copy-to: publish without syncing the copy to disk first. Faster;
    /// for a DEST that does not outlive a crash (a pod's emptyDir), since
    /// after a power loss its files may be short.
    #[arg(long, requires = "copy_to")]
    no_sync: bool,
    #[command(flatten)]
    jobs: JobsArg,
}

/// Arguments of `modelseal export`.
#[derive(Args)]
struct ExportArgs {
    /// The model directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The document: CycloneDX 1.6 ML-BOM, SPDX 3.0.1 (AI and Dataset
    /// profiles), in-toto Statement v1, or SLSA Provenance v1 per training run.
    #[arg(long, value_enum)]
    format: ExportFormat,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The level that must hold before anything is exported (as in verify).
    #[arg(long, allow_hyphen_values = true, value_parser = level_parser())]
    level: Option<u8>,
    /// Export even if verification fails; the document then says it is unverified.
    #[arg(long)]
    unverified: bool,
    /// in-toto and SLSA: wrap each statement in a DSSE envelope signed with
    /// this Ed25519 private key (the release key).
    #[arg(long, value_name = "KEY")]
    sign_key: Option<PathBuf>,
    /// Write the document here (atomically) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    jobs: JobsArg,
}

/// Arguments of `modelseal report`.
#[derive(Args)]
struct AuditArgs {
    /// The model directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The level the verdict is for (default: 1 with a policy, else 0).
    /// Levels above it are still evaluated, to say why they do not hold.
    #[arg(long, allow_hyphen_values = true, value_parser = level_parser())]
    level: Option<u8>,
    /// The page: HTML (no script, no external asset) or Markdown.
    #[arg(long, value_enum, default_value_t = AuditFormat::Html)]
    format: AuditFormat,
    /// Where to write the page (atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    jobs: JobsArg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuditFormat {
    Html,
    Md,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Cyclonedx,
    Spdx,
    Intoto,
    Slsa,
}

/// Arguments of `modelseal inspect`.
#[derive(Args)]
struct InspectArgs {
    /// Files, and directories to inspect every file of (links not followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// A trust policy whose `[content]` table says which problems only warn
    /// and which reviewed files (pinned by digest) are allowed; without one,
    /// every problem is unsafe.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MergeFormat::Text)]
    format: MergeFormat,
}

/// Arguments of `modelseal merge`.
#[derive(Args)]
struct MergeArgs {
    /// The slice reports (`verify --partition I/N --format json`), all N.
    #[arg(required = true, value_name = "PART.json")]
    parts: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MergeFormat::Text)]
    format: MergeFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MergeFormat {
    Text,
    Json,
}

/// Arguments of `modelseal check`.
#[derive(Args)]
struct CheckArgs {
    /// Files or directories (pre-commit passes the staged files).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Hash every file, ignoring the stat cache.
    #[arg(long)]
    no_cache: bool,
    /// Accept Git LFS pointers that match the signed digests.
    #[arg(long)]
    lfs_pointers: bool,
    #[command(flatten)]
    jobs: JobsArg,
}

/// Arguments of `modelseal completions`.
#[derive(Args)]
struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Arguments of `modelseal man`.
#[derive(Args)]
struct ManArgs {
    /// Write every page into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Arguments of `modelseal lineage`.
#[derive(Args)]
struct LineageArgs {
    /// The model directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Output format (dot renders with `dot -Tsvg`).
    #[arg(long, value_enum, default_value_t = LineageFormat::Text)]
    format: LineageFormat,
    #[command(flatten)]
    jobs: JobsArg,
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Record a [[dataset]] in provenance.toml, or merge into the one with that id.
    Dataset {
        /// The model directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Dataset id, unique in the manifest.
        #[arg(long)]
        id: String,
        /// Human name, such as the Hub id.
        #[arg(long)]
        name: Option<String>,
        /// Where the dataset is published.
        #[arg(long)]
        uri: Option<String>,
        /// The dataset's licence.
        #[arg(long)]
        license: Option<String>,
        /// SHA-256 of the dataset as published (archive or its provenance.toml).
        #[arg(long, value_name = "HEX")]
        sha256: Option<Sha256Digest>,
        /// Listed files (role data) holding the data here; repeat or separate with commas.
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        files: Vec<String>,
        /// The dataset's own signed manifest, a listed file of this directory.
        #[arg(long, value_name = "PATH")]
        manifest: Option<String>,
        /// Replace an existing dataset with this id whole, instead of merging
        /// into it (what is dropped is listed).
        #[arg(long)]
        replace: bool,
    },
    /// Record a [[training]] run in provenance.toml, or merge into the one with that id.
    Training {
        /// The model directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Run id, unique in the manifest.
        #[arg(long)]
        id: String,
        /// Weights files the run produced.
        #[arg(long, value_delimiter = ',', num_args = 1.., required = true)]
        outputs: Vec<String>,
        /// Config files it ran with.
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        configs: Vec<String>,
        /// Dataset ids it trained on.
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        datasets: Vec<String>,
        /// Repository of the training code.
        #[arg(long, requires = "commit")]
        code_uri: Option<String>,
        /// The commit that ran (40 hex digits).
        #[arg(long, requires = "code_uri")]
        commit: Option<Commit>,
        /// Name of the base model it was fine-tuned from.
        #[arg(long)]
        base_model: Option<String>,
        /// SHA-256 of the base model's provenance.toml (taken from --base-manifest when omitted).
        #[arg(long, value_name = "HEX", requires = "base_model")]
        base_sha256: Option<Sha256Digest>,
        /// The base model's signed manifest, a listed file of this directory.
        #[arg(long, value_name = "PATH", requires = "base_model")]
        base_manifest: Option<String>,
        /// Replace an existing run with this id whole, instead of merging
        /// into it (what is dropped is listed).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LineageFormat {
    Text,
    Json,
    Dot,
}

#[derive(clap::Args)]
struct PolicyArgs {
    /// A trusted public key (SPKI PEM: Ed25519, or ECDSA for OMS bundles); repeatable.
    #[arg(long, value_name = "PUB")]
    key: Vec<PathBuf>,
    /// A trust policy file.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// OMS certificate method: a trusted root CA certificate file (PEM); repeatable.
    #[arg(long, value_name = "CA.pem")]
    ca: Vec<PathBuf>,
    /// With --ca: the signer's certificate must carry this subject or SAN.
    #[arg(long, value_name = "ID", requires = "ca")]
    cert_identity: Option<String>,
    /// OMS Sigstore keyless: the instance's trusted_root.json (offline).
    #[arg(long, value_name = "FILE", requires_all = ["identity", "issuer"])]
    sigstore_root: Option<PathBuf>,
    /// With --sigstore-root: the signer's identity (certificate SAN: email or URI).
    #[arg(long, value_name = "ID", requires = "sigstore_root")]
    identity: Option<String>,
    /// With --sigstore-root: the OIDC issuer of that identity.
    #[arg(long, value_name = "URL", requires = "sigstore_root")]
    issuer: Option<String>,
}

impl PolicyArgs {
    /// The policy the flags make: --trust, joined by any --key, --ca and
    /// --sigstore-root; those alone (threshold 1); or none.
    fn policy(&self) -> Result<Option<TrustPolicy>, Failure> {
        let mut policy = match &self.trust {
            Some(path) => TrustPolicy::load(path).map_err(Failure::input)?,
            None if self.key.is_empty() && self.ca.is_empty() && self.sigstore_root.is_none() => {
                return Ok(None);
            }
            None => TrustPolicy::from_key_files(&[]).map_err(Failure::input)?,
        };
        policy.add_key_files(&self.key).map_err(Failure::input)?;
        for ca in &self.ca {
            let anchor =
                modelseal::anchor::TrustAnchor::from_ca_file(ca, self.cert_identity.clone())
                    .map_err(Failure::input)?;
            policy.add_anchor(anchor);
        }
        if let (Some(root), Some(identity), Some(issuer)) =
            (&self.sigstore_root, &self.identity, &self.issuer)
        {
            let anchor = modelseal::anchor::TrustAnchor::from_sigstore_file(
                root,
                identity.clone(),
                issuer.clone(),
            )
            .map_err(Failure::input)?;
            policy.add_anchor(anchor);
        }
        Ok(Some(policy))
    }
}

#[derive(clap::Args)]
struct JobsArg {
    /// Hashing threads (default: every core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

impl JobsArg {
    fn get(&self) -> usize {
        self.jobs.map_or_else(default_jobs, usize::from)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Model,
    Dataset,
}

/// How a command ended.
enum Outcome {
    Done,
    Failed,
}

/// An error for the user: what happened, and problems to list under it.
struct Failure {
    message: String,
    problems: Vec<Problem>,
    exit: u8,
}

impl Failure {
    fn input(message: impl ToString) -> Self {
        Failure {
            message: message.to_string(),
            problems: Vec::new(),
            exit: 2,
        }
    }
}

impl From<ReleaseError> for Failure {
    fn from(err: ReleaseError) -> Self {
        let message = err.to_string();
        match err {
            ReleaseError::NotSealable(problems) => Failure {
                message,
                problems,
                exit: 2,
            },
            ReleaseError::Mismatch(problems) => Failure {
                message,
                problems,
                exit: 1,
            },
            _ => Failure::input(message),
        }
    }
}

pub fn main() -> ExitCode {
    let machine = machine_format(std::env::args_os().skip(1));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            if let Some(format) = machine
                && err.use_stderr()
            {
                println!(
                    "{}",
                    machine_error(format, &one_line(&err.render().to_string()))
                );
                return ExitCode::from(2);
            }
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    let output = Output {
        quiet: cli.quiet,
        style: report::Style { color },
    };
    match run(cli.command, output) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(failure) => {
            if let Some(format) = machine {
                println!("{}", machine_error(format, &failure.message));
            } else {
                eprintln!("error: {}", escape::block(&failure.message));
                for p in &failure.problems {
                    eprintln!("  {:<20} {}", p.kind.as_str(), report::problem_text(p));
                }
            }
            ExitCode::from(failure.exit)
        }
    }
}

/// clap's multi-line usage error as one line for JSON and SARIF: the error
/// and its tips, without the usage block and the pointer to `--help`.
fn one_line(rendered: &str) -> String {
    rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the raw arguments ask for JSON, so even a usage error is JSON.
fn machine_format(args: impl Iterator<Item = std::ffi::OsString>) -> Option<&'static str> {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    let asked = |f: &str| {
        args.iter().any(|a| *a == format!("--format={f}"))
            || args.windows(2).any(|w| w[0] == "--format" && w[1] == f)
    };
    if asked("json") {
        Some("json")
    } else if asked("sarif") {
        Some("sarif")
    } else {
        None
    }
}

/// An error that stopped the command, in the machine format asked for.
fn machine_error(format: &str, message: &str) -> String {
    match format {
        "sarif" => report::error_sarif(message),
        _ => report::error_json(message),
    }
}

fn run(command: Command, output: Output) -> Result<Outcome, Failure> {
    match command {
        Command::Completions(args) => completions_command(args),
        Command::Man(args) => man_command(args, output),
        Command::Check(args) => check_command(args, output),
        Command::Keygen(args) => keygen_command(args, output),
        Command::Init(args) => init_command(args, output),
        Command::Update(args) => update_command(args, output),
        Command::Sign(args) => sign_command(args, output),
        Command::Bundle(args) => bundle_command(args, output),
        Command::Trace(trace) => trace_command(trace, output),
        Command::Lineage(args) => lineage_command(args, output),
        Command::Verify(args) => verify_command(args, output),
        Command::Merge(args) => merge_command(args),
        Command::Inspect(args) => inspect_command(args),
        Command::Export(args) => export_command(args, output),
        Command::Report(args) => audit_command(args, output),
    }
}

/// `modelseal completions`.
fn completions_command(args: CompletionsArgs) -> Result<Outcome, Failure> {
    let shell = args.shell;
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "modelseal", &mut std::io::stdout());
    Ok(Outcome::Done)
}

/// `modelseal man`.
fn man_command(args: ManArgs, output: Output) -> Result<Outcome, Failure> {
    let ManArgs { out_dir } = args;
    let cmd = <Cli as clap::CommandFactory>::command();
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?;
        let written = crate::manpage::all_pages(cmd, &dir)
            .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?;
        say!(
            output.quiet,
            "wrote {} man pages into {}",
            written.len(),
            dir.display()
        );
        return Ok(Outcome::Done);
    }
    match crate::manpage::main_page(cmd, &mut std::io::stdout()) {
        // `modelseal man | head` closes the pipe early: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.map_err(Failure::input)?,
    }
    Ok(Outcome::Done)
}

/// `modelseal init`.
fn init_command(args: InitArgs, output: Output) -> Result<Outcome, Failure> {
    let InitArgs {
        dir,
        name,
        version,
        kind,
        force,
        shard_size,
        listing,
        jobs,
    } = args;
    let options = InitOptions {
        listing: match listing {
            ListingArg::Auto => release::ListingMode::Auto,
            ListingArg::Always => release::ListingMode::Always,
            ListingArg::Never => release::ListingMode::Never,
        },
        shard_size,
        name,
        version,
        kind: match kind {
            KindArg::Model => Kind::Model,
            KindArg::Dataset => Kind::Dataset,
        },
        force,
        jobs: jobs.get(),
    };
    let bar = ProgressBar::new("hashing", output.quiet);
    let outcome = release::init(&dir, &options, &bar)?;
    bar.finish();
    let m = &outcome.manifest;
    say!(
        output.quiet,
        "wrote {}: {} {} ({}), {} files, {}",
        dir.join(modelseal::MANIFEST_FILE).display(),
        escape::field(&m.name),
        escape::field(&m.version),
        m.kind,
        outcome.files,
        report::human_bytes(outcome.bytes)
    );
    if m.listing.is_some() {
        say!(
            output.quiet,
            "large form: the files are listed in {}, which provenance.toml pins by digest (init --listing never keeps one TOML file)",
            dir.join(modelseal::LISTING_FILE).display()
        );
    }
    if let Some(card) = outcome.card.as_ref().filter(|_| m.kind == Kind::Model) {
        say!(
            output.quiet,
            "from the model card: license {}, {} dataset(s), base model {}",
            escape::field(card.license.as_deref().unwrap_or("(none)")),
            card.datasets.len(),
            escape::field(card.base_models.first().map_or("(none)", String::as_str))
        );
    }
    warn_unsafe_content(&outcome.content, &dir);
    if !outcome.missing_for_level_2.is_empty() {
        say!(output.quiet, "still missing for level 2 (traced):");
        for p in &outcome.missing_for_level_2 {
            say!(
                output.quiet,
                "  {:<20} {}",
                p.kind.as_str(),
                report::problem_text(p)
            );
        }
    }
    say!(
        output.quiet,
        "next: review the roles, then `modelseal sign {} --key KEY.key`",
        dir.display()
    );
    Ok(Outcome::Done)
}

/// `modelseal update`.
fn update_command(args: UpdateArgs, output: Output) -> Result<Outcome, Failure> {
    let UpdateArgs { dir, jobs } = args;
    let bar = ProgressBar::new("hashing", output.quiet);
    let outcome = release::update(&dir, jobs.get(), &bar)?;
    bar.finish();
    for path in &outcome.added {
        say!(output.quiet, "added    {}", escape::field(path));
    }
    for path in &outcome.changed {
        say!(output.quiet, "changed  {}", escape::field(path));
    }
    for path in &outcome.removed {
        say!(output.quiet, "removed  {}", escape::field(path));
    }
    let counts = outcome.counts;
    let named = outcome.added.len() + outcome.changed.len() + outcome.removed.len();
    if counts.added + counts.changed + counts.removed > named {
        say!(
            output.quiet,
            "(the first {} of each are named)",
            release::MAX_NAMED
        );
    }
    if outcome.written {
        say!(
            output.quiet,
            "updated {}: {} added, {} changed, {} removed, {} unchanged; existing signatures no longer verify: sign again",
            dir.join(modelseal::MANIFEST_FILE).display(),
            counts.added,
            counts.changed,
            counts.removed,
            outcome.unchanged
        );
    } else {
        say!(
            output.quiet,
            "up to date: {} files unchanged",
            outcome.unchanged
        );
    }
    Ok(Outcome::Done)
}

/// `modelseal sign`.
fn sign_command(args: SignArgs, output: Output) -> Result<Outcome, Failure> {
    let SignArgs {
        dir,
        key,
        signer,
        trust,
        jobs,
    } = args;
    let loaded = keys::load_signing_key(&key, || passphrase_for_use(&key)).map_err(key_failure)?;
    if let Some(trust) = &trust {
        let policy = TrustPolicy::load(trust).map_err(Failure::input)?;
        let keyid = keys::keyid(&loaded.key.verifying_key());
        if let Some(why) = policy.refuses_signer(&keyid, Timestamp::now()) {
            return Err(Failure::input(format!(
                "{}: {why}, so verifiers using this policy would not count its signature; nothing was signed",
                key.display()
            )));
        }
    }
    for warning in &loaded.warnings {
        eprintln!("warning: {}", escape::field(warning));
    }
    let bar = ProgressBar::new("checking", output.quiet);
    let outcome = release::sign(&dir, &loaded.key, signer, jobs.get(), &bar)?;
    bar.finish();
    for dropped in &outcome.dropped {
        say!(
            output.quiet,
            "dropped stale signature: {}",
            escape::field(dropped)
        );
    }
    if outcome.replaced {
        say!(output.quiet, "replaced this key's earlier signature");
    }
    say!(
        output.quiet,
        "signed {} with key {} ({} signature(s) in {})",
        dir.join(modelseal::MANIFEST_FILE).display(),
        outcome.keyid,
        outcome.total,
        modelseal::SIGNATURE_FILE
    );
    Ok(Outcome::Done)
}

/// `modelseal lineage`.
fn lineage_command(args: LineageArgs, output: Output) -> Result<Outcome, Failure> {
    let LineageArgs {
        dir,
        policy,
        format,
        jobs,
    } = args;
    let bar = ProgressBar::new("verifying", output.quiet);
    let report = verify::lineage(&dir, policy.policy()?, jobs.get(), Timestamp::now(), &bar)
        .map_err(Failure::input)?;
    bar.finish();
    match format {
        LineageFormat::Text => print!("{}", modelseal::lineage::to_text(&report)),
        LineageFormat::Json => println!("{}", report::to_json(&report)),
        LineageFormat::Dot => print!("{}", modelseal::lineage::to_dot(&report)),
    }
    Ok(Outcome::Done)
}

/// A key that did not load, named with the fix: a wrong passphrase from
/// the environment is named as such.
fn key_failure(err: keys::KeyError) -> Failure {
    match err {
        keys::KeyError::WrongPassphrase(file) if std::env::var_os(PASSPHRASE_ENV).is_some() => {
            Failure::input(format!(
                "{}: the passphrase in {PASSPHRASE_ENV} does not decrypt this key (fix the variable, or unset it to be asked on a terminal)",
                file.display()
            ))
        }
        other => Failure::input(other),
    }
}

/// `modelseal bundle`.
fn bundle_command(args: BundleArgs, output: Output) -> Result<Outcome, Failure> {
    use modelseal::oms::statement::Method;
    let (key, warnings) =
        keys::load_secret_key(&args.key, || passphrase_for_use(&args.key)).map_err(key_failure)?;
    let keys::SecretKey::Ecdsa(key) = key else {
        return Err(Failure::input(format!(
            "{}: an Ed25519 key; OMS bundles are signed with ECDSA (model_signing verifies P-256, P-384 and P-521): make one with `modelseal keygen --algorithm p256`",
            args.key.display()
        )));
    };
    for warning in &warnings {
        eprintln!("warning: {}", escape::field(warning));
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.dir.join(modelseal::oms::BUNDLE_FILE));
    let inside = modelseal::oms::verify::path_inside(&out, &args.dir);
    let certificates = match &args.certificate {
        Some(path) => signing_chain(path, &key)?,
        None => Vec::new(),
    };
    let options = modelseal::oms::write::WriteOptions {
        method: if args.shards {
            Method::Shards(args.shard_size)
        } else {
            Method::Files
        },
        bundle_name: inside.as_deref(),
        ignore_paths: &args.ignore_path,
        certificates: &certificates,
        jobs: args.jobs.get(),
    };
    let bar = ProgressBar::new("hashing", output.quiet);
    let written =
        modelseal::oms::write::write(&args.dir, &key, &options, &bar).map_err(Failure::input)?;
    bar.finish();
    modelseal::atomic::replace_file(&out, written.json.as_bytes())
        .map_err(|e| Failure::input(format!("cannot write {}: {e}", out.display())))?;
    say!(
        output.quiet,
        "wrote {} ({} file(s), {}, {} key {}); verify with `modelseal verify {} {}`",
        out.display(),
        written.files,
        report::human_bytes(written.bytes),
        key.public_key().curve().name(),
        modelseal::signature::short_keyid(&key.public_key().keyid()),
        args.dir.display(),
        if certificates.is_empty() {
            "--key PUBLIC.pub"
        } else {
            "--ca ROOT-CA.pem"
        }
    );
    Ok(Outcome::Done)
}

/// The certificate chain in `path` (leaf first), refused unless the leaf
/// carries the signing key: a bundle whose certificate names another key
/// would never verify.
fn signing_chain(
    path: &Path,
    key: &modelseal::ecdsa_key::EcSigningKey,
) -> Result<Vec<Vec<u8>>, Failure> {
    let chain = modelseal::anchor::read_pem_certificates(path).map_err(Failure::input)?;
    let leaf = chain
        .first()
        .ok_or_else(|| Failure::input("no certificate"))?;
    let leaf = modelseal::x509::summary(leaf)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    let subject = escape::field(&leaf.subject);
    if leaf.spki_der != key.public_key().spki_der() {
        return Err(Failure::input(format!(
            "{}: the first certificate ({subject}) is not for the key given with --key; put the signing certificate first, then its intermediates",
            path.display()
        )));
    }
    // A bundle signed under a certificate outside its validity never verifies.
    let now = Timestamp::now().instant().unix_timestamp();
    if now < leaf.not_before_unix || now > leaf.not_after_unix {
        let at = |unix: i64| {
            time::OffsetDateTime::from_unix_timestamp(unix)
                .ok()
                .and_then(Timestamp::new)
                .map_or_else(|| unix.to_string(), |t| t.to_string())
        };
        return Err(Failure::input(format!(
            "{}: the signing certificate ({subject}) is valid from {} to {}, not now; renew it",
            path.display(),
            at(leaf.not_before_unix),
            at(leaf.not_after_unix)
        )));
    }
    Ok(chain)
}

/// `modelseal verify`.
fn verify_command(args: VerifyArgs, output: Output) -> Result<Outcome, Failure> {
    let VerifyArgs {
        dir,
        bundle,
        ignore_path,
        ignore_unsigned_files,
        policy,
        level,
        format,
        lfs_pointers,
        partition,
        copy_to,
        replace,
        no_sync,
        inspect,
        jobs,
    } = args;
    let options = GateOptions {
        verify: VerifyOptions {
            required_level: level.unwrap_or(1),
            policy: policy.policy()?,
            jobs: jobs.get(),
            now: Timestamp::now(),
            lfs_pointers,
            partition,
        },
        bundle: bundle.as_deref(),
        ignore_paths: &ignore_path,
        ignore_unsigned_files,
        inspect,
    };
    if options.inspects() && format == Format::Sarif {
        // SARIF results carry `problems` only: a gate reading them would see
        // nothing of what inspection found.
        return Err(Failure::input(
            "content inspection (--inspect, or `[content] inspect = true` in the trust policy) findings are not in SARIF output yet: use --format json or text",
        ));
    }
    let dir = model_dir(dir);
    let bar = ProgressBar::new("verifying", output.quiet);
    let (report, published) = match &copy_to {
        None => (
            gate::verify_dir(&dir, &options, &bar).map_err(gate_failure)?,
            None,
        ),
        Some(dest) => {
            // Ctrl-C or SIGTERM (a pod being stopped) ends the run cleanly,
            // so the staging directory is removed; a second one kills.
            let stop = interrupt_flag()?;
            let progress = Cancellable {
                inner: &bar,
                flag: &stop,
            };
            let how = modelseal::staging::Publish {
                replace,
                sync: !no_sync,
            };
            let copied = gate::verify_and_copy(&dir, &options, dest, how, &progress)
                .map_err(gate_failure)?;
            (copied.report, copied.published)
        }
    };
    bar.finish();
    match format {
        Format::Json => println!("{}", report::to_json(&report)),
        Format::Sarif => println!("{}", report::to_sarif(&report, &dir)),
        Format::Text => print!(
            "{}",
            report::to_text_styled(&report, output.style, output.quiet)
        ),
    }
    if let Some(dest) = &copy_to {
        let what = match &published {
            Some(_) => format!(
                "copied to {} ({} files, read-only)",
                dest.display(),
                report.files.checked
            ),
            None => format!("not copied: nothing was published at {}", dest.display()),
        };
        match format {
            Format::Text => say!(output.quiet, "{}", escape::field(&what)),
            _ if !output.quiet => eprintln!("{}", escape::field(&what)),
            _ => {}
        }
    }
    Ok(if report.ok() {
        Outcome::Done
    } else {
        Outcome::Failed
    })
}

/// Set when SIGINT or SIGTERM arrives; a second signal terminates at once.
fn interrupt_flag() -> Result<std::sync::Arc<std::sync::atomic::AtomicBool>, Failure> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        let registered = signal_hook::flag::register_conditional_shutdown(signal, 2, flag.clone())
            .and_then(|_| signal_hook::flag::register(signal, flag.clone()));
        registered.map_err(|e| Failure::input(format!("cannot handle signals: {e}")))?;
    }
    Ok(flag)
}

fn gate_failure(err: gate::GateError) -> Failure {
    if err.cancelled() {
        return Failure::input(
            "interrupted: verification stopped before a verdict; nothing was published",
        );
    }
    Failure::input(err)
}

/// `modelseal export`.
fn export_command(args: ExportArgs, output: Output) -> Result<Outcome, Failure> {
    use modelseal::export::{cyclonedx, intoto, slsa, spdx};
    let ExportArgs {
        dir,
        format,
        policy,
        level,
        unverified,
        sign_key,
        out,
        jobs,
    } = args;
    if sign_key.is_some() && !matches!(format, ExportFormat::Intoto | ExportFormat::Slsa) {
        return Err(Failure::input(
            "--sign-key signs in-toto and SLSA statements (DSSE); CycloneDX and SPDX documents are not signed by modelseal",
        ));
    }
    let key = match &sign_key {
        Some(path) => Some(
            keys::load_signing_key(path, || passphrase_for_use(path))
                .map_err(key_failure)?
                .key,
        ),
        None => None,
    };
    let dir = model_dir(dir);
    let policy = policy.policy()?;
    let evidence = collect_evidence(&dir, policy, level.unwrap_or(1), jobs, unverified, output)?;
    let sealed = |statement: serde_json::Value| match &key {
        Some(key) => intoto::envelope(&statement, key),
        None => statement,
    };
    let text = match format {
        ExportFormat::Cyclonedx => pretty(&cyclonedx::document(&evidence)),
        ExportFormat::Spdx => pretty(&spdx::document(&evidence)),
        ExportFormat::Intoto => format!("{}\n", sealed(intoto::statement(&evidence))),
        ExportFormat::Slsa => {
            let statements = slsa::statements(&evidence);
            if statements.is_empty() {
                return Err(Failure::input(format!(
                    "{}: the manifest records no [[training]] run, so there is no SLSA provenance to export; record one with `modelseal trace training`",
                    dir.display()
                )));
            }
            statements
                .into_iter()
                .map(|s| format!("{}\n", sealed(s)))
                .collect()
        }
    };
    if !evidence.verified {
        eprintln!("warning: {}", escape::field(&evidence.statement()));
    }
    match out {
        Some(out) => {
            modelseal::atomic::replace_file(&out, text.as_bytes())
                .map_err(|e| Failure::input(format!("{}: {e}", out.display())))?;
            say!(output.quiet, "wrote {}", out.display());
        }
        None => print!("{text}"),
    }
    Ok(if evidence.verified {
        Outcome::Done
    } else {
        Outcome::Failed
    })
}

/// Verifies `dir` at `level` for `export` and `report`, with a progress bar.
fn collect_evidence(
    dir: &Path,
    policy: Option<TrustPolicy>,
    level: u8,
    jobs: JobsArg,
    allow_unverified: bool,
    output: Output,
) -> Result<modelseal::export::Evidence, Failure> {
    let options = VerifyOptions {
        required_level: level,
        policy,
        jobs: jobs.get(),
        now: Timestamp::now(),
        lfs_pointers: false,
        partition: None,
    };
    let bar = ProgressBar::new("verifying", output.quiet);
    let evidence = modelseal::export::collect(dir, &options, allow_unverified, &bar)
        .map_err(Failure::input)?;
    bar.finish();
    Ok(evidence)
}

/// `modelseal report`.
fn audit_command(args: AuditArgs, output: Output) -> Result<Outcome, Failure> {
    use modelseal::audit::{self, Audit};
    let AuditArgs {
        dir,
        policy,
        level,
        format,
        out,
        jobs,
    } = args;
    let policy = policy.policy()?;
    let required = level.unwrap_or(if policy.is_some() { 1 } else { 0 });
    if required >= 1 && policy.is_none() {
        return Err(Failure::input(format!(
            "level {required} needs a trust policy: pass --key PUB or --trust FILE"
        )));
    }
    // Every level is evaluated that can be, so the page says why a higher one fails.
    let dir = model_dir(dir);
    let evaluated = if policy.is_some() { 3 } else { 0 };
    let evidence = collect_evidence(&dir, policy.clone(), evaluated, jobs, true, output)?;
    let page = Audit {
        evidence: &evidence,
        required,
        policy: policy.as_ref(),
    };
    let text = match format {
        AuditFormat::Html => audit::to_html(&page),
        AuditFormat::Md => audit::to_markdown(&page),
    };
    modelseal::atomic::replace_file(&out, text.as_bytes())
        .map_err(|e| Failure::input(format!("{}: {e}", out.display())))?;
    say!(output.quiet, "wrote {}", out.display());
    Ok(if page.holds() {
        Outcome::Done
    } else {
        Outcome::Failed
    })
}

fn pretty(document: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_else(|e| e.to_string());
    text.push('\n');
    text
}

/// The most content problems `init` names one by one.
const MAX_NAMED_CONTENT: usize = 20;

/// `init`'s warning, on stderr even with `--quiet`: files it listed whose
/// content is unsafe to load. A warning, not a refusal: the manifest
/// records the bytes either way, and `verify --inspect` is the gate.
fn warn_unsafe_content(found: &[modelseal::inspect::files::ContentFinding], dir: &Path) {
    if found.is_empty() {
        return;
    }
    let files: std::collections::BTreeSet<&str> = found.iter().map(|f| f.path.as_str()).collect();
    eprintln!(
        "warning: {} listed file(s) may be unsafe to load ({} content problem(s)):",
        files.len(),
        found.len()
    );
    for f in found.iter().take(MAX_NAMED_CONTENT) {
        let kind = f.kind.as_str().to_string();
        eprintln!(
            "  {kind:<22} {}: {}",
            escape::field(&f.path),
            escape::field(&f.message)
        );
    }
    if found.len() > MAX_NAMED_CONTENT {
        eprintln!("  ... and {} more", found.len() - MAX_NAMED_CONTENT);
    }
    eprintln!(
        "  `modelseal inspect {}` says more; `verify --inspect` fails on them unless a trust policy's [content] allows them",
        escape::field(&dir.display().to_string())
    );
}

/// `modelseal inspect`: exit 1 when any file is unsafe to load.
fn inspect_command(args: InspectArgs) -> Result<Outcome, Failure> {
    use modelseal::inspect::files;
    let content = match &args.trust {
        Some(path) => TrustPolicy::load(path).map_err(Failure::input)?.content,
        None => Default::default(),
    };
    let found = files::inspect_paths(&args.paths, &content).map_err(Failure::input)?;
    match args.format {
        MergeFormat::Json => println!("{}", files::to_json(&found)),
        MergeFormat::Text => print!("{}", files::to_text(&found)),
    }
    Ok(match files::counts(&found).unsafe_ {
        0 => Outcome::Done,
        _ => Outcome::Failed,
    })
}

/// `modelseal merge`.
fn merge_command(args: MergeArgs) -> Result<Outcome, Failure> {
    let parts = args
        .parts
        .iter()
        .map(|p| modelseal::merge::Part::load(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::input)?;
    let merged = modelseal::merge::merge(parts).map_err(Failure::input)?;
    match args.format {
        MergeFormat::Json => println!("{merged}"),
        MergeFormat::Text => print!("{}", modelseal::merge::to_text(&merged)),
    }
    Ok(
        if merged.get("ok").and_then(|v| v.as_bool()) == Some(true) {
            Outcome::Done
        } else {
            Outcome::Failed
        },
    )
}

/// `--level`: one of the four levels, offered as such to shell completion;
/// a wrong value (`5`, `-1`) is named with the possible values.
fn level_parser() -> impl clap::builder::TypedValueParser<Value = u8> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["0", "1", "2", "3"]).try_map(|s| s.parse::<u8>())
}

/// `verify DIR/provenance.toml` means `verify DIR`.
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

/// `modelseal check`: every manifest found is checked, an error in one does
/// not stop the others, and the exit status sums them up.
fn check_command(args: CheckArgs, output: Output) -> Result<Outcome, Failure> {
    let options = CheckOptions {
        policy: args.policy.policy()?,
        jobs: args.jobs.get(),
        cache_dir: if args.no_cache {
            None
        } else {
            DigestCache::default_dir()
        },
        lfs_pointers: args.lfs_pointers,
        now: Timestamp::now(),
    };
    let dirs = modelseal::check::find_manifests(&args.paths);
    if dirs.is_empty() {
        say!(
            output.quiet,
            "no provenance.toml at or above the given paths: nothing to check"
        );
        return Ok(Outcome::Done);
    }
    let mut failed = false;
    let mut errors = 0;
    for dir in dirs {
        let bar = ProgressBar::new("checking", output.quiet);
        let checked = modelseal::check::check_dir(&dir, &options, &bar);
        bar.finish();
        match checked {
            Ok(outcome) => failed |= !print_check_outcome(&outcome, output),
            Err(e) => {
                // Report it and go on: the other manifests still get checked.
                eprintln!(
                    "error: {}: {}",
                    dir.display(),
                    escape::block(&e.to_string())
                );
                errors += 1;
            }
        }
    }
    if errors > 0 {
        return Err(Failure::input(format!(
            "{errors} manifest(s) could not be checked"
        )));
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Done
    })
}

/// Prints one directory's check; returns whether it passed.
fn print_check_outcome(outcome: &modelseal::check::CheckOutcome, output: Output) -> bool {
    let style = output.style;
    let shown = outcome.dir.display();
    let passed = outcome.problems.is_empty();
    if passed {
        say!(
            output.quiet,
            "{}      {shown} ({} files, {} from the stat cache; {} signature(s))",
            style.good("ok"),
            outcome.totals.checked,
            outcome.totals.from_cache,
            outcome.signatures
        );
    } else {
        println!("{}  {shown}", style.bad("FAILED"));
        for p in &outcome.problems {
            let kind = style.note(&format!("{:<20}", p.kind.as_str()));
            println!("  {kind} {}", report::problem_text(p));
        }
        println!("  fix: {}", check_fix(outcome));
    }
    for warning in &outcome.warnings {
        say!(
            output.quiet,
            "{}: {shown}: {}",
            style.note("warning"),
            escape::field(warning)
        );
    }
    passed
}

/// What to do about a failed check, chosen by what was found, never by
/// the wording of a message.
fn check_fix(outcome: &modelseal::check::CheckOutcome) -> String {
    let shown = outcome.dir.display();
    let has = |kind: ProblemKind| outcome.problems.iter().any(|p| p.kind == kind);
    if outcome.totals.lfs_pointers_found > 0 {
        "fetch the content with `git lfs pull` (do not update the manifest to the pointers)".into()
    } else if outcome.problems.iter().any(|p| p.kind.level() == 0) {
        format!(
            "the files changed: run `modelseal update {shown}`, review the changes, then `modelseal sign {shown} --key KEY.key`"
        )
    } else if has(ProblemKind::Rollback) {
        "the trust policy's [[pin]] refuses this release as too old; re-signing cannot change that: release a newer version, or move the pin if this one is meant to pass".into()
    } else if has(ProblemKind::BadSignature) {
        format!(
            "the manifest changed after signing: review it, then `modelseal sign {shown} --key KEY.key`"
        )
    } else {
        format!("sign it with a key the policy trusts: `modelseal sign {shown} --key KEY.key`")
    }
}

/// `modelseal trace dataset|training`.
fn trace_command(command: TraceCommand, output: Output) -> Result<Outcome, Failure> {
    let quiet = output.quiet;
    let (dir, what, outcome) = match command {
        TraceCommand::Dataset {
            dir,
            id,
            name,
            uri,
            license,
            sha256,
            files,
            manifest,
            replace,
        } => {
            let record = DatasetRecord {
                id: id.clone(),
                name,
                uri,
                license,
                sha256,
                files,
                manifest,
                replace,
            };
            let outcome =
                modelseal::record::record_dataset(&dir, &record).map_err(Failure::input)?;
            (dir, format!("dataset '{id}'"), outcome)
        }
        TraceCommand::Training {
            dir,
            id,
            outputs,
            configs,
            datasets,
            code_uri,
            commit,
            base_model,
            base_sha256,
            base_manifest,
            replace,
        } => {
            let record = TrainingRecord {
                id: id.clone(),
                outputs,
                configs,
                datasets,
                code: code_uri.zip(commit),
                base_model: base_model.map(|name| BaseModelRecord {
                    name,
                    sha256: base_sha256,
                    manifest: base_manifest,
                }),
                replace,
            };
            let outcome =
                modelseal::record::record_training(&dir, &record).map_err(Failure::input)?;
            (dir, format!("training '{id}'"), outcome)
        }
    };
    say!(
        quiet,
        "{} {what} in {}; sign again: earlier signatures no longer cover the manifest",
        match outcome.action {
            RecordAction::Added => "recorded",
            RecordAction::Merged => "merged into",
            RecordAction::Replaced => "replaced",
        },
        dir.join(modelseal::MANIFEST_FILE).display()
    );
    for lost in &outcome.dropped {
        say!(quiet, "  dropped  {}", escape::field(lost));
    }
    if outcome.remaining.is_empty() {
        say!(
            quiet,
            "lineage complete: every weights file traces to a training run (level 2)"
        );
    } else {
        say!(quiet, "still missing for level 2 (traced):");
        for p in &outcome.remaining {
            say!(
                quiet,
                "  {:<20} {}",
                p.kind.as_str(),
                report::problem_text(p)
            );
        }
    }
    Ok(Outcome::Done)
}

/// `modelseal keygen`.
fn keygen_command(args: KeygenArgs, output: Output) -> Result<Outcome, Failure> {
    let (out, no_passphrase, quiet) = (args.out.as_path(), args.no_passphrase, output.quiet);
    let passphrase = if no_passphrase {
        None
    } else {
        Some(passphrase_for_new_key()?)
    };
    let key = keys::SecretKey::generate(args.algorithm.key_algorithm()).map_err(Failure::input)?;
    let files = keys::write_key_pair(out, &key, passphrase.as_ref().map(|p| p.as_bytes()))
        .map_err(Failure::input)?;
    if !quiet {
        eprintln!(
            "wrote {} (private, {}) and {} (public)",
            files.private.display(),
            if no_passphrase {
                "unencrypted"
            } else {
                "encrypted"
            },
            files.public.display()
        );
    }
    println!("{}", files.keyid);
    Ok(Outcome::Done)
}

fn passphrase_for_new_key() -> Result<Zeroizing<String>, Failure> {
    if let Ok(pass) = std::env::var(PASSPHRASE_ENV) {
        if pass.is_empty() {
            return Err(Failure::input(format!(
                "{PASSPHRASE_ENV} is empty; set a passphrase or use --no-passphrase"
            )));
        }
        return Ok(Zeroizing::new(pass));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::input(format!(
            "keygen encrypts the private key: set {PASSPHRASE_ENV}, run on a terminal to be asked, or pass --no-passphrase"
        )));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("passphrase for the new key: ").map_err(Failure::input)?,
    );
    let second = Zeroizing::new(
        rpassword::prompt_password("same passphrase again: ").map_err(Failure::input)?,
    );
    if first.is_empty() {
        return Err(Failure::input(
            "empty passphrase; use --no-passphrase for an unencrypted key",
        ));
    }
    if *first != *second {
        return Err(Failure::input(
            "the two passphrases differ; nothing was written",
        ));
    }
    Ok(first)
}

fn passphrase_for_use(key: &Path) -> Option<Zeroizing<String>> {
    if let Ok(pass) = std::env::var(PASSPHRASE_ENV) {
        return Some(Zeroizing::new(pass));
    }
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(format!("passphrase for {}: ", key.display()))
        .ok()
        .map(Zeroizing::new)
}

/// A progress bar on stderr, shown only when stderr is a terminal.
struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressBar {
    fn new(label: &'static str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return ProgressBar { bar: None };
        }
        let bar = indicatif::ProgressBar::hidden();
        let style = indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label);
        ProgressBar { bar: Some(bar) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ProgressBar {
    fn start(&self, total_bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total_bytes);
            // Small jobs finish before a bar would help; only show it for ~256 MiB and up.
            if total_bytes >= 256 << 20 {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
}
