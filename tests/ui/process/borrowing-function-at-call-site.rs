// A `#[parallel]` function of borrowed data sent to processes by the call's options: one error
// at the call site that says "borrowed".
use parallel::{par_map, parallel};

#[parallel]
fn count(text: &str) -> usize {
    text.len()
}

fn main() {
    let texts = vec!["a", "bb"];
    let _: Vec<usize> = par_map!(count, texts; backend = process);
}
