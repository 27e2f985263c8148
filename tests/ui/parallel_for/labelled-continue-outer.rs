use parallel::parallel;

#[parallel]
fn scan(rows: &[Vec<u32>]) -> u32 {
    let mut total = 0;
    'rows: for row in rows {
        #[parallel]
        for &v in row {
            if v == 0 {
                continue 'rows;
            }
            total += v;
        }
    }
    total
}

fn main() {
    let _ = scan(&[]);
}
