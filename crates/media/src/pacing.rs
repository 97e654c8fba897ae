//! Absolute-deadline pacing of fixed-duration frames.
//!
//! Frame `n` is due at `deadline(n) = epoch + phase + n × ptime`. Deadlines are
//! never derived from the time a previous frame was actually sent, so timer
//! lateness does not accumulate into drift (performance.md: never
//! `sleep(20ms)` in a loop). The shell sleeps until
//! [`Pacer::next_deadline`], calls [`Pacer::poll`] with the current time, and
//! sends what [`Due`] says.
//!
//! [`phase_for`] spreads the phases of many calls over one ptime window so
//! their deadlines do not all fall on the same instant.

use std::time::{Duration, Instant};

/// Default frame duration: 20 ms (160 samples at 8 kHz).
pub const DEFAULT_PTIME: Duration = Duration::from_millis(20);
/// Default lateness beyond which a sent frame counts as late.
pub const DEFAULT_LATE_THRESHOLD: Duration = Duration::from_millis(5);
/// Default largest number of frames sent in one poll when behind.
pub const DEFAULT_MAX_BURST: u32 = 3;
/// Smallest accepted frame duration; shorter values (including zero) are raised to it.
pub const MIN_PTIME: Duration = Duration::from_millis(1);

/// What to do after a [`Pacer::poll`].
///
/// Act in this order: first advance the stream by `skipped` frames without
/// sending (e.g. [`RtpSender::skip`](crate::rtp::RtpSender::skip) and move the
/// playback cursor), then send `send` frames. Skipped frames are the oldest
/// ones; the frames sent are the most recent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Due {
    /// Frames to send now (at most the pacer's max burst).
    pub send: u32,
    /// Frames whose deadline passed too long ago to send; their time still elapses.
    pub skipped: u32,
    /// Frames of this poll counted as late: all skipped frames plus sent frames
    /// more than the late threshold past their deadline.
    pub late: u32,
}

/// Deadline pacing for one stream. Pure: time is always an argument.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// `epoch + phase`: the deadline of frame 0.
    start: Instant,
    ptime: Duration,
    late_threshold: Duration,
    max_burst: u32,
    /// Index of the next frame not yet sent or skipped.
    next_frame: u64,
    frames_sent: u64,
    frames_skipped: u64,
    late_frames: u64,
}

impl Pacer {
    /// A pacer whose frame 0 is due at `epoch + phase`, one frame per `ptime`.
    /// `ptime` below [`MIN_PTIME`] is raised to it. Late threshold and max
    /// burst take their defaults.
    pub fn new(epoch: Instant, phase: Duration, ptime: Duration) -> Self {
        Pacer {
            // Overflow needs an epoch centuries ahead; fall back to the epoch.
            start: epoch.checked_add(phase).unwrap_or(epoch),
            ptime: ptime.max(MIN_PTIME),
            late_threshold: DEFAULT_LATE_THRESHOLD,
            max_burst: DEFAULT_MAX_BURST,
            next_frame: 0,
            frames_sent: 0,
            frames_skipped: 0,
            late_frames: 0,
        }
    }

    /// Sets how late a sent frame may be before it counts as late.
    #[must_use]
    pub fn with_late_threshold(mut self, threshold: Duration) -> Self {
        self.late_threshold = threshold;
        self
    }

    /// Sets the most frames one poll may ask to send (at least 1); older due
    /// frames beyond it are skipped.
    #[must_use]
    pub fn with_max_burst(mut self, max_burst: u32) -> Self {
        self.max_burst = max_burst.max(1);
        self
    }

    /// The deadline of frame `n`: `epoch + phase + n × ptime`.
    pub fn deadline(&self, n: u64) -> Instant {
        let offset = mul_duration(self.ptime, n);
        // Overflow needs ~10^10 years of frames; saturate at the start instead of panicking.
        self.start.checked_add(offset).unwrap_or(self.start)
    }

    /// The deadline of the next frame to send: sleep until then, then poll.
    pub fn next_deadline(&self) -> Instant {
        self.deadline(self.next_frame)
    }

    /// Reports how many frames are due at `now` and consumes them.
    ///
    /// Returns all zeros before the next deadline. When more than `max_burst`
    /// frames are due, the oldest extra ones are `skipped` and counted late.
    /// Polling again at the same `now` returns all zeros.
    pub fn poll(&mut self, now: Instant) -> Due {
        let Some(elapsed) = now.checked_duration_since(self.start) else {
            return Due::default();
        };
        let ptime_ns = self.ptime.as_nanos().max(1);
        // Frames 0..=k are due where k = floor(elapsed / ptime).
        let due_through = elapsed.as_nanos() / ptime_ns;
        let due_total = u64::try_from(due_through.saturating_add(1)).unwrap_or(u64::MAX);
        let due = due_total.saturating_sub(self.next_frame);
        if due == 0 {
            return Due::default();
        }
        let send = due.min(u64::from(self.max_burst));
        let skipped = due - send;
        // = due_total - send: cannot overflow.
        let first_sent = self.next_frame + skipped;
        // Frame n is late when elapsed - n·ptime > threshold, i.e. when
        // n < ceil((elapsed - threshold) / ptime): frames 0..late_before are
        // late. The frames sent are first_sent..first_sent + send.
        let late_before = elapsed
            .checked_sub(self.late_threshold)
            .map_or(0, |x| x.as_nanos().div_ceil(ptime_ns));
        let late_before = u64::try_from(late_before).unwrap_or(u64::MAX);
        let late_sent = late_before.saturating_sub(first_sent).min(send);

        self.next_frame = due_total;
        self.frames_sent = self.frames_sent.saturating_add(send);
        self.frames_skipped = self.frames_skipped.saturating_add(skipped);
        let late = skipped.saturating_add(late_sent);
        self.late_frames = self.late_frames.saturating_add(late);
        Due {
            // send <= max_burst (u32); skipped and late saturate on absurd stalls.
            send: u32::try_from(send).unwrap_or(u32::MAX),
            skipped: u32::try_from(skipped).unwrap_or(u32::MAX),
            late: u32::try_from(late).unwrap_or(u32::MAX),
        }
    }

    /// Frames reported as `send` so far.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    /// Frames reported as `skipped` so far.
    pub fn frames_skipped(&self) -> u64 {
        self.frames_skipped
    }

    /// Frames counted late so far (skipped ones included).
    pub fn late_frames(&self) -> u64 {
        self.late_frames
    }

    /// Index of the next frame (sent + skipped so far).
    pub fn next_frame(&self) -> u64 {
        self.next_frame
    }

    /// The frame duration in use.
    pub fn ptime(&self) -> Duration {
        self.ptime
    }
}

/// The phase for call number `index` within one `ptime` window.
///
/// Successive indexes step by ptime / φ (golden ratio) modulo ptime, in 1 µs
/// units, so any run of consecutive calls is spread near-evenly over the
/// window and the first `ptime`-in-µs indexes (20 000 for 20 ms) are distinct
/// whenever that count is coprime with the stride (true for 20 ms).
pub fn phase_for(index: u64, ptime: Duration) -> Duration {
    let window_us = ptime.as_micros();
    if window_us == 0 {
        return Duration::ZERO;
    }
    // 1/φ = 0.6180339887...; rounded to an odd stride for even windows so that
    // the stride stays coprime with windows like 20 000 µs.
    let mut stride = (window_us * 6_180_339_887 + 5_000_000_000) / 10_000_000_000;
    if stride & 1 == 0 {
        stride += 1;
    }
    let phase_us = (u128::from(index) * stride) % window_us;
    // phase_us < window_us = ptime.as_micros(), which came from a Duration.
    Duration::from_micros(u64::try_from(phase_us).unwrap_or(0))
}

/// `d × n` without panicking (saturates at `Duration::MAX`).
fn mul_duration(d: Duration, n: u64) -> Duration {
    match u32::try_from(n) {
        Ok(small) => d.saturating_mul(small),
        Err(_) => {
            let nanos = d.as_nanos().saturating_mul(u128::from(n));
            let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
            // The remainder is < 10^9 and fits in u32.
            let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
            Duration::new(secs, sub)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PTIME: Duration = DEFAULT_PTIME;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_hundred_fifty_frames_in_three_seconds_when_polled_on_time() {
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch, Duration::ZERO, PTIME);
        let mut sent = 0;
        let mut now = epoch;
        while now < epoch + ms(3000) {
            let due = pacer.poll(now);
            assert_eq!(due.skipped, 0);
            sent += due.send;
            now += Duration::from_micros(500);
        }
        assert_eq!(sent, 150);
        assert_eq!(pacer.frames_sent(), 150);
        assert_eq!(pacer.late_frames(), 0);
        assert_eq!(pacer.next_deadline(), epoch + ms(3000));
    }

    #[test]
    fn polling_exactly_at_each_deadline_sends_one_frame_each_time() {
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch, ms(7), PTIME);
        assert_eq!(pacer.poll(epoch + ms(6)), Due::default());
        for n in 0..150u32 {
            let deadline = pacer.next_deadline();
            assert_eq!(deadline, epoch + ms(7) + PTIME * n);
            let due = pacer.poll(deadline);
            assert_eq!(
                due,
                Due {
                    send: 1,
                    skipped: 0,
                    late: 0
                }
            );
            assert_eq!(pacer.poll(deadline), Due::default(), "no double send");
        }
        assert_eq!(pacer.frames_sent(), 150);
    }

    #[test]
    fn nothing_is_due_before_epoch_plus_phase() {
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch + ms(100), ms(5), PTIME);
        assert_eq!(pacer.poll(epoch), Due::default());
        assert_eq!(pacer.poll(epoch + ms(104)), Due::default());
        assert_eq!(pacer.poll(epoch + ms(105)).send, 1);
    }

    #[test]
    fn frames_polled_beyond_the_threshold_count_as_late() {
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch, Duration::ZERO, PTIME);
        assert_eq!(
            pacer.poll(epoch + ms(5)).late,
            0,
            "exactly 5 ms is not late"
        );
        assert_eq!(
            pacer.poll(epoch + ms(26)),
            Due {
                send: 1,
                skipped: 0,
                late: 1
            }
        );
        // Two frames due at once (40 and 60 ms), polled at 61 ms: only frame 2 is late.
        assert_eq!(
            pacer.poll(epoch + ms(61)),
            Due {
                send: 2,
                skipped: 0,
                late: 1
            }
        );
        assert_eq!(pacer.late_frames(), 2);
        assert_eq!(pacer.frames_sent(), 4);
    }

    #[test]
    fn stall_of_200ms_skips_old_frames_but_time_keeps_advancing() {
        use crate::rtp::{RtpSender, Ssrc};
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch, Duration::ZERO, PTIME);
        let mut sender = RtpSender::new(Ssrc(1), 0, 1000, 0);
        let mut out = Vec::new();
        let mut sent_timestamps = Vec::new();
        let mut drive = |pacer: &mut Pacer, now: Instant| {
            let due = pacer.poll(now);
            sender.skip(due.skipped * 160);
            for _ in 0..due.send {
                sent_timestamps.push(sender.timestamp().0);
                sender.write_frame(&[0xFF; 160], 160, &mut out);
            }
            due
        };
        drive(&mut pacer, epoch); // frame 0 at 0 ms
                                  // Stall: next poll 200 ms later. Frames 1..=10 are due (20..=200 ms).
        let due = drive(&mut pacer, epoch + ms(200));
        assert_eq!(due.send, DEFAULT_MAX_BURST);
        assert_eq!(due.skipped, 10 - DEFAULT_MAX_BURST);
        // Sent: frames 8 (40 ms late), 9 (20 ms late), 10 (on time).
        assert_eq!(due.late, due.skipped + 2);
        // Next frame after the stall is due at 220 ms, in step with the clock.
        assert_eq!(pacer.next_deadline(), epoch + ms(220));
        drive(&mut pacer, epoch + ms(220));
        // Timestamps follow frame indexes, not the packet count.
        assert_eq!(
            sent_timestamps,
            [
                1000,
                1000 + 8 * 160,
                1000 + 9 * 160,
                1000 + 10 * 160,
                1000 + 11 * 160
            ]
        );
        assert_eq!(pacer.frames_sent(), 5);
        assert_eq!(pacer.frames_skipped(), 7);
        assert_eq!(pacer.next_frame(), 12);
    }

    #[test]
    fn max_burst_and_threshold_are_configurable() {
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch, Duration::ZERO, PTIME)
            .with_max_burst(0)
            .with_late_threshold(ms(30));
        let due = pacer.poll(epoch + ms(40));
        assert_eq!(
            due,
            Due {
                send: 1,
                skipped: 2,
                late: 2
            }
        );
    }

    #[test]
    fn zero_ptime_is_raised_to_the_minimum_instead_of_dividing_by_zero() {
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch, Duration::ZERO, Duration::ZERO);
        assert_eq!(pacer.ptime(), MIN_PTIME);
        assert_eq!(pacer.poll(epoch + ms(2)).send, 3);
    }

    #[test]
    fn huge_stall_saturates_instead_of_overflowing() {
        let epoch = Instant::now();
        let mut pacer = Pacer::new(epoch, Duration::ZERO, MIN_PTIME);
        let due = pacer.poll(epoch + Duration::from_secs(10 * 365 * 24 * 3600));
        assert_eq!(due.send, DEFAULT_MAX_BURST);
        assert_eq!(due.skipped, u32::MAX);
        assert!(pacer.frames_skipped() > u64::from(u32::MAX));
        assert!(pacer.deadline(u64::MAX) >= epoch);

        // An unbounded burst is counted in O(1), not frame by frame.
        let mut unbounded = Pacer::new(epoch, Duration::ZERO, MIN_PTIME).with_max_burst(u32::MAX);
        let due = unbounded.poll(epoch + Duration::from_secs(60 * 24 * 3600));
        assert_eq!(due.send, u32::MAX);
        assert_eq!(due.late, u32::MAX);
    }

    #[test]
    fn phases_of_first_twenty_calls_are_distinct_and_spread_over_the_window() {
        let mut phases: Vec<Duration> = (0..20).map(|k| phase_for(k, PTIME)).collect();
        assert!(phases.iter().all(|&p| p < PTIME));
        phases.sort();
        phases.dedup();
        assert_eq!(phases.len(), 20, "distinct");
        let min_gap = phases.windows(2).map(|w| w[1] - w[0]).min().unwrap();
        assert!(min_gap >= Duration::from_micros(500), "min gap {min_gap:?}");
        let largest_gap = phases
            .windows(2)
            .map(|w| w[1] - w[0])
            .chain([PTIME - phases[19] + phases[0]])
            .max()
            .unwrap();
        assert!(largest_gap <= ms(2), "largest gap {largest_gap:?}");
    }

    #[test]
    fn phases_are_distinct_across_the_whole_window() {
        let mut phases: Vec<Duration> = (0..20_000).map(|k| phase_for(k, PTIME)).collect();
        phases.sort();
        phases.dedup();
        assert_eq!(phases.len(), 20_000);
    }

    #[test]
    fn zero_ptime_gives_zero_phase() {
        assert_eq!(phase_for(5, Duration::ZERO), Duration::ZERO);
    }
}
