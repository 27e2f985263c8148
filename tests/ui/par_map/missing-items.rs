use parallel::par_map;

fn square(n: u64) -> u64 {
    n * n
}

fn main() {
    let squares = par_map!(square);
    assert_eq!(squares.len(), 3);
}
