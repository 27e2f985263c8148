//! `#[parallel] for` loops inside `#[parallel]` functions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parallel::parallel;

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

#[parallel]
fn sum_of_squares(n: u64) -> u64 {
    let mut total = 0;
    #[parallel]
    for i in 0..n {
        total += i * i;
    }
    total
}

#[parallel]
fn prime_stats(limit: u64) -> (usize, u64, u64, Vec<u64>) {
    let mut count = 0usize;
    let mut largest = 0u64;
    let mut smallest = u64::MAX;
    let mut primes = Vec::new();
    #[parallel(chunk = 64)]
    for n in 0..limit {
        if !is_prime(n) {
            continue;
        }
        count += 1;
        largest = largest.max(n);
        smallest = std::cmp::min(smallest, n);
        primes.push(n);
    }
    (count, largest, smallest, primes)
}

#[derive(Debug, PartialEq)]
struct BadLine(usize);

impl From<std::num::ParseIntError> for BadLine {
    fn from(_: std::num::ParseIntError) -> Self {
        BadLine(usize::MAX)
    }
}

/// `?` converts errors with `From`, exactly as the function's own `?` would.
#[parallel]
fn parse_all(lines: &[&str]) -> Result<i64, BadLine> {
    let mut total = 0i64;
    #[parallel(workers = 2)]
    for (number, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            Err(BadLine(number))?;
        }
        let value: i64 = line.trim().parse()?;
        total += value;
    }
    Ok(total)
}

#[parallel]
fn first_negative_free(values: &[i32]) -> Option<u32> {
    let mut sum = 0u32;
    #[parallel]
    for v in values {
        let v = u32::try_from(*v).ok()?;
        sum += v;
    }
    Some(sum)
}

#[parallel]
fn word_count(texts: &[String]) -> (usize, BTreeMap<String, usize>) {
    let mut words = 0;
    let mut seen = Vec::new();
    #[parallel(backend = threads, workers = 4)]
    for text in texts {
        for word in text.split_whitespace() {
            words += 1;
            seen.push(word.to_lowercase());
        }
    }
    let mut counts = BTreeMap::new();
    for word in seen {
        *counts.entry(word).or_insert(0) += 1;
    }
    (words, counts)
}

#[parallel]
fn flags_and_differences(items: &[u32], budget: u64) -> (bool, u32, u64, Vec<u32>) {
    let mut any_big = false;
    let mut parity = 0u32;
    let mut left = budget;
    let mut doubled = Vec::new();
    let threshold = 100; // an outer variable only read
    #[parallel]
    'items: for &item in items {
        for divisor in 2..4 {
            if item % divisor == 0 && item > 1000 {
                continue 'items;
            }
        }
        any_big |= item > threshold;
        parity ^= item;
        left -= u64::from(item);
        doubled.extend([item, item]);
    }
    (any_big, parity, left, doubled)
}

#[test]
fn a_sum() {
    assert_eq!(sum_of_squares(1000), (0..1000u64).map(|i| i * i).sum());
    assert_eq!(sum_of_squares(0), 0);
}

#[test]
fn continue_and_every_reduction_form() {
    let (count, largest, smallest, primes) = prime_stats(10_000);
    let expected: Vec<u64> = (0..10_000).filter(|&n| is_prime(n)).collect();
    assert_eq!(count, expected.len());
    assert_eq!(largest, 9973);
    assert_eq!(smallest, 2);
    assert_eq!(primes, expected, "pushes keep the input's order");
}

#[test]
fn question_mark_returns_the_error_from_the_function() {
    assert_eq!(parse_all(&["1", "", "2", " 3 "]), Ok(6));
    assert_eq!(parse_all(&["1", "x"]), Err(BadLine(usize::MAX)));
    assert_eq!(parse_all(&["1", "# comment"]), Err(BadLine(1)));
    assert_eq!(first_negative_free(&[1, 2, 3]), Some(6));
    assert_eq!(first_negative_free(&[1, -2, 3]), None);
}

#[test]
fn threads_backend_with_collected_words() {
    let texts: Vec<String> = (0..50)
        .map(|i| format!("the quick fox {i} jumps over the lazy dog"))
        .collect();
    let (words, counts) = word_count(&texts);
    assert_eq!(words, 50 * 9);
    assert_eq!(counts["the"], 100);
    assert_eq!(counts["fox"], 50);
}

#[test]
fn labelled_continue_or_xor_and_differences() {
    let items: Vec<u32> = vec![1, 2, 3, 200, 1002, 1003, 1001];
    let (any_big, parity, left, doubled) = flags_and_differences(&items, 10_000);
    let kept = [1u32, 2, 3, 200, 1003, 1001]; // 1002 is even and > 1000: skipped
    assert!(any_big);
    assert_eq!(parity, kept.iter().fold(0, |a, b| a ^ b));
    assert_eq!(
        left,
        10_000 - kept.iter().map(|&i| u64::from(i)).sum::<u64>()
    );
    assert_eq!(
        doubled,
        kept.iter().flat_map(|&i| [i, i]).collect::<Vec<_>>()
    );
}

#[test]
fn the_iterations_really_run_at_once() {
    #[parallel]
    fn meet(n: usize) -> usize {
        let barrier = std::sync::Barrier::new(n);
        let mut met = 0;
        #[parallel(backend = threads, workers = n)]
        for _ in 0..n {
            barrier.wait(); // returns only when all n iterations are running
            met += 1;
        }
        met
    }
    assert_eq!(meet(6), 6);
}

#[test]
fn nested_items_and_closures_keep_working() {
    #[parallel]
    fn outer(values: &[u64]) -> u64 {
        #[parallel]
        fn inner(n: u64) -> u64 {
            let mut total = 0;
            #[parallel]
            for i in 0..n {
                total += i;
            }
            total
        }
        let add_one = |x: u64| x + 1;
        let calls = AtomicUsize::new(0);
        let mut total = 0;
        #[parallel]
        for &v in values {
            calls.fetch_add(1, Ordering::Relaxed); // interior mutability is fine
            total += add_one(inner(v));
        }
        assert_eq!(calls.load(Ordering::Relaxed), values.len());
        total
    }
    // inner(3) + 1 and inner(4) + 1, where inner(n) sums 0..n
    assert_eq!(outer(&[3, 4]), (3 + 1) + (6 + 1));
}

#[test]
fn a_panic_in_an_iteration_reaches_the_caller() {
    #[parallel]
    fn fails() {
        #[parallel]
        for i in 0..100 {
            if i == 42 {
                panic!("iteration {i} failed");
            }
        }
    }
    let payload = std::panic::catch_unwind(fails).expect_err("the panic was lost");
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "iteration 42 failed"
    );
}

/// The first collected `Vec` is written in place; a second one, and a sum, are partials.
#[parallel]
fn squares_and_odd_cubes(n: u64) -> (Vec<u64>, Vec<u64>, u64) {
    let mut squares = vec![u64::MAX];
    let mut odd_cubes = Vec::new();
    let mut total = 0;
    #[parallel]
    for i in 0..n {
        total += i;
        let square = [i * i];
        squares.extend(square.iter()); // references to `Copy` values, as `Vec::extend` takes
        if i % 2 == 0 {
            continue;
        }
        odd_cubes.push(i * i * i);
    }
    (squares, odd_cubes, total)
}

#[parallel]
fn parse_in_order(lines: &[String]) -> Result<Vec<i64>, std::num::ParseIntError> {
    let mut values = Vec::new();
    #[parallel]
    for line in lines {
        if line.is_empty() {
            continue;
        }
        values.push(line.trim().parse::<i64>()?);
    }
    Ok(values)
}

/// An input that is no parallel iterator: gathered first, then written in place.
#[parallel]
fn words_twice(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    #[parallel]
    for word in text.split_whitespace() {
        if word.len() > 3 {
            words.extend([word.to_owned(), word.to_uppercase()]);
        } else {
            words.push(word.to_owned());
        }
    }
    words
}

#[test]
fn in_order_pushes_with_continue_beside_other_reductions() {
    let n = 100_000;
    let (squares, odd_cubes, total) = squares_and_odd_cubes(n);
    let expected: Vec<u64> = std::iter::once(u64::MAX)
        .chain((0..n).map(|i| i * i))
        .collect();
    assert_eq!(squares, expected, "pushes after the Vec's values, in order");
    let expected: Vec<u64> = (0..n).filter(|i| i % 2 == 1).map(|i| i * i * i).collect();
    assert_eq!(odd_cubes, expected);
    assert_eq!(total, n * (n - 1) / 2);
    assert_eq!(squares_and_odd_cubes(0), (vec![u64::MAX], Vec::new(), 0));
}

#[test]
fn in_order_pushes_stop_at_a_question_mark() {
    let mut lines: Vec<String> = (0..20_000).map(|i| format!(" {i} ")).collect();
    lines[5] = String::new();
    let expected: Vec<i64> = (0..20_000).filter(|&i| i != 5).collect();
    assert_eq!(parse_in_order(&lines), Ok(expected));
    lines[12_345] = "twelve".to_owned();
    let error = parse_in_order(&lines).unwrap_err();
    assert_eq!(error, "twelve".parse::<i64>().unwrap_err());
}

#[test]
fn in_order_pushes_over_an_input_gathered_first() {
    assert_eq!(
        words_twice("the quick brown fox"),
        ["the", "quick", "QUICK", "brown", "BROWN", "fox"]
    );
}
