use parallel::parallel;

struct Counter {
    n: u32,
}

impl Counter {
    #[parallel]
    fn get(&self) -> u32 {
        self.n
    }
}

fn main() {
    assert_eq!(Counter { n: 1 }.get(), 1);
}
