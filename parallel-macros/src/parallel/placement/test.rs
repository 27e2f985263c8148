use super::{Container, Lexer, Token, container_at};

/// The line and column of the first `fn name` in `source`.
fn find(source: &str, name: &str) -> (usize, usize) {
    let offset = source.find(&format!("fn {name}")).unwrap();
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    (line, column)
}

fn container_of(source: &str, name: &str) -> Option<Container> {
    container_at(source, find(source, name), name)
}

#[test]
fn a_function_in_an_impl_or_a_trait_is_found_there() {
    let source = "struct S;\n#[allow(dead_code)]\npub(crate) unsafe impl<T: Fn() -> u8> X for S<T> where T: Copy {\n    #[parallel]\n    fn scale(x: u64) -> u64 { x }\n}\n";
    assert_eq!(container_of(source, "scale"), Some(Container::Impl));
    let source = "pub trait Scale {\n    #[parallel]\n    fn scale(x: u64) -> u64 { x }\n}\n";
    assert_eq!(container_of(source, "scale"), Some(Container::Trait));
    let source = "const _: () = { impl S { fn scale() {} } };";
    assert_eq!(container_of(source, "scale"), Some(Container::Impl));
}

#[test]
fn a_free_function_is_in_no_block() {
    let source = "use a::b;\n#[parallel]\nfn scale(x: u64) -> u64 { x }\n";
    assert_eq!(container_of(source, "scale"), None);
    let source =
        "mod jobs {\n    #[parallel(threads = 2)]\n    pub fn scale(x: u64) -> u64 { x }\n}\n";
    assert_eq!(container_of(source, "scale"), None);
    // In a function's body, even a method's: the body is the innermost block.
    let source = "impl S {\n    fn run() {\n        #[parallel]\n        fn scale() {}\n    }\n}\n";
    assert_eq!(container_of(source, "scale"), None);
    // Written by a macro, in a block that is not an `impl`.
    let source = "m! {\n    #[parallel]\n    fn scale() {}\n}\n";
    assert_eq!(container_of(source, "scale"), None);
}

#[test]
fn braces_in_comments_strings_and_characters_do_not_count() {
    let source = "impl S { fn a() { let _ = ('}', \"}\", r#\"}\"#, b'}', '\\'', /* } /* } */ */ 'x'); // }\n let _: &'static str = \"\\\"}\"; }\n}\nfn scale() {}\n";
    assert_eq!(container_of(source, "scale"), None);
}

#[test]
fn another_token_at_the_location_gives_no_answer() {
    let source = "impl S {\n    fn other() {}\n}\n";
    assert_eq!(container_at(source, (2, 5), "scale"), None);
    assert_eq!(container_at(source, (2, 8), "other"), None);
    assert_eq!(container_at(source, (9, 1), "other"), None);
}

#[test]
fn raw_identifiers_are_not_keywords() {
    let mut lexer = Lexer::new("r#impl r#\"{\"# x");
    assert_eq!(lexer.next_token(), Some((Token::Word("r#impl"), (1, 1))));
    assert_eq!(lexer.next_token(), Some((Token::Word("x"), (1, 15))));
    assert_eq!(lexer.next_token(), None);
}
