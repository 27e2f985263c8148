//! A `#[parallel] for` loop checking numbers for primality, with every reduction form: a count
//! (`+=`), a largest and smallest (`max`, `min`), flags (`|=`, `^=`) and an in-order list
//! (`push`). Run with `cargo run --release --example parallel_for_primes`.

use parallel::parallel;

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

struct Stats {
    count: usize,
    largest: u64,
    smallest: u64,
    any_twin: bool,
    parity: u64,
    primes: Vec<u64>,
}

#[parallel]
fn primes_below(limit: u64) -> Stats {
    let mut count = 0;
    let mut largest = 0;
    let mut smallest = u64::MAX;
    let mut any_twin = false;
    let mut parity = 0;
    let mut primes = Vec::new();
    #[parallel(chunk = 256)]
    for n in 0..limit {
        if !is_prime(n) {
            continue;
        }
        count += 1;
        largest = largest.max(n);
        smallest = std::cmp::min(smallest, n);
        any_twin |= is_prime(n + 2);
        parity ^= n;
        primes.push(n);
    }
    Stats {
        count,
        largest,
        smallest,
        any_twin,
        parity,
        primes,
    }
}

fn main() {
    let limit = 200_000;
    let stats = primes_below(limit);
    println!(
        "{} primes below {limit}: smallest {}, largest {}, twin primes: {}, xor of all: {}",
        stats.count, stats.smallest, stats.largest, stats.any_twin, stats.parity
    );

    let expected: Vec<u64> = (0..limit).filter(|&n| is_prime(n)).collect();
    assert_eq!(stats.count, expected.len());
    assert_eq!(stats.count, 17_984);
    assert_eq!(stats.largest, *expected.last().unwrap());
    assert_eq!(stats.smallest, 2);
    assert!(stats.any_twin);
    assert_eq!(stats.parity, expected.iter().fold(0, |a, b| a ^ b));
    assert_eq!(stats.primes, expected, "the list keeps the input's order");
}
