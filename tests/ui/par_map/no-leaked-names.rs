use parallel::par_map;

fn main() {
    let out = par_map!(|x: usize| x + items.len(), vec![1, 2]);
    assert_eq!(out, [1, 2]);
}
