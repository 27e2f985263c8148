//! Whole MPI jobs, each this test program under `mpirun -n 3` (or alone, spawning its ranks)
//! running one scenario: what tasks on worker ranks print reaches the launcher's terminal; and a
//! worker rank that dies ends the job (plain MPI has no way around it), in bounded time,
//! non-zero, saying which rank died in which task, never hanging.
#![cfg(all(unix, feature = "mpi"))]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parallel::{MpiPool, parallel};

/// Far beyond the seconds a job takes to end: only a hang reaches it.
const HANG: Duration = Duration::from_secs(60);

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

#[parallel]
fn crash(n: u64) -> u64 {
    if n == 7 {
        std::process::abort();
    }
    n
}

#[parallel]
fn killed(n: u64) -> u64 {
    if n == 7 {
        let _ = Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        std::thread::sleep(Duration::from_secs(30));
    }
    n
}

/// Runs scenario `name` of this program under `mpirun -n 3`; its exit success, its stderr.
fn run_job(name: &str) -> (bool, String) {
    let (success, _, stderr) = run_job_with_output(name);
    (success, stderr)
}

/// Runs scenario `name` of this program under `mpirun -n 3`; its exit success, stdout, stderr.
fn run_job_with_output(name: &str) -> (bool, String, String) {
    let mut command = Command::new("mpirun");
    command
        .args(["-n", "3", "--oversubscribe"])
        .arg(std::env::current_exe().unwrap());
    run_scenario(command, name)
}

/// Runs scenario `name` of this program alone, its pool spawning its ranks; its exit success,
/// its stderr.
fn run_alone(name: &str) -> (bool, String) {
    let (success, _, stderr) = run_scenario(Command::new(std::env::current_exe().unwrap()), name);
    (success, stderr)
}

/// Runs scenario `name` with `command` (this program, launched or not); its exit success,
/// stdout, stderr.
fn run_scenario(mut command: Command, name: &str) -> (bool, String, String) {
    // One job at a time: Open MPI 4.1's launchers, started at once, race to create their shared
    // session directory, and the loser fails to start ("mkdir … File exists").
    static ONE_JOB: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_job = ONE_JOB.lock().unwrap_or_else(|e| e.into_inner());
    command
        .args(["--exact", "--ignored", "--nocapture", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (var, _) in std::env::vars_os() {
        let var = var.to_string_lossy();
        if ["OMPI_COMM_WORLD", "PMIX_", "PMI_"]
            .iter()
            .any(|p| var.starts_with(p))
        {
            command.env_remove(&*var);
        }
    }
    let mut child = command.spawn().expect("mpirun (install Open MPI)");
    // Read as the job runs, so that a full pipe never stalls it.
    let mut stdout_pipe = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        stdout_pipe.read_to_string(&mut text).unwrap();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("the job still runs after {HANG:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.success(), stdout.join().unwrap(), stderr)
}

#[test]
fn a_rank_that_crashes_in_a_task_ends_the_job_and_names_the_task() {
    let (success, stderr) = run_job("scenario_a_task_aborts_its_rank");
    assert!(!success, "{stderr}");
    assert!(
        stderr.contains("crashed in task `crash`") && stderr.contains("parallel: MPI rank"),
        "{stderr}"
    );
    // The launcher's own account, which names the rank and the signal.
    assert!(stderr.contains("signal 6"), "{stderr}");
}

#[test]
fn a_rank_killed_from_outside_ends_the_job() {
    let (success, stderr) = run_job("scenario_a_rank_is_killed");
    assert!(!success, "{stderr}");
    assert!(stderr.contains("signal 9"), "{stderr}");
}

#[test]
#[ignore = "run under mpirun by a_rank_that_crashes_in_a_task_ends_the_job_and_names_the_task"]
fn scenario_a_task_aborts_its_rank() {
    let pool = MpiPool::builder().build().unwrap();
    assert_eq!(pool.spawn(square, (3,)).join().unwrap(), 9);
    let _ = pool.map(crash, 0..20).count();
    unreachable!("the job ends when a rank dies");
}

#[test]
#[ignore = "run under mpirun by a_rank_killed_from_outside_ends_the_job"]
fn scenario_a_rank_is_killed() {
    let pool = MpiPool::builder().build().unwrap();
    let _ = pool.map(killed, 0..20).count();
    unreachable!("the job ends when a rank dies");
}

/// A rank that this program spawned, rather than a launcher started, dies: the program ends,
/// non-zero, saying which rank died, in bounded time. MPI alone would leave it waiting for the
/// dead rank's reply forever.
#[test]
fn a_spawned_rank_that_crashes_in_a_task_ends_the_program() {
    let (success, stderr) = run_alone("scenario_a_task_aborts_its_spawned_rank");
    assert!(!success, "{stderr}");
    assert!(stderr.contains("crashed in task `crash`"), "{stderr}");
    assert!(
        stderr.contains("which this program spawned, died; the program ends"),
        "{stderr}"
    );
}

#[test]
fn a_spawned_rank_killed_from_outside_ends_the_program() {
    let (success, stderr) = run_alone("scenario_a_spawned_rank_is_killed");
    assert!(!success, "{stderr}");
    assert!(
        stderr.contains("which this program spawned, died; the program ends"),
        "{stderr}"
    );
}

#[test]
#[ignore = "run alone by a_spawned_rank_that_crashes_in_a_task_ends_the_program"]
fn scenario_a_task_aborts_its_spawned_rank() {
    let pool = MpiPool::builder().workers(2).build().unwrap();
    assert_eq!(pool.spawn(square, (3,)).join().unwrap(), 9);
    let _ = pool.map(crash, 0..20).count();
    unreachable!("the program ends when a rank it spawned dies");
}

#[test]
#[ignore = "run alone by a_spawned_rank_killed_from_outside_ends_the_program"]
fn scenario_a_spawned_rank_is_killed() {
    let pool = MpiPool::builder().workers(2).build().unwrap();
    let _ = pool.map(killed, 0..20).count();
    unreachable!("the program ends when a rank it spawned dies");
}

#[parallel]
fn shout(n: u32) -> u32 {
    println!("task {n} says hello from process {}", std::process::id());
    eprintln!("task {n} warns from process {}", std::process::id());
    n
}

#[test]
fn what_tasks_print_on_worker_ranks_reaches_the_launchers_terminal() {
    let (success, stdout, stderr) = run_job_with_output("scenario_tasks_print");
    assert!(success, "{stderr}");
    for n in 0..6 {
        assert!(stdout.contains(&format!("task {n} says hello")), "{stdout}");
    }
    // Rust writes a line to stderr in pieces (stderr is unbuffered), and the launcher passes
    // on each piece as it comes: pieces of two ranks' lines may interleave, each piece whole.
    assert_eq!(
        stderr.matches(" warns from process ").count(),
        6,
        "{stderr}"
    );
    // From worker ranks, not from rank 0 (whose process id the scenario prints).
    let main = stdout
        .lines()
        .find_map(|line| line.strip_prefix("rank 0 is process "))
        .expect("rank 0's line");
    assert!(
        !stdout.contains(&format!("hello from process {main}\n")),
        "{stdout}"
    );
}

#[test]
#[ignore = "run under mpirun by what_tasks_print_on_worker_ranks_reaches_the_launchers_terminal"]
fn scenario_tasks_print() {
    println!("rank 0 is process {}", std::process::id());
    let pool = MpiPool::builder().build().unwrap();
    let results: Vec<u32> = pool.map(shout, 0..6).map(Result::unwrap).collect();
    assert_eq!(results, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn a_rank_that_fails_outside_a_task_aborts_the_job_with_a_message() {
    let (success, stderr) = run_job("scenario_a_rank_gets_a_message_it_cannot_read");
    assert!(!success, "{stderr}");
    assert!(
        stderr.contains("fails outside a task (rank 0 sent a message with tag 99)")
            && stderr.contains("aborting the MPI job"),
        "{stderr}"
    );
}

#[test]
#[ignore = "run under mpirun by a_rank_that_fails_outside_a_task_aborts_the_job_with_a_message"]
fn scenario_a_rank_gets_a_message_it_cannot_read() {
    let pool = MpiPool::builder().build().unwrap();
    assert_eq!(pool.spawn(square, (3,)).join().unwrap(), 9);
    assert!(parallel::__private::mpi_send_raw(0, 99, b"nonsense"));
    wait_for_the_abort(&pool)
}

/// Waits, mapping, for a rank to abort the job, which ends this process.
fn wait_for_the_abort(pool: &MpiPool) -> ! {
    let _ = pool.map(square, 0..1_000_000).count();
    std::thread::sleep(Duration::from_secs(30));
    unreachable!("the job ends when a rank aborts it");
}

/// The body of a message of tag 6 (a request with parts): a run (tag 1) of `body` whose one
/// part, of `len` bytes, goes at `at` of it; a message of tag 7 carries the part.
fn head_of_one_part(at: u64, len: u64, body: &[u8]) -> Vec<u8> {
    let mut head = vec![1u8];
    head.extend_from_slice(&1u32.to_le_bytes());
    head.extend_from_slice(&at.to_le_bytes());
    head.extend_from_slice(&len.to_le_bytes());
    head.extend_from_slice(body);
    head
}

#[test]
fn a_rank_given_a_request_with_broken_parts_aborts_the_job_with_a_message() {
    let (success, stderr) = run_job("scenario_a_rank_gets_broken_parts");
    assert!(!success, "{stderr}");
    assert!(
        stderr.contains(
            "rank 0 sent a request with parts that breaks the protocol: a part out of order or \
             outside its request"
        ) && stderr.contains("aborting the MPI job"),
        "{stderr}"
    );
}

#[test]
fn a_rank_given_a_part_of_the_wrong_length_aborts_the_job_with_a_message() {
    let (success, stderr) = run_job("scenario_a_rank_gets_a_part_of_the_wrong_length");
    assert!(!success, "{stderr}");
    assert!(
        stderr.contains(
            "rank 0 sent a part that breaks the protocol: a part of another length than its \
             head gives"
        ) && stderr.contains("aborting the MPI job"),
        "{stderr}"
    );
}

#[test]
#[ignore = "run under mpirun by a_rank_given_a_part_of_the_wrong_length_aborts_the_job_with_a_message"]
fn scenario_a_rank_gets_a_part_of_the_wrong_length() {
    let pool = MpiPool::builder().build().unwrap();
    assert_eq!(pool.spawn(square, (3,)).join().unwrap(), 9);
    // A run of one part of 4 bytes at the end of its body, then a part of 3.
    assert!(parallel::__private::mpi_send_raw(
        0,
        6,
        &head_of_one_part(3, 4, b"abc")
    ));
    assert!(parallel::__private::mpi_send_raw(0, 7, b"xyz"));
    wait_for_the_abort(&pool)
}

#[test]
#[ignore = "run under mpirun by a_rank_given_a_request_with_broken_parts_aborts_the_job_with_a_message"]
fn scenario_a_rank_gets_broken_parts() {
    let pool = MpiPool::builder().build().unwrap();
    assert_eq!(pool.spawn(square, (3,)).join().unwrap(), 9);
    // A run of one part placed past the end of its 3-byte body.
    assert!(parallel::__private::mpi_send_raw(
        0,
        6,
        &head_of_one_part(9, 4, b"abc")
    ));
    wait_for_the_abort(&pool)
}
