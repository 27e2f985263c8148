use super::InOrder;

#[test]
fn runs_arriving_out_of_order_come_out_in_order() {
    let mut order = InOrder::with_capacity(0);
    order.insert(5, vec![5, 6]);
    order.insert(2, vec![2, 3, 4]);
    order.insert(0, vec![0, 1]);
    order.insert(7, vec![7]);
    assert_eq!(order.into_prefix(None), [0, 1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn a_stop_keeps_the_calls_before_it() {
    let mut order = InOrder::with_capacity(0);
    order.insert(4, vec![4, 5]);
    order.insert(0, vec![0, 1, 2]);
    // Call 3 never ran: the map stopped at call 2.
    assert_eq!(order.into_prefix(Some(3)), [0, 1, 2]);
}
