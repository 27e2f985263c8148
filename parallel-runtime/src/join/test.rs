use super::*;

#[test]
fn join_runs_both_closures_and_returns_both_values() {
    let data = [1, 2, 3, 4];
    let (sum, len) = join(|| data.iter().sum::<i32>(), || data.len());
    assert_eq!((sum, len), (10, 4));
}
