use parallel::{par_map, parallel};

pub struct Summary;

#[parallel]
fn crunch(n: u32) -> Summary {
    let _ = n;
    Summary
}

fn main() {
    let _ = par_map!(crunch, 0..4u32; backend = process);
}
