//! The `tracing` feature (`cargo test --features tracing`): one DEBUG event, target
//! `globalrt`, per call that took the slow path, naming the strategy, the caller's
//! `file:line` and the time waited; none for a ready future. A minimal subscriber, set
//! for the calling thread only, records the events.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::{current_thread, multi_thread, sleep_then, with_watchdog};

/// One event as the subscriber saw it.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    level: Level,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Seen {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Runs `body` with a recording subscriber on this thread; returns globalrt's events.
fn events_of(body: impl FnOnce()) -> Vec<Seen> {
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), body);
    let seen = recorder.0.lock().unwrap().clone();
    seen.into_iter()
        .filter(|e| e.target == "globalrt")
        .collect()
}

/// The one event of a slow-path call made on `line` of this file, with `strategy`.
fn assert_one_event(events: &[Seen], strategy: &str, line: u32) {
    assert_eq!(events.len(), 1, "one event per slow-path call: {events:?}");
    let event = &events[0];
    assert_eq!(event.level, Level::DEBUG, "{event:?}");
    assert_eq!(event.fields["strategy"], strategy, "{event:?}");
    assert_eq!(
        event.fields["caller"],
        format!("{}:{line}", file!()),
        "{event:?}"
    );
    assert!(event.fields["waited"].ends_with('s'), "{event:?}");
}

#[test]
fn a_ready_future_emits_nothing() {
    let events = events_of(|| {
        assert_eq!(globalrt::execute(async { 1 }), 1);
        assert_eq!(globalrt::try_execute(async { 2 }).unwrap(), 2);
    });
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn park_on_a_plain_thread() {
    with_watchdog("tracing: park", || {
        let mut line = 0;
        let events = events_of(|| {
            line = line!() + 1;
            assert_eq!(globalrt::execute(sleep_then(3)), 3);
        });
        assert_one_event(&events, "park", line);
        let events = events_of(|| {
            line = line!() + 1;
            assert_eq!(globalrt::try_execute(sleep_then(4)).unwrap(), 4);
        });
        assert_one_event(&events, "park", line);
        let events = events_of(|| {
            line = line!() + 1;
            let got = globalrt::try_execute_timeout(Duration::from_secs(60), sleep_then(5));
            assert_eq!(got.unwrap(), 5);
        });
        assert_one_event(&events, "park", line);
        let events = events_of(|| {
            line = line!() + 1;
            assert_eq!(globalrt::execute_local(sleep_then(6)), 6);
        });
        assert_one_event(&events, "park", line);
    });
}

#[test]
fn block_in_place_on_a_multi_thread_worker() {
    with_watchdog("tracing: block_in_place", || {
        let (events, line) = multi_thread(2).block_on(async {
            tokio::spawn(async {
                let mut line = 0;
                let events = events_of(|| {
                    line = line!() + 1;
                    assert_eq!(globalrt::execute(sleep_then(7)), 7);
                });
                (events, line)
            })
            .await
            .unwrap()
        });
        assert_one_event(&events, "block_in_place", line);
    });
}

#[test]
fn helper_thread_under_a_current_thread_runtime() {
    with_watchdog("tracing: helper thread", || {
        let (events, line) = current_thread().block_on(async {
            let mut line = 0;
            let events = events_of(|| {
                line = line!() + 1;
                assert_eq!(globalrt::execute(sleep_then(8)), 8);
            });
            (events, line)
        });
        assert_one_event(&events, "helper thread", line);
    });
}
