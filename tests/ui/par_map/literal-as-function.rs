use parallel::par_map;

fn main() {
    let v = vec![1, 2, 3];
    let out = par_map!(5, v);
    assert_eq!(out.len(), 3);
}
