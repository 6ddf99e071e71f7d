//! `execute` from every calling context.

#[test]
fn plain_thread() {
    assert_eq!(globalrt::execute(async { 1 }), 1);
}
