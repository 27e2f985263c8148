//! A `#[parallel] for` loop counting the words of many files: `?` stops at the first I/O error,
//! `continue` skips empty files, and the counts need no mutex. Run with
//! `cargo run --example parallel_for_word_count`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use parallel::parallel;

/// Words and lines of every file, and the files that were empty.
#[parallel]
fn count(files: &[PathBuf]) -> io::Result<(usize, usize, Vec<PathBuf>)> {
    let mut words = 0;
    let mut lines = 0;
    let mut empty = Vec::new();
    #[parallel(workers = 4)]
    for file in files {
        let text = fs::read_to_string(file)?; // the first error is returned from `count`
        if text.is_empty() {
            empty.push(file.clone()); // collected in input order
            continue;
        }
        words += text.split_whitespace().count();
        lines += text.lines().count();
    }
    Ok((words, lines, empty))
}

fn write_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    (0..200)
        .map(|i| {
            let path = dir.join(format!("file-{i:03}.txt"));
            // Every tenth file is empty; the others hold `i % 7 + 1` lines of three words.
            let text = if i % 10 == 0 {
                String::new()
            } else {
                "one two three\n".repeat(i % 7 + 1)
            };
            fs::write(&path, text)?;
            Ok(path)
        })
        .collect()
}

fn main() -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("parallel-word-count-{}", std::process::id()));
    let files = write_files(&dir)?;

    let (words, lines, empty) = count(&files)?;
    let expected_lines: usize = (0..200).filter(|i| i % 10 != 0).map(|i| i % 7 + 1).sum();
    println!(
        "{} files: {words} words on {lines} lines; {} empty",
        files.len(),
        empty.len()
    );
    assert_eq!(lines, expected_lines);
    assert_eq!(words, 3 * expected_lines);
    let expected_empty: Vec<PathBuf> = files.iter().step_by(10).cloned().collect();
    assert_eq!(empty, expected_empty);

    // A missing file: the loop stops and the error comes back from `count`.
    let mut with_missing = files.clone();
    with_missing.push(dir.join("missing.txt"));
    let err = count(&with_missing).unwrap_err();
    println!("with a missing file: {err}");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);

    fs::remove_dir_all(&dir)
}
