use parallel::parallel;

struct Scaler;

impl Scaler {
    #[parallel]
    fn scale(x: u64) -> u64 {
        x * 2
    }
}

fn main() {
    assert_eq!(Scaler::scale(2), 4);
}
