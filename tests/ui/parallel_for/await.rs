use parallel::parallel;

async fn fetch(id: u32) -> u32 {
    id
}

#[parallel]
fn total(ids: &[u32]) -> impl std::future::Future<Output = u32> + '_ {
    async move {
        let mut total = 0;
        #[parallel]
        for &id in ids {
            total += fetch(id).await;
        }
        total
    }
}

fn main() {
    let _ = total(&[]);
}
