use std::rc::Rc;

use parallel::{par_join, parallel};

#[parallel]
fn length(items: Rc<Vec<u32>>) -> usize {
    items.len()
}

fn main() {
    let shared = Rc::new(vec![1, 2]);
    let _ = par_join!(length(shared.clone()), length(shared); backend = process);
}
