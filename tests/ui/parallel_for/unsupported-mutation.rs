use parallel::parallel;

#[parallel]
fn product(values: &[u64]) -> u64 {
    let mut product = 1;
    #[parallel]
    for &v in values {
        product *= v;
    }
    product
}

fn main() {
    let _ = product(&[]);
}
