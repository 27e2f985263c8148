//! Waiting that polls briefly before it sleeps: for answers that come within microseconds.

pub(crate) mod mailbox;
pub(crate) mod spin;
