use clap::Parser;

fn main() -> std::process::ExitCode {
    wxgroups::startup::main(wxgroups::cli::Cli::parse())
}
