use parallel::parallel;

#[parallel]
fn first_big(values: &[u32]) -> u32 {
    let mut total = 0;
    #[parallel]
    for &v in values {
        if v > 100 {
            break;
        }
        total += v;
    }
    total
}

fn main() {
    let _ = first_big(&[1]);
}
