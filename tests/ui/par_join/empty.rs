use parallel::par_join;

fn main() {
    par_join!();
}
