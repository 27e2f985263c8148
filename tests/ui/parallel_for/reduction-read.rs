use parallel::parallel;

#[parallel]
fn capped(values: &[u64]) -> u64 {
    let mut total = 0;
    #[parallel]
    for &v in values {
        if total < 100 {
            total += v;
        }
    }
    total
}

fn main() {
    let _ = capped(&[]);
}
