use parallel::parallel;

trait Scale {
    #[parallel]
    fn scale(x: u64) -> u64 {
        x * 2
    }
}

fn main() {}
