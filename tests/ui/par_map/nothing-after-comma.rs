use parallel::par_map;

fn f(n: u64) -> u64 {
    n + 1
}

fn main() {
    let out = par_map!(f,);
    assert_eq!(out, [2, 3, 4]);
}
