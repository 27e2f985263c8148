//! Where this process sits in an MPI job, decided before `main` from what the launcher left.
//!
//! `mpirun` (Open MPI, MPICH's Hydra) and `srun` start every rank with its rank in the
//! environment; ranks that this program spawned itself (`MPI_Comm_spawn`) get
//! [`MPI_WORKER_ARG`] as their argument. Nothing here starts MPI: a program that never uses the
//! MPI backend never initializes it on rank 0.

/// The argument of the worker ranks that rank 0 spawns.
pub(crate) const MPI_WORKER_ARG: &str = "--parallel-mpi-worker";

/// The environment variables in which launchers give a process its rank, most specific first.
const RANK_VARS: [&str; 4] = [
    "OMPI_COMM_WORLD_RANK", // Open MPI's mpirun
    "PMIX_RANK",            // PMIx launchers (Open MPI 5, srun --mpi=pmix)
    "PMI_RANK",             // MPICH's Hydra, Intel MPI
    "SLURM_PROCID",         // srun
];

/// What this process is in an MPI job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A worker rank that rank 0 spawned: it serves its parent.
    Spawned,
    /// A rank other than 0 of a launched job: it serves rank 0 of its world.
    Serving(u32),
    /// Rank 0 of a launched job, or a program started without a launcher: it runs `main`.
    Main,
}

/// Where this process sits, from its arguments and environment.
pub(crate) fn place() -> Place {
    if std::env::args_os().skip(1).any(|arg| arg == MPI_WORKER_ARG) {
        return Place::Spawned;
    }
    match launched_rank() {
        Some(rank) if rank > 0 => Place::Serving(rank),
        _ => Place::Main,
    }
}

/// This process's rank, if a launcher started it.
pub(crate) fn launched_rank() -> Option<u32> {
    RANK_VARS
        .iter()
        .find_map(|var| std::env::var(var).ok()?.trim().parse().ok())
}
