use super::*;

#[test]
fn display_names_the_task_and_the_cause() {
    let err = TaskError::panicked(Box::new("boom"))
        .with_index(3)
        .with_name("square");
    assert_eq!(err.to_string(), "task 3 (`square`) panicked: boom");
    assert_eq!(err.index(), Some(3));
    assert_eq!(err.name(), Some("square"));

    let err = TaskError::timed_out(Duration::from_millis(5));
    assert_eq!(err.to_string(), "task timed out after 5ms");
    assert!(err.is_timeout());

    assert_eq!(TaskError::cancelled().to_string(), "task was cancelled");
}

#[test]
fn panic_messages_of_every_payload_shape() {
    let owned = TaskError::panicked(Box::new(String::from("owned")));
    assert_eq!(owned.panic_message(), Some("owned"));
    let other = TaskError::panicked(Box::new(7_u32));
    assert_eq!(other.panic_message(), Some("Box<dyn Any>"));
}

#[test]
fn into_panic_gives_back_the_original_payload_or_the_message() {
    let payload = TaskError::panicked(Box::new(String::from("original"))).into_panic();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "original");

    let payload = TaskError::cancelled().with_index(1).into_panic();
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "task 1 was cancelled"
    );
}

#[test]
fn task_error_is_an_error_that_crosses_threads() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<TaskError>();
    assert_error::<ConfigError>();
}
