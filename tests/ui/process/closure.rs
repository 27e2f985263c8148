use parallel::par_map;

fn main() {
    let _ = par_map!(|n: u32| n + 1, 0..4u32; backend = process);
}
