use parallel::parallel;

#[parallel]
fn count_down(mut n: u32) -> u32 {
    let mut steps = 0;
    #[parallel]
    while n > 0 {
        n -= 1;
        steps += 1;
    }
    steps
}

fn main() {
    assert_eq!(count_down(3), 3);
}
