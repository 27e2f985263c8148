/*!
The argument of a process task must be serde data:

```compile_fail,E0277
use parallel::{ProcessPool, parallel};

struct Opaque(u32);

#[parallel]
fn unwrap(value: Opaque) -> u32 {
    value.0
}

let pool = ProcessPool::builder().workers(1).build().unwrap();
let task = pool.spawn(unwrap, (Opaque(1),));
```
*/
