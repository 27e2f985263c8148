use parallel::par_join;

fn a() -> u8 {
    1
}

fn b() -> u8 {
    2
}

fn main() {
    let (x, y) = par_join!(a(), b(), backend = threads);
    assert_eq!(x + y, 3);
}
