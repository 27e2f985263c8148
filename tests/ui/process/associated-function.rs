use parallel::{par_join, par_map};

struct Scaler;

impl Scaler {
    fn scale(x: u64) -> u64 {
        x * 2
    }

    fn all(xs: Vec<u64>) -> Vec<u64> {
        par_map!(Self::scale, xs; backend = process)
    }

    fn two() -> (u64, u64) {
        par_join!(Self::scale(1), Self::scale(2); backend = process)
    }
}

fn main() {
    let _ = Scaler::all(vec![1, 2]);
    let _ = Scaler::two();
}
