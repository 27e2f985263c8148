use parallel::parallel;

#[parallel]
fn total(lines: &[&str]) -> u64 {
    let mut total = 0;
    #[parallel]
    for line in lines {
        total += line.parse::<u64>()?;
    }
    total
}

fn main() {
    let _ = total(&[]);
}
