use parallel::parallel;

#[parallel]
struct Point {
    x: i32,
}

fn main() {
    assert_eq!(Point { x: 1 }.x, 1);
}
