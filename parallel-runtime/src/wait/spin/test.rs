use super::*;

#[test]
fn only_a_second_preemption_soon_after_the_first_stops_polling() {
    let ms = |n: u64| n * 1_000_000;
    assert!(!confirms(0, ms(5)), "the first one alone");
    assert!(confirms(ms(5), ms(9)));
    assert!(!confirms(ms(5), ms(5) + ms(10)), "too far apart");
}
