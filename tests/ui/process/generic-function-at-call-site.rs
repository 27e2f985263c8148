// A generic `#[parallel]` function sent to processes by the call's options (its attribute does
// not say `backend = process`): one error at the call site that says "generic".
use parallel::{par_map, parallel};

#[parallel]
fn first<T: Clone>(items: Vec<T>) -> T {
    items[0].clone()
}

fn main() {
    let lists = vec![vec![1u32], vec![2]];
    let _: Vec<u32> = par_map!(first, lists; backend = process);
}
