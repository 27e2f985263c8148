use parallel::par_map;

fn f(n: u64) -> u64 {
    n + 1
}

fn main() {
    let v = vec![1, 2, 3];
    let out = par_map!(f, v; backend = threads, timeout = std::time::Duration::from_secs(5));
    assert_eq!(out, [2, 3, 4]);
}
