use parallel::parallel;

#[parallel]
enum Shape {
    Circle,
}

fn main() {
    assert!(matches!(Shape::Circle, Shape::Circle));
}
