//! Throughput figures for the media hot paths (no criterion: prints, does not gate).
//!
//! Run with: `cargo bench -p media`

use std::hint::black_box;
use std::time::{Duration, Instant};

use media::amd::{Amd, AmdConfig};
use media::dtmf::DtmfDetector;
use media::g711;
use media::prompt::EncodedPrompt;
use media::rtp::{RtpSender, Ssrc};
use media::{resample, tone, AudioCodec};

/// Runs `f` repeatedly for about `budget` and returns iterations per second
/// (median of 3 rounds).
fn per_second(budget: Duration, mut f: impl FnMut()) -> f64 {
    let mut rounds = [0.0f64; 3];
    for r in &mut rounds {
        let start = Instant::now();
        let mut iterations = 0u64;
        while start.elapsed() < budget {
            for _ in 0..64 {
                f();
            }
            iterations += 64;
        }
        *r = iterations as f64 / start.elapsed().as_secs_f64();
    }
    rounds.sort_by(f64::total_cmp);
    rounds[1]
}

fn main() {
    let budget = Duration::from_millis(300);
    let pcm = tone::sine(440.0, 0.5, 1000, 8000); // 8000 samples

    let ulaw = per_second(budget, || {
        let mut out = Vec::with_capacity(pcm.len());
        g711::ulaw_encode_into(black_box(&pcm), &mut out);
        black_box(out);
    }) * pcm.len() as f64;
    println!("µ-law encode        {:>10.1} M samples/s", ulaw / 1e6);

    let alaw = per_second(budget, || {
        let mut out = Vec::with_capacity(pcm.len());
        g711::alaw_encode_into(black_box(&pcm), &mut out);
        black_box(out);
    }) * pcm.len() as f64;
    println!("A-law encode        {:>10.1} M samples/s", alaw / 1e6);

    let encoded = AudioCodec::Pcmu.encode(&pcm);
    let decode = per_second(budget, || {
        black_box(AudioCodec::Pcmu.decode(black_box(&encoded)));
    }) * encoded.len() as f64;
    println!("µ-law decode        {:>10.1} M samples/s", decode / 1e6);

    let prompt = EncodedPrompt::encode(&pcm, AudioCodec::Pcmu);
    let mut sender = RtpSender::new(Ssrc(1), 0, 0, 0);
    let mut datagram = Vec::with_capacity(172);
    let mut i = 0usize;
    let frames = per_second(budget, || {
        let frame = prompt.frame(i % prompt.len_frames()).unwrap_or_default();
        sender.write_frame(black_box(frame), 160, &mut datagram);
        black_box(&datagram);
        i += 1;
    });
    println!("RtpSender frames    {:>10.1} M frames/s", frames / 1e6);

    let bytes = datagram.clone();
    let parse = per_second(budget, || {
        let _ = black_box(media::rtp::parse(black_box(&bytes)));
    });
    println!("rtp::parse          {:>10.1} M packets/s", parse / 1e6);

    let speech = tone::sine(1000.0, 0.5, 3000, 22050);
    let resample = per_second(budget, || {
        black_box(resample::to_rate(black_box(&speech), 22050, 8000));
    });
    println!(
        "resample 22050→8000 {:>10.1} × realtime (3 s prompt: {:.2} ms)",
        resample * 3.0,
        1e3 / resample
    );

    // Receive-path detectors, in concurrent real-time streams per core.
    let mut detector = DtmfDetector::new();
    let mut j = 0usize;
    let dtmf = per_second(budget, || {
        let frame = &pcm[(j % 50) * 160..(j % 50 + 1) * 160];
        black_box(detector.process(black_box(frame)));
        j += 1;
    });
    println!(
        "DTMF detector       {:>10.0} streams/core (20 ms frames)",
        dtmf / 50.0
    );

    let mut amd = Amd::new(AmdConfig::default());
    let mut k = 0usize;
    let amd_rate = per_second(budget, || {
        let frame = &pcm[(k % 50) * 160..(k % 50 + 1) * 160];
        black_box(amd.process(black_box(frame)));
        k += 1;
    });
    println!(
        "AMD (beep tracking) {:>10.0} streams/core (20 ms frames)",
        amd_rate / 50.0
    );
}
