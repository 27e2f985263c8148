use super::Mailbox;
use std::sync::Arc;

#[test]
fn items_come_out_in_order() {
    let mailbox = Mailbox::new();
    assert_eq!(mailbox.try_recv(), None);
    mailbox.send(1);
    mailbox.send(2);
    assert_eq!(mailbox.try_recv(), Some(1));
    assert_eq!(mailbox.recv(), 2);
    assert_eq!(mailbox.try_recv(), None);
}

#[test]
fn a_sleeping_receiver_wakes_for_each_item() {
    let mailbox = Arc::new(Mailbox::new());
    let receiver = {
        let mailbox = Arc::clone(&mailbox);
        std::thread::spawn(move || (0..100).map(|_| mailbox.recv()).sum::<u32>())
    };
    for n in 0..100 {
        mailbox.send(n);
    }
    assert_eq!(receiver.join().unwrap(), 4950);
}
