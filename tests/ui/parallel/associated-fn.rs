use parallel::parallel;

struct Point {
    x: i32,
}

impl Point {
    #[parallel]
    fn origin() -> Self {
        Point { x: 0 }
    }
}

fn main() {
    assert_eq!(Point::origin().x, 0);
}
