use parallel::parallel;

#[parallel]
fn total(n: u64) -> u64 {
    let mut total = 0;
    #[parallel(backend = process)]
    for i in 0..n {
        total += i;
    }
    total
}

fn main() {
    let _ = total(3);
}
