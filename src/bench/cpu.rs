//! `--profile`: a local process's CPU time (user + system) from
//! `/proc/<pid>/stat`, read around the measured phase so the cost of one
//! location update can be reported beside the rate.

use nix::unistd::{SysconfVar, sysconf};

/// The CPU time `pid` has used so far, microseconds (Linux only).
pub(crate) fn cpu_time_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = cpu_ticks(&stat)?;
    let ticks_per_second = u64::try_from(sysconf(SysconfVar::CLK_TCK).ok()??).ok()?;
    (ticks_per_second > 0).then(|| ticks * 1_000_000 / ticks_per_second)
}

/// utime + stime, clock ticks, from a `/proc/<pid>/stat` line. The command name
/// (field 2) may hold spaces and parentheses, so fields count from its last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // Fields 3 (state) to 13 come first; utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_added() {
        let stat = "4242 (heyblue (x) y) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 12 0 100 200 300";
        assert_eq!(cpu_ticks(stat), Some(1_801));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let pid = std::process::id();
        let spin: u64 = (0..2_000_000_u64).fold(0, |sum, n| sum.wrapping_add(n * n));
        assert!(spin > 0);
        assert!(cpu_time_us(pid).is_some());
    }
}
