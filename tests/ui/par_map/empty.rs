use parallel::par_map;

fn main() {
    par_map!();
}
