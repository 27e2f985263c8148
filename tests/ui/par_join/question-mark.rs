use std::num::ParseIntError;

use parallel::par_join;

fn total(a: &str, b: &str) -> Result<u32, ParseIntError> {
    let (x, y) = par_join!(a.parse::<u32>()?, b.len());
    Ok(x + y as u32)
}

fn main() {
    assert_eq!(total("1", "ab"), Ok(3));
}
