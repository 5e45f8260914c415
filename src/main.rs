use gatescope::atomic::Interrupted;
use std::io::Write;

fn main() {
    // `--help`, `--version` and a bad argument answer here, before the
    // restart below: each start pays libtorch's own initialisation (about
    // 0.25 s), which runs when the library loads, before main.
    let cli = gatescope::cli::parse();
    let command = cli.command.unwrap_or(gatescope::cli::Command::Play(cli.play));
    if command.runs_threads() {
        short_openmp_spin();
    }
    if let Err(e) = gatescope::commands::run(command) {
        // One line: the error chain joined, as a user reads it.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        // Written even if stderr has gone (a terminal closed by SIGHUP): the status still says it.
        let _ = writeln!(std::io::stderr(), "gatescope: {}", msg.join(": "));
        // Stopped by a signal after cleaning up: the status a shell expects (130, 143).
        let code = e.downcast_ref::<Interrupted>().map_or(1, Interrupted::exit_code);
        std::process::exit(code);
    }
}

/// libtorch's OpenMP threads spin while they wait for work. On a machine whose
/// cores are busy with anything else (a build, a browser) that spinning fights
/// the other work; never spinning costs a little when the machine is idle.
/// Measured here, training a 2x256 model (chars/s):
///
/// | libgomp setting          | idle   | one core busy |
/// |--------------------------|--------|---------------|
/// | default (long spin)      | 26,200 |  8,200        |
/// | OMP_WAIT_POLICY=PASSIVE  | 21,600 | 14,500        |
/// | GOMP_SPINCOUNT=1000      | 25,700 | 12,700        |
///
/// gatescope takes the short spin. OpenMP reads these variables when the library
/// loads, before main, so main sets it and starts the process again once, for
/// the commands that run the model (the restart costs a second library load).
/// Either variable set by the user is left alone.
fn short_openmp_spin() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_WAIT_POLICY").is_some() || std::env::var_os("GOMP_SPINCOUNT").is_some() {
        return;
    }
    if let Ok(exe) = std::env::current_exe() {
        let err =
            std::process::Command::new(exe).args(std::env::args_os().skip(1)).env("GOMP_SPINCOUNT", "1000").exec();
        // exec only returns on failure; carry on with the default.
        eprintln!("gatescope: note: could not restart with GOMP_SPINCOUNT=1000 ({err})");
    }
}
