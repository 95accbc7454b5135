//! The `leadcrawl` binary: all of it is in the library ([`leadcrawl::cli`]).

fn main() -> std::process::ExitCode {
    leadcrawl::cli::main()
}
