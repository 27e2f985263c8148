use parallel::parallel;

#[parallel(backend = process)]
fn count(text: &str) -> usize {
    text.len()
}

fn main() {}
