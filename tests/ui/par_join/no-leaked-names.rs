use parallel::par_join;

fn main() {
    let (x, y) = par_join!(1, task0);
    assert_eq!(x, y);
}
