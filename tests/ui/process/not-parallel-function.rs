use parallel::par_map;

fn double(n: u32) -> u32 {
    n * 2
}

fn main() {
    let _ = par_map!(double, 0..4u32; backend = process);
}
