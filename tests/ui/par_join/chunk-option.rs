use parallel::par_join;

fn a() -> u8 {
    1
}

fn b() -> u8 {
    2
}

fn main() {
    let (x, y) = par_join!(a(), b(); chunk = 10);
    assert_eq!(x + y, 3);
}
