//! `#[parallel]` keeps functions callable and gives the macros their defaults.

use parallel::{par_map, parallel};

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

/// Runs on two dedicated threads unless a call says otherwise.
#[parallel(backend = threads, workers = 2)]
fn thread_name(_: u32) -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

#[parallel(backend = rayon, workers = 3)]
fn rayon_threads(_: u32) -> usize {
    rayon::current_num_threads()
}

mod jobs {
    use parallel::parallel;

    #[parallel(backend = threads)]
    pub fn on_thread(_: u32) -> bool {
        std::thread::current().name() == Some("parallel-threads")
    }

    #[parallel]
    pub(crate) fn generic<T: Clone>(value: T) -> (T, T) {
        (value.clone(), value)
    }
}

#[test]
fn the_function_is_callable_as_before() {
    assert_eq!(square(9), 81);
    let f: fn(u64) -> u64 = square;
    assert_eq!([1, 2].map(f), [1, 4]);
    assert_eq!(jobs::generic("a"), ("a", "a"));
}

#[test]
fn the_macros_use_the_functions_defaults() {
    assert!(
        par_map!(thread_name, 0..4)
            .iter()
            .all(|n| n == "parallel-threads")
    );
    assert!(par_map!(rayon_threads, 0..4).iter().all(|&n| n == 3));
    // through a module path, and through an import
    assert!(par_map!(jobs::on_thread, 0..4).iter().all(|&t| t));
    use jobs::on_thread;
    assert!(par_map!(on_thread, 0..4).iter().all(|&t| t));
}

#[test]
fn the_calls_options_win_over_the_defaults() {
    let names = par_map!(thread_name, 0..4; backend = rayon);
    assert!(names.iter().all(|n| n != "parallel-threads"));
    let counts = par_map!(rayon_threads, 0..2; workers = 1);
    assert_eq!(counts, [1, 1]);
}

#[test]
fn a_marked_function_inside_a_function_body() {
    #[parallel(workers = 2)]
    fn cube(n: i32) -> i32 {
        n * n * n
    }
    assert_eq!(par_map!(cube, [1, 2, 3]), [1, 8, 27]);
}
