use super::*;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::ser::Error as _;

/// postcard's error for `value`.
fn postcard_error<T: Serialize + ?Sized>(value: &T) -> Option<postcard::Error> {
    postcard::to_stdvec(value).err()
}

/// Asserts that postcard encodes `value` and that the sink finds no message.
fn serializes<T: Serialize + ?Sized>(value: &T) {
    assert_eq!(postcard_error(value), None);
    assert_eq!(serialize_error(value), None);
}

/// Fails with its own message, wherever it is.
#[derive(PartialEq, Eq, Hash)]
struct Refuses(u32);

impl Serialize for Refuses {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(format_args!(
            "handle {} cannot leave this process",
            self.0
        )))
    }
}

#[derive(Serialize)]
enum Reply {
    Value(u32),
    // Never read: serializing it is what fails.
    #[allow(dead_code)]
    #[serde(skip_serializing)]
    Secret(String),
}

#[test]
fn a_skipped_variant_gives_serde_derives_message() {
    let secret = Reply::Secret("hunter2".to_owned());
    assert_eq!(
        postcard_error(&secret),
        Some(postcard::Error::SerdeSerCustom)
    );
    assert_eq!(
        postcard_error(&secret).unwrap().to_string(),
        "Serde Serialization Error"
    );
    assert_eq!(
        serialize_error(&secret).as_deref(),
        Some("the enum variant Reply::Secret cannot be serialized")
    );
    // The same value inside others.
    assert_eq!(
        serialize_error(&(1u8, vec![Reply::Value(2), secret])).as_deref(),
        Some("the enum variant Reply::Secret cannot be serialized")
    );
    serializes(&Reply::Value(3));
}

#[derive(Serialize)]
struct Job {
    id: u32,
    name: String,
    handle: Option<Refuses>,
}

#[test]
fn a_deep_custom_error_keeps_its_message() {
    let job = |id, handle| Job {
        id,
        name: format!("job {id}"),
        handle,
    };
    let mut jobs = BTreeMap::new();
    jobs.insert("a".to_owned(), vec![job(1, None), job(2, None)]);
    jobs.insert("b".to_owned(), vec![job(3, None), job(4, Some(Refuses(7)))]);
    assert_eq!(postcard_error(&jobs), Some(postcard::Error::SerdeSerCustom));
    assert_eq!(
        serialize_error(&jobs).as_deref(),
        Some("handle 7 cannot leave this process")
    );

    // As a map key, and under each compound kind that derive produces.
    #[derive(Serialize)]
    enum Holder {
        Tuple(u8, Refuses),
        Struct { first: u8, second: Refuses },
    }
    #[derive(Serialize)]
    struct Pair(u8, Refuses);
    let message = Some("handle 8 cannot leave this process");
    let mut keys = HashMap::new();
    keys.insert(Refuses(8), 0u8);
    assert_eq!(serialize_error(&keys).as_deref(), message);
    assert_eq!(
        serialize_error(&Holder::Tuple(0, Refuses(8))).as_deref(),
        message
    );
    let holder = Holder::Struct {
        first: 0,
        second: Refuses(8),
    };
    assert_eq!(serialize_error(&holder).as_deref(), message);
    assert_eq!(serialize_error(&Pair(0, Refuses(8))).as_deref(), message);
    assert_eq!(serialize_error(&[Refuses(8)]).as_deref(), message);
}

#[test]
fn serdes_own_impls_give_their_messages() {
    let cell = RefCell::new(5u32);
    let borrowed = cell.borrow_mut();
    assert_eq!(postcard_error(&cell), Some(postcard::Error::SerdeSerCustom));
    assert_eq!(
        serialize_error(&cell).as_deref(),
        Some("already mutably borrowed")
    );
    drop(borrowed);
    serializes(&cell);

    let path = Path::new(OsStr::from_bytes(b"/tmp/\xff"));
    assert_eq!(postcard_error(path), Some(postcard::Error::SerdeSerCustom));
    assert_eq!(
        serialize_error(path).as_deref(),
        Some("path contains invalid UTF-8 characters")
    );
    serializes(Path::new("/tmp/fine"));
}

/// Bytes through `serialize_bytes` (serde's `[u8]` is a sequence).
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Newtype(u64);

#[derive(Serialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect(f32, f32),
    Named { name: String, inner: Box<Shape> },
}

#[test]
fn values_that_serialize_give_none() {
    serializes(&0u8);
    serializes(&-1i8);
    serializes(&u16::MAX);
    serializes(&i32::MIN);
    serializes(&u64::MAX);
    serializes(&i128::MIN);
    serializes(&u128::MAX);
    serializes(&1.5f32);
    serializes(&f64::NAN);
    serializes(&true);
    serializes(&'é');
    serializes("text");
    serializes(&String::from("owned"));
    serializes(&Bytes(b"\x00\xff"));
    serializes(&[1u8, 2, 3][..]);
    serializes(&Some(4u32));
    serializes(&None::<u32>);
    serializes(&());
    serializes(&Unit);
    serializes(&Newtype(9));
    serializes(&(1u8, "two", 3.0f64, (4u8, Unit)));
    serializes(&vec![
        Shape::Empty,
        Shape::Circle(1.0),
        Shape::Rect(2.0, 3.0),
        Shape::Named {
            name: "nested".to_owned(),
            inner: Box::new(Shape::Named {
                name: "inner".to_owned(),
                inner: Box::new(Shape::Circle(0.5)),
            }),
        },
    ]);
    let map: BTreeMap<u32, Vec<Option<Shape>>> =
        BTreeMap::from([(1, vec![Some(Shape::Empty), None]), (2, Vec::new())]);
    serializes(&map);
    serializes(&HashMap::from([("k", (Unit, Newtype(1)))]));
    serializes(&std::time::Duration::from_millis(1500));
    serializes(&std::net::Ipv4Addr::LOCALHOST);
}

/// Fails with the name of the branch it took.
struct Branch;

impl Serialize for Branch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            Err(S::Error::custom("took the human-readable branch"))
        } else {
            Err(S::Error::custom("took the compact branch"))
        }
    }
}

/// Serializes only in compact formats.
struct CompactOnly;

impl Serialize for CompactOnly {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            Err(S::Error::custom("needs a compact format"))
        } else {
            serializer.serialize_u32(1)
        }
    }
}

#[test]
fn the_sink_is_not_human_readable() {
    assert_eq!(
        serialize_error(&vec![Branch]).as_deref(),
        Some("took the compact branch")
    );
    serializes(&CompactOnly);
    serializes(&Some(CompactOnly));
}

/// Serializes through `collect_str`.
struct Shown<D>(D);

impl<D: Display> Serialize for Shown<D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Counts the times it is displayed.
struct Counted<'a>(&'a Cell<u32>);

impl Display for Counted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.set(self.0.get() + 1);
        f.write_str("counted")
    }
}

/// A `Display` that fails.
struct Broken;

impl Display for Broken {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Err(fmt::Error)
    }
}

#[test]
fn collect_str_runs_display_and_goes_on() {
    serializes(&Shown(42u32));
    serializes(&Shown("text"));
    serializes(&(Shown('x'), Shown(String::from("y"))));

    let displays = Cell::new(0);
    assert_eq!(serialize_error(&Shown(Counted(&displays))), None);
    assert_eq!(displays.get(), 1);

    assert_eq!(
        serialize_error(&(Shown(1u8), Refuses(3))).as_deref(),
        Some("handle 3 cannot leave this process")
    );

    // A failing `Display` stops postcard with an error of its own, and the sink there too,
    // without a message (serde's default `collect_str` would panic).
    let broken = (Shown(Broken), Refuses(4));
    assert_eq!(
        postcard_error(&broken),
        Some(postcard::Error::CollectStrError)
    );
    assert_eq!(serialize_error(&broken), None);
}

/// A sequence of unknown length: its iterator's size hint is not exact.
struct Filtered<T>(Vec<T>);

impl<T: Serialize> Serialize for Filtered<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().filter(|_| true))
    }
}

#[test]
fn the_sink_accepts_unknown_lengths_that_postcard_refuses() {
    let numbers = Filtered(vec![1u8, 2]);
    assert_eq!(
        postcard_error(&numbers),
        Some(postcard::Error::SerializeSeqLengthUnknown)
    );
    assert_eq!(serialize_error(&numbers), None);

    // postcard stops before the element that would fail: its own error is the one to report.
    let refusing = Filtered(vec![Refuses(5)]);
    assert_eq!(
        postcard_error(&refusing),
        Some(postcard::Error::SerializeSeqLengthUnknown)
    );
    assert_eq!(
        serialize_error(&refusing).as_deref(),
        Some("handle 5 cannot leave this process")
    );
}
