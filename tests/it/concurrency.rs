//! Many OS threads calling `execute` at once.

use std::sync::Barrier;

#[test]
fn sixteen_threads_ten_thousand_calls_each() {
    crate::with_watchdog(
        "concurrency::sixteen_threads_ten_thousand_calls_each",
        || {
            const THREADS: u64 = 16;
            const CALLS: u64 = 10_000;
            let barrier = Barrier::new(THREADS as usize);
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..THREADS)
                    .map(|t| {
                        let barrier = &barrier;
                        scope.spawn(move || {
                            barrier.wait();
                            let mut sum = 0u64;
                            for i in 0..CALLS {
                                let value = t * CALLS + i;
                                // Mostly ready futures; every 100th is pending at first and takes the slow path.
                                let got = if i % 100 == 0 {
                                    globalrt::execute(async move {
                                        tokio::task::yield_now().await;
                                        value * 3
                                    })
                                } else {
                                    globalrt::execute(async move { value * 3 })
                                };
                                assert_eq!(got, value * 3, "thread {t} call {i}");
                                sum += got;
                            }
                            sum
                        })
                    })
                    .collect();
                let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
                let n = THREADS * CALLS;
                assert_eq!(total, 3 * n * (n - 1) / 2);
            });
        },
    );
}

#[test]
fn spawned_tasks_from_many_threads() {
    crate::with_watchdog("concurrency::spawned_tasks_from_many_threads", || {
        let handles: Vec<_> = (0..8u64)
            .map(|t| {
                std::thread::spawn(move || {
                    globalrt::execute(globalrt::spawn(async move { t * t })).unwrap()
                })
            })
            .collect();
        let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(squares, (0..8u64).map(|t| t * t).collect::<Vec<_>>());
    });
}
