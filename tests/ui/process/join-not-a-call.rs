use parallel::{par_join, parallel};

#[parallel]
fn double(n: u32) -> u32 {
    n * 2
}

fn main() {
    let x = 2;
    let _ = par_join!(double(1), x + 1; backend = process);
}
