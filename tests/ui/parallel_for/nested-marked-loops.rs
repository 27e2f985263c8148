use parallel::parallel;

#[parallel]
fn grid(n: u64) -> u64 {
    let mut total = 0;
    #[parallel]
    for i in 0..n {
        #[parallel]
        for j in 0..n {
            total += i * j;
        }
    }
    total
}

fn main() {
    let _ = grid(3);
}
