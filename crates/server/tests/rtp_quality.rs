//! RTP as the caller receives it, measured in this process (not the server's): packet count
//! during a 3 s prompt, sequence and timestamp continuity, pacing jitter, and real audio.

mod support;

use serde_json::json;
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use support::{flow, Server, ServerOptions};

struct Packet {
    at: Instant,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

fn ulaw_decode(c: u8) -> i16 {
    let c = !c;
    let sign = c & 0x80;
    let exponent = (c >> 4) & 0x07;
    let mantissa = c & 0x0F;
    let magnitude = ((i32::from(mantissa) << 3) + 0x84) << exponent;
    let v = magnitude - 0x84;
    (if sign != 0 { -v } else { v }) as i16
}

#[test]
fn three_second_prompt_arrives_as_150_paced_contiguous_packets_of_audio() {
    let dir = support::tempdir::Dir::new("rtp");
    let wav = dir.path().join("tone-3s.wav");
    support::write_tone_wav(&wav, 440.0, 3.0);
    let server = Server::start(ServerOptions {
        flows: vec![(
            "main",
            flow(
                "main",
                json!([
                    {"type": "play", "option": {"stream_urls": [format!("file://{}", wav.display())]}},
                    {"type": "sleep", "option": {"duration": 200}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let rtp_port = rtp.local_addr().unwrap().port().to_string();
    let port = server.sip_port;
    let caller = std::thread::spawn(move || {
        support::sipp_against(port, "uac_server_bye.xml", &["-key", "rtp_port", &rtp_port])
    });
    let mut packets = Vec::new();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while !caller.is_finished() && start.elapsed() < Duration::from_secs(20) {
        if let Ok((n, _)) = rtp.recv_from(&mut buf) {
            let at = Instant::now();
            if n < 12 || buf[0] >> 6 != 2 {
                continue;
            }
            packets.push(Packet {
                at,
                seq: u16::from_be_bytes([buf[2], buf[3]]),
                ts: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
                ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
                payload: buf[12..n].to_vec(),
            });
        }
    }
    let run = caller.join().unwrap();
    assert!(run.success, "sipp: {}\n{}", run.output, server.log());
    assert!(packets.len() > 100, "only {} packets", packets.len());

    // One stream, contiguous sequence numbers, timestamps stepping by 160.
    let ssrc = packets[0].ssrc;
    assert!(packets.iter().all(|p| p.ssrc == ssrc), "SSRC changed");
    for w in packets.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "sequence gap");
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(160), "timestamp step");
        assert_eq!(w[1].payload.len(), 160);
    }

    // The prompt: frames that are not the silence byte.
    let prompt: Vec<&Packet> = packets
        .iter()
        .filter(|p| p.payload.iter().any(|&b| b != 0xFF))
        .collect();
    assert!(
        (148..=152).contains(&prompt.len()),
        "prompt frames: {} (of {} packets)",
        prompt.len(),
        packets.len()
    );
    // Real audio at the expected level (the tone is about -8.7 dBFS RMS).
    let samples: Vec<f64> = prompt
        .iter()
        .flat_map(|p| p.payload.iter().map(|&b| f64::from(ulaw_decode(b))))
        .collect();
    let rms = (samples.iter().map(|s| s * s).sum::<f64>() / samples.len() as f64).sqrt();
    let dbfs = 20.0 * (rms / 32768.0).log10();
    assert!(dbfs > -12.0, "prompt level {dbfs:.1} dBFS");

    // Pacing: inter-arrival within 5 ms of 20 ms at the 1st and 99th percentiles.
    let mut gaps: Vec<f64> = packets
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at).as_secs_f64() * 1000.0)
        .collect();
    gaps.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| gaps[((gaps.len() - 1) as f64 * q).round() as usize];
    let (p01, p99) = (p(0.01), p(0.99));
    println!(
        "packets {} prompt frames {} level {dbfs:.1} dBFS inter-arrival p1 {p01:.2} ms p99 {p99:.2} ms",
        packets.len(),
        prompt.len()
    );
    assert!(
        p99 <= 25.0 && p01 >= 15.0,
        "inter-arrival p1 {p01:.2} ms, p99 {p99:.2} ms"
    );
}
