use parallel::parallel;

#[parallel(thread = 4)]
fn square(n: u64) -> u64 {
    n * n
}

fn main() {
    assert_eq!(square(3), 9);
}
