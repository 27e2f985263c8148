use parallel::parallel;

#[parallel]
fn last(values: &[u64]) -> u64 {
    let mut last = 0;
    #[parallel]
    for &v in values {
        last = v;
    }
    last
}

fn main() {
    let _ = last(&[]);
}
