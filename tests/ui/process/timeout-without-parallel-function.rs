use parallel::par_map;

fn f(n: u64) -> u64 {
    n + 1
}

fn main() {
    let out = par_map!(f, vec![1, 2]; timeout = std::time::Duration::from_secs(5));
    assert_eq!(out, [2, 3]);
}
