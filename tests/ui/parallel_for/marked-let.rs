use parallel::parallel;

#[parallel]
fn double(n: u32) -> u32 {
    #[parallel(workers = 2)]
    let twice = n * 2;
    twice
}

fn main() {
    assert_eq!(double(3), 6);
}
