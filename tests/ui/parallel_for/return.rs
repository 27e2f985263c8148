use parallel::parallel;

#[parallel]
fn find(values: &[u32]) -> Option<u32> {
    #[parallel]
    for &v in values {
        if v == 7 {
            return Some(v);
        }
    }
    None
}

fn main() {
    let _ = find(&[]);
}
