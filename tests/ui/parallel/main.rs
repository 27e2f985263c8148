use parallel::parallel;

#[parallel]
fn main() {
    println!("hello");
}
