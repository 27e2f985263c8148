/*!
A closure that is not `Send` cannot go to another thread:

```compile_fail,E0277
use std::rc::Rc;

let pool = parallel::ThreadPool::builder().workers(1).build().unwrap();
let shared = Rc::new(5);
let task = pool.spawn(move || *shared + 1);
```
*/
