//! What this machine is: CPU, toolchain, C library and Valgrind, as the reports name them.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

use anyhow::Context as _;

/// How the reports say to install Valgrind.
pub const VALGRIND_INSTALL_HINT: &str = "apt-get install -y valgrind";

/// `program args…`'s first stdout line, trimmed, if it ran and succeeded.
pub fn first_line(program: impl AsRef<OsStr>, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

/// `valgrind --version`, or an error that says how to install it.
pub fn valgrind_version() -> anyhow::Result<String> {
    match Command::new("valgrind")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Ok(out) => anyhow::bail!(
            "`valgrind --version` failed ({}): {}; reinstall it with `{VALGRIND_INSTALL_HINT}`",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "valgrind is not installed (not found on PATH); install it with \
             `{VALGRIND_INSTALL_HINT}` and rerun"
        ),
        Err(err) => Err(err).context("cannot run `valgrind --version`"),
    }
}

/// The rustc that cargo uses: `$RUSTC`, else `rustc` on PATH.
fn rustc() -> std::ffi::OsString {
    std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())
}

/// `rustc --version`, e.g. `rustc 1.95.0 (…)`.
pub fn rustc_version() -> Option<String> {
    first_line(rustc(), &["--version"])
}

/// The host target triple, from `rustc -vV`.
pub fn host_triple() -> Option<String> {
    let out = Command::new(rustc())
        .arg("-vV")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
}

/// The C library's version (`glibc 2.36`), or `unknown`.
pub fn glibc_version() -> String {
    first_line("getconf", &["GNU_LIBC_VERSION"])
        .or_else(|| first_line("ldd", &["--version"]))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The number of CPUs this process may use (0 when unknown).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
}

/// `/proc/loadavg`'s first three fields, or `unknown`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Whether `argv` runs and exits successfully here: a probe of what this machine allows
/// (`chrt --fifo 1 true` needs root or RLIMIT_RTPRIO). Its output is discarded.
pub fn succeeds(argv: &[&str]) -> bool {
    Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The CPUs this process may run on, in order, from `/proc/self/status`, or why they are
/// unknown.
pub fn allowed_cpus() -> Result<Vec<usize>, String> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_allowed_cpus(&status))
        .ok_or_else(|| "cannot read Cpus_allowed_list from /proc/self/status".to_owned())
}

/// The CPUs of the `Cpus_allowed_list` line of `/proc/self/status` (`0-1`, `2,5-7`).
fn parse_allowed_cpus(status: &str) -> Option<Vec<usize>> {
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    let mut cpus = Vec::new();
    for range in list.trim().split(',') {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last): (usize, usize) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
        cpus.extend(first..=last);
    }
    (!cpus.is_empty()).then_some(cpus)
}

/// `/proc/cpuinfo`, or an empty string where there is none.
pub fn cpuinfo() -> String {
    std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default()
}

/// The first CPU's model name from `cpuinfo`.
pub fn cpu_name(cpuinfo: &str) -> Option<String> {
    cpu_field(cpuinfo, "model name")
}

/// The first CPU's identity from `cpuinfo`: its model name plus family, model and
/// stepping, since virtual machines often report a generic name ("AMD EPYC") for
/// different processors, and glibc's choice of memcpy (hence instruction counts) follows
/// the real one.
pub fn cpu_identity(cpuinfo: &str) -> Option<String> {
    let name = cpu_name(cpuinfo)?;
    let field = |f| cpu_field(cpuinfo, f);
    Some(
        match (field("cpu family"), field("model"), field("stepping")) {
            (Some(family), Some(model), Some(stepping)) => {
                format!("{name} (family {family}, model {model}, stepping {stepping})")
            }
            _ => name,
        },
    )
}

/// One field of the first processor's block in `cpuinfo`.
fn cpu_field(cpuinfo: &str, name: &str) -> Option<String> {
    let first = cpuinfo.split("\n\n").next()?;
    first.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_allowed_cpus() {
        let cases: [(&str, Option<Vec<usize>>); 5] = [
            ("Name:\tx\nCpus_allowed_list:\t0-1\n", Some(vec![0, 1])),
            ("Cpus_allowed_list:\t2,5-7\n", Some(vec![2, 5, 6, 7])),
            ("Cpus_allowed_list:\t3\n", Some(vec![3])),
            ("Cpus_allowed_list:\tx\n", None),
            ("Cpus_allowed:\tff\n", None),
        ];
        for (status, want) in cases {
            assert_eq!(parse_allowed_cpus(status), want, "{status:?}");
        }
    }

    #[test]
    fn cpu_identity_names_family_model_and_stepping() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
                    model name\t: AMD EPYC\nstepping\t: 1\n\nprocessor\t: 1\nmodel name\t: Other\n";
        assert_eq!(
            cpu_identity(info).as_deref(),
            Some("AMD EPYC (family 25, model 17, stepping 1)")
        );
        assert_eq!(cpu_name(info).as_deref(), Some("AMD EPYC"));
        assert_eq!(
            cpu_identity("model name\t: Bare CPU\n").as_deref(),
            Some("Bare CPU")
        );
        assert_eq!(cpu_identity("processor\t: 0\n"), None);
    }

    #[test]
    fn first_line_reads_a_command_and_fails_softly() {
        assert_eq!(first_line("echo", &["one\ntwo"]).as_deref(), Some("one"));
        assert_eq!(first_line("false", &[]), None);
        assert_eq!(first_line("/no/such/program", &[]), None);
    }
}
