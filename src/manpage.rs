//! Man pages: `modelseal(1)` and one page per subcommand, each generated
//! from the command-line definition and closed by the sections clap does not
//! know: EXIT STATUS and ENVIRONMENT.

use std::io::Write;
use std::path::{Path, PathBuf};

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Done, or verified: the required level holds.
.TP
\fB1\fR
Verification failed; also \fBsign\fR refusing a manifest that does not match the directory, and \fBcheck\fR finding a problem.
.TP
\fB2\fR
Usage, input or I/O error: a bad flag; a missing, unreadable or malformed manifest, signature file, key or policy; a file over its size limit.
"#;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBMODELSEAL_PASSPHRASE\fR
The passphrase of an encrypted private key (\fBkeygen\fR, \fBsign\fR). Without it, modelseal asks on the terminal; it is never taken from a flag.
.TP
\fBMODELSEAL_CACHE_DIR\fR
Where \fBcheck\fR keeps its stat cache; else \fB$XDG_CACHE_HOME/modelseal\fR, else \fB~/.cache/modelseal\fR.
.TP
\fBNO_COLOR\fR
When set and not empty, text output is not coloured (unless \fB--color always\fR).
"#;

/// Writes the page of `cmd` to `out`.
fn render(cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    out.write_all(EXIT_STATUS.as_bytes())?;
    out.write_all(ENVIRONMENT.as_bytes())?;
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// The main page, to `out`.
pub fn main_page(cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    render(cmd, out)
}

/// Every page, `modelseal.1` and `modelseal-SUB.1` for each subcommand at
/// any depth, written into `dir`; returns the files written.
pub fn all_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_tree(cmd, dir, &mut written)?;
    Ok(written)
}

fn write_tree(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub.clone(), dir, written)?;
    }
    let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
    let mut file = std::fs::File::create(&path)?;
    render(cmd, &mut file)?;
    file.flush()?;
    written.push(path);
    Ok(())
}
