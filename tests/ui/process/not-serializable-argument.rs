use parallel::{par_map, parallel};

struct Job {
    size: u32,
}

#[parallel]
fn crunch(job: Job) -> u32 {
    job.size
}

fn main() {
    let jobs = vec![Job { size: 1 }];
    let _ = par_map!(crunch, jobs; backend = process);
}
