//! Worker ranks for a program started alone: rank 0 spawns them (`MPI_Comm_spawn`, as
//! `MPIPoolExecutor` does), and each greets it with what `watch` needs to see it die.

use mpi::topology::{InterCommunicator, Rank};
use mpi::traits::{Communicator, FromRaw, Source};

use super::TAG_HELLO;
use super::launch::MPI_WORKER_ARG;
use super::watch::Watch;

/// Spawns `count` ranks running this executable as workers, and reads their greetings: the
/// intercommunicator to them, their ranks in it, and a watch of each.
///
/// # Errors
///
/// Why they could not be spawned, saying what to do instead.
pub(super) fn workers(count: usize) -> Result<(InterCommunicator, Vec<Rank>, Vec<Watch>), String> {
    let children = spawn_workers(count)?;
    let ranks: Vec<Rank> = (0..children.remote_size()).collect();
    let watches = ranks
        .iter()
        .map(|&rank| {
            let (hello, _) = children
                .process_at_rank(rank)
                .receive_vec_with_tag::<u8>(TAG_HELLO);
            Watch::of(&hello)
        })
        .collect();
    Ok((children, ranks, watches))
}

/// Spawns `count` ranks running this executable as workers.
#[allow(unsafe_code)]
fn spawn_workers(count: usize) -> Result<InterCommunicator, String> {
    use std::ffi::CString;
    let fail = |why: String| {
        Err(format!(
            "cannot spawn {count} MPI worker ranks ({why}); start the program with \
             `mpirun -n {} <program>` instead",
            count + 1
        ))
    };
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(e) => return fail(format!("the path of this program: {e}")),
    };
    let Ok(program) = CString::new(program.as_os_str().as_encoded_bytes()) else {
        return fail("the path of this program holds a NUL".to_owned());
    };
    let Ok(count_c) = i32::try_from(count) else {
        return fail("too many".to_owned());
    };
    let argument = CString::new(MPI_WORKER_ARG).unwrap_or_default();
    let mut argv = [argument.as_ptr().cast_mut(), std::ptr::null_mut()];
    let (key, value) = (c"map_by", c"slot:OVERSUBSCRIBE");
    let mut errors = vec![0; count];
    // SAFETY: plain MPI calls after `MPI_Init_thread`, on the thread that made it: `info` is
    // created before use and freed after; `program` and `argv` (NUL-terminated strings, and a
    // null-terminated array of them) outlive the call; `errors` has room for `count` codes;
    // `children` is written by `MPI_Comm_spawn` before it is read. `MPI_ERRORS_RETURN` on
    // `MPI_COMM_SELF` makes a failed spawn return its code instead of aborting.
    let (code, children) = unsafe {
        let mut info = std::mem::zeroed();
        mpi::ffi::MPI_Info_create(&mut info);
        mpi::ffi::MPI_Info_set(info, key.as_ptr(), value.as_ptr());
        mpi::ffi::MPI_Comm_set_errhandler(mpi::ffi::RSMPI_COMM_SELF, mpi::ffi::RSMPI_ERRORS_RETURN);
        let mut children = mpi::ffi::RSMPI_COMM_NULL;
        let code = mpi::ffi::MPI_Comm_spawn(
            program.as_ptr(),
            argv.as_mut_ptr(),
            count_c,
            info,
            0,
            mpi::ffi::RSMPI_COMM_SELF,
            &mut children,
            errors.as_mut_ptr(),
        );
        mpi::ffi::MPI_Info_free(&mut info);
        (code, children)
    };
    let failed = errors.iter().filter(|&&code| code != 0).count();
    if code != 0 || children == unsafe_comm_null() || failed > 0 {
        return fail(format!(
            "MPI_Comm_spawn returned {code}, and {failed} of {count} ranks failed"
        ));
    }
    // SAFETY: `children` is the live intercommunicator that `MPI_Comm_spawn` just returned.
    Ok(unsafe { InterCommunicator::from_raw(children) })
}

#[allow(unsafe_code)]
fn unsafe_comm_null() -> mpi::ffi::MPI_Comm {
    // SAFETY: reads a constant handle that the MPI bindings export.
    unsafe { mpi::ffi::RSMPI_COMM_NULL }
}
