//! Running a test in a process of its own, for tests that set environment
//! variables: every thread of a process shares them, so in this one test
//! binary they would reach the tests running beside them.

use std::process::Command;

/// Set, to the test's path, in the child process that runs it.
const CHILD: &str = "RG_TEST_IN_OWN_PROCESS";

/// The path cargo's test harness knows test `name` of `module` by
/// (`module_path!()` without the crate's name).
pub fn test_path(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    }
}

/// Whether this process should run the body of test `test` (a
/// [`test_path`]). In the test binary's own run it is not: this runs
/// `test`, and only it, in a child process of this binary, asserts that it
/// ran and passed, and returns `false`; in that child it returns `true`.
pub fn in_own_process(test: &str) -> bool {
    if std::env::var(CHILD).as_deref() == Ok(test) {
        return true;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, test)
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in a process of its own:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    false
}
