//! The `modelseal` command: parse the command line, call the library, map the
//! outcome to an exit status (0 done or verified, 1 verification failed,
//! 2 usage, input or I/O error).
#![forbid(unsafe_code)]

mod cli;
mod manpage;

fn main() -> std::process::ExitCode {
    cli::main()
}
