//! How the suite's Valgrind processes are scheduled: the gate's main defence against noise.
//!
//! Valgrind runs one guest thread at a time, but it releases its lock around every blocking
//! syscall (each futex operation, a wake included, `epoll_wait`, `write`), so which thread
//! runs next is decided by the host kernel. On a multi-core machine that choice follows
//! which core is free first, so instruction counts of work that spans threads moved by up
//! to 36% between runs of the same binary.
//!
//! Pinned, every Valgrind process runs under `chrt --fifo 1` on one CPU
//! (`taskset --cpu-list N`), with ASLR off (`setarch ARCH --addr-no-randomize`, which
//! gungraun would otherwise add itself). A real-time FIFO thread that wakes another of the
//! same priority keeps the CPU, and the woken thread queues behind it, so the interleaving
//! is the same in every run; only decisions that read the clock (tokio's timer wheel) can
//! still differ. Measured over 10 runs: global_one_command 35.7% → 0.08%, FIFO on two CPUs
//! or one CPU without FIFO helped far less (the table is in docs/history.md, "Spread,
//! technique by technique").
//!
//! With two CPUs allowed, two runs of the suite go at once, each Valgrind process alone on
//! its own CPU; in 20 such runs 26 of 28 rows counted the same every time and the other two
//! stayed within their recorded spread (docs/history.md).
//!
//! Setting a real-time policy needs root or `RLIMIT_RTPRIO` ≥ 1; without it the suite runs
//! unpinned, the environment fingerprint says so, and the gate never compares a pinned
//! figure with an unpinned one.

use crate::harness::Harness;

/// The fingerprint value of a pinned run.
pub const PINNED: &str = "SCHED_FIFO 1 on one CPU, ASLR off";

/// The command that lets this shell's processes use SCHED_FIFO, so the gate pins.
pub const ENABLE_PINNING: &str = "sudo prlimit --rtprio=1:1 --pid $$";

/// The scheduling every Valgrind process of one gate run gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinning {
    /// The CPU the suite runs on, or why it cannot be pinned.
    pub cpu: Result<usize, String>,
    /// A second CPU this process may run on, where a second run of the suite can run at the
    /// same time, each Valgrind process pinned to its own CPU.
    pub second: Option<usize>,
}

impl Pinning {
    /// Pins to the first CPU this process may run on, with the second for a second run at
    /// the same time, when `chrt`, `taskset` and `setarch` all work here; otherwise says
    /// which did not.
    pub fn detect() -> Self {
        let allowed = crate::host::allowed_cpus();
        let second = allowed.as_ref().ok().and_then(|cpus| cpus.get(1).copied());
        let cpu = allowed.map(|cpus| cpus[0]).and_then(|cpu| {
            let arch = std::env::consts::ARCH;
            let probes: [&[&str]; 4] = [
                &["env", "--unset=GUNGRAUN_TR_HOME", "true"],
                &["chrt", "--fifo", "1", "true"],
                &["taskset", "--cpu-list", &cpu.to_string(), "true"],
                &["setarch", arch, "--addr-no-randomize", "true"],
            ];
            match probes.iter().find(|probe| !crate::host::succeeds(probe)) {
                None => Ok(cpu),
                Some(probe) => Err(format!(
                    "`{}` failed (SCHED_FIFO needs root or RLIMIT_RTPRIO >= 1, e.g. \
                         `{ENABLE_PINNING}`)",
                    probe.join(" ")
                )),
            }
        });
        let second = second.filter(|_| cpu.is_ok());
        Pinning { cpu, second }
    }

    /// How many runs of the suite can go at once: one per CPU it is pinned to.
    pub fn width(&self) -> usize {
        match (&self.cpu, self.second) {
            (Ok(_), Some(_)) => 2,
            _ => 1,
        }
    }

    /// The CPUs the suite runs on, for the report: `0`, or `0 and 1`.
    pub fn cpus(&self) -> String {
        match (&self.cpu, self.second) {
            (Ok(cpu), Some(second)) => format!("{cpu} and {second}"),
            (Ok(cpu), None) => cpu.to_string(),
            (Err(_), _) => "none".to_owned(),
        }
    }

    /// How many runs a median spans when this run's repeats widen the noise. Unpinned, a
    /// median does not tame the heavy tail of thread scheduling, so there the full spread
    /// of the measurements counts (a "median" of one run).
    pub fn median_of(&self, runs: usize) -> usize {
        match self.cpu {
            Ok(_) => runs,
            Err(_) => 1,
        }
    }

    /// The environment fingerprint's `scheduling` field.
    pub fn fingerprint(&self) -> String {
        match &self.cpu {
            Ok(_) => PINNED.to_owned(),
            Err(_) => "unpinned (the kernel's default scheduling)".to_owned(),
        }
    }

    /// gungraun runner arguments that start Valgrind through the wrappers, one token per
    /// `--tool-runner-args` (`--valgrind-runner-args` for gungraun 0.19) so that nothing is
    /// split on spaces.
    ///
    /// The chain starts with `env --unset` of the variables gungraun gives a tool runner:
    /// they would reach the benchmark process, and their values (output paths, the
    /// checkout's root) change the size of its initial stack, which moved the naive
    /// runtime's count by up to 75 instructions between checkouts.
    ///
    /// `slot` 0 is the first CPU, 1 the second (the first where there is none).
    pub fn runner_args(&self, slot: usize, harness: Harness) -> Vec<String> {
        let Ok(first) = &self.cpu else {
            return Vec::new();
        };
        let cpu = match (slot, self.second) {
            (1, Some(second)) => second,
            _ => *first,
        };
        let cpu = cpu.to_string();
        let unset = harness
            .wrapper_variables()
            .into_iter()
            .chain(["GUNGRAUN_ALLOW_ASLR"])
            .map(|name| format!("--unset={name}"));
        let wrapper = [
            "chrt",
            "--fifo",
            "1",
            "taskset",
            "--cpu-list",
            &cpu,
            "setarch",
            std::env::consts::ARCH,
            "--addr-no-randomize",
        ]
        .map(str::to_owned);
        let option = harness.wrapper_option();
        std::iter::once(format!("--{option}=env"))
            .chain(
                unset
                    .chain(wrapper)
                    .map(|arg| format!("--{option}-args={arg}")),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_runs_wrap_valgrind_one_token_at_a_time() {
        let pinned = Pinning {
            cpu: Ok(1),
            second: Some(3),
        };
        let args = pinned.runner_args(0, Harness::Gungraun020);
        assert_eq!(args[0], "--tool-runner=env");
        let tokens: Vec<&str> = args[1..]
            .iter()
            .map(|a| a.strip_prefix("--tool-runner-args=").unwrap())
            .collect();
        assert_eq!(
            tokens,
            [
                "--unset=GUNGRAUN_TR_DEST_DIR",
                "--unset=GUNGRAUN_TR_HOME",
                "--unset=GUNGRAUN_TR_WORKSPACE_ROOT",
                "--unset=GUNGRAUN_ALLOW_ASLR",
                "chrt",
                "--fifo",
                "1",
                "taskset",
                "--cpu-list",
                "1",
                "setarch",
                std::env::consts::ARCH,
                "--addr-no-randomize"
            ]
        );
        assert_eq!(pinned.fingerprint(), PINNED);
        // The second slot runs on the second CPU, and only there.
        let second = pinned.runner_args(1, Harness::Gungraun020);
        assert_eq!(second.len(), args.len());
        let differ: Vec<(&String, &String)> =
            args.iter().zip(&second).filter(|(a, b)| a != b).collect();
        assert_eq!(
            differ,
            [(
                &"--tool-runner-args=1".to_owned(),
                &"--tool-runner-args=3".to_owned()
            )]
        );
        assert_eq!((pinned.width(), pinned.cpus()), (2, "1 and 3".to_owned()));
        // gungraun 0.19 names the wrapper option and its variables differently.
        let old = pinned.runner_args(0, Harness::Gungraun019);
        assert_eq!(old[0], "--valgrind-runner=env");
        assert_eq!(
            old[1],
            "--valgrind-runner-args=--unset=GUNGRAUN_VR_DEST_DIR"
        );
        assert_eq!(old.len(), args.len());
        assert!(
            old[1..]
                .iter()
                .all(|a| a.starts_with("--valgrind-runner-args="))
        );
        let one = Pinning {
            cpu: Ok(1),
            second: None,
        };
        assert_eq!(
            one.runner_args(1, Harness::Gungraun020),
            one.runner_args(0, Harness::Gungraun020)
        );
        assert_eq!((one.width(), one.cpus()), (1, "1".to_owned()));
        let unpinned = Pinning {
            cpu: Err("no chrt".to_owned()),
            second: None,
        };
        assert!(unpinned.runner_args(0, Harness::Gungraun020).is_empty());
        assert_eq!(unpinned.width(), 1);
        assert_ne!(unpinned.fingerprint(), PINNED);
    }
}
