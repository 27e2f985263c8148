//! Where a `#[parallel]` function is written: free, or inside an `impl` or a `trait`.
//!
//! An attribute sees only its item, and rustc expands it the same way in a module and in an
//! `impl` block; there the hidden trait beside the function fails with rustc's "trait is not
//! supported in `trait`s or `impl`s". To say what to do instead, the attribute reads the
//! function's own source file at the function's location and finds the block around it.
//! Anything uncertain (a function written by a macro, a remapped path, an edited file) gives
//! `None`, and the function expands as usual.

#[cfg(test)]
mod test;

use syn::ItemFn;

/// The kind of block that holds a function's definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Container {
    Impl,
    Trait,
}

/// The `impl` or `trait` block that `func` is written in, if its source says so.
pub(crate) fn container(func: &ItemFn) -> Option<Container> {
    if !proc_macro::is_available() {
        return None;
    }
    let span = func.sig.fn_token.span.unwrap();
    let source = std::fs::read_to_string(span.local_file()?).ok()?;
    container_at(
        &source,
        (span.line(), span.column()),
        &func.sig.ident.to_string(),
    )
}

/// The `impl` or `trait` block whose braces directly hold the `fn name` written at `at` (line and
/// column, both from 1), in `source`; `None` if `fn name` is not there.
pub(crate) fn container_at(source: &str, at: (usize, usize), name: &str) -> Option<Container> {
    /// An open group: its delimiter, the block it is the body of, and the head around it.
    struct Open {
        brace: bool,
        body_of: Option<Container>,
        head: Head,
    }
    let mut lexer = Lexer::new(source);
    let mut open: Vec<Open> = Vec::new();
    // What the item or statement being read starts with.
    let mut head = Head::Start;
    while let Some((token, position)) = lexer.next_token() {
        match token {
            Token::Word(word) if position == at => {
                let named =
                    matches!(lexer.next_token(), Some((Token::Word(next), _)) if next == name);
                return if word == "fn" && named {
                    open.last().and_then(|group| group.body_of)
                } else {
                    None
                };
            }
            Token::Word(word) => {
                if head == Head::Start {
                    head = match word {
                        // Qualifiers that may come before `impl` or `trait`.
                        "pub" | "unsafe" | "default" | "auto" => Head::Start,
                        "impl" => Head::Of(Container::Impl),
                        "trait" => Head::Of(Container::Trait),
                        _ => Head::Other,
                    };
                }
            }
            Token::Open(delimiter) => {
                let brace = delimiter == '{';
                let body_of = match head {
                    Head::Of(container) if brace => Some(container),
                    _ => None,
                };
                open.push(Open {
                    brace,
                    body_of,
                    head,
                });
                head = Head::Start;
            }
            Token::Close => {
                let group = open.pop()?;
                // After a block a new item starts; after `pub(crate)` or `#[attr]`, the same one.
                head = if group.brace { Head::Start } else { group.head };
            }
            Token::Semi => head = Head::Start,
            Token::Punct => {}
        }
    }
    None
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    /// Nothing read yet but qualifiers, attributes and visibility.
    Start,
    Of(Container),
    Other,
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    /// An identifier, keyword or number; a raw identifier keeps its `r#`.
    Word(&'a str),
    Open(char),
    Close,
    Semi,
    Punct,
}

/// Just enough of Rust's lexer to find groups and words: comments, strings and character
/// literals are skipped, so that no brace inside them counts.
struct Lexer<'a> {
    source: &'a str,
    /// Byte offset of the next character.
    offset: usize,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    fn new(source: &'a str) -> Self {
        Lexer {
            source,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    fn peek(&self, n: usize) -> Option<char> {
        self.source[self.offset..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn bump_while(&mut self, mut keep: impl FnMut(char) -> bool) {
        while self.peek(0).is_some_and(&mut keep) {
            self.bump();
        }
    }

    /// The next token and its line and column; `None` at the end, or at an unclosed literal.
    fn next_token(&mut self) -> Option<(Token<'a>, (usize, usize))> {
        loop {
            self.bump_while(char::is_whitespace);
            let position = (self.line, self.column);
            let start = self.offset;
            let c = self.bump()?;
            let token = match c {
                '/' if self.peek(0) == Some('/') => {
                    self.bump_while(|c| c != '\n');
                    continue;
                }
                '/' if self.peek(0) == Some('*') => {
                    self.block_comment()?;
                    continue;
                }
                '"' => {
                    self.string()?;
                    continue;
                }
                '\'' => {
                    self.quote();
                    continue;
                }
                '{' | '(' | '[' => Token::Open(c),
                '}' | ')' | ']' => Token::Close,
                ';' => Token::Semi,
                c if is_word(c) => {
                    self.bump_while(is_word);
                    let word = &self.source[start..self.offset];
                    if matches!(word, "r" | "br" | "cr") && self.raw_string()? {
                        continue;
                    }
                    if word == "r" && self.peek(0) == Some('#') && self.peek(1).is_some_and(is_word)
                    {
                        self.bump();
                        self.bump_while(is_word);
                    }
                    Token::Word(&self.source[start..self.offset])
                }
                _ => Token::Punct,
            };
            return Some((token, position));
        }
    }

    /// After `/*`: up to the matching `*/`, nested comments included.
    fn block_comment(&mut self) -> Option<()> {
        self.bump();
        let mut depth = 1;
        while depth > 0 {
            match self.bump()? {
                '/' if self.peek(0) == Some('*') => {
                    self.bump();
                    depth += 1;
                }
                '*' if self.peek(0) == Some('/') => {
                    self.bump();
                    depth -= 1;
                }
                _ => {}
            }
        }
        Some(())
    }

    /// After `"`: up to the closing `"`.
    fn string(&mut self) -> Option<()> {
        loop {
            match self.bump()? {
                '\\' => {
                    self.bump()?;
                }
                '"' => return Some(()),
                _ => {}
            }
        }
    }

    /// After `'`: a character literal (`'{'`, `'\''`), or a lifetime or label (`'a`).
    fn quote(&mut self) {
        match (self.peek(0), self.peek(1)) {
            (Some('\\'), _) => {
                self.bump();
                self.bump();
                self.bump_while(|c| c != '\'' && c != '\n');
                self.bump();
            }
            (Some(_), Some('\'')) => {
                self.bump();
                self.bump();
            }
            _ => self.bump_while(is_word),
        }
    }

    /// After `r`, `br` or `cr`: a raw string (`r#"..."#`), skipped, if one starts here.
    fn raw_string(&mut self) -> Option<bool> {
        let hashes = self.source[self.offset..]
            .chars()
            .take_while(|&c| c == '#')
            .count();
        if self.peek(hashes) != Some('"') {
            return Some(false);
        }
        for _ in 0..=hashes {
            self.bump();
        }
        let close: String = std::iter::once('"')
            .chain(std::iter::repeat_n('#', hashes))
            .collect();
        loop {
            if self.source[self.offset..].starts_with(&close) {
                for _ in 0..close.len() {
                    self.bump();
                }
                return Some(true);
            }
            self.bump()?;
        }
    }
}

fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}
