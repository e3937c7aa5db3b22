//! A first measurement of file chunks through one relay: uploads `--mib` MiB
//! as 4 MiB chunks on one connection, then downloads them on another, each
//! with a window of pieces in flight, and prints MB/s for both and this
//! process's peak resident memory. Run a release relay first and give its
//! address:
//!
//! ```text
//! cargo build --release -p sotto-relay --example chunk_throughput
//! target/release/sotto-relay --data /tmp/relay-data &
//! target/release/examples/chunk_throughput 'sotto+ws://…@127.0.0.1:7000' 1024
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use sotto_client::relay::{ConnectOptions, RelayConnection};
use sotto_wire::{ChunkDigest, ChunkSize, RelayAddress};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let address: RelayAddress = args.next().expect("relay address").parse().unwrap();
    let mib: usize = args.next().map_or(256, |text| text.parse().unwrap());
    let window: usize = args.next().map_or(64, |text| text.parse().unwrap());
    let chunks = mib.div_ceil(4);
    let options = ConnectOptions::default();
    let (uploader, _pushes) = RelayConnection::connect(&address, &options).await.unwrap();
    let (downloader, _pushes2) = RelayConnection::connect(&address, &options).await.unwrap();

    // One 4 MiB chunk content, changed per chunk in its first bytes, so that
    // the test holds one chunk at a time.
    let mut content = vec![0u8; ChunkSize::Mib4.bytes() as usize];
    for (i, byte) in content.iter_mut().enumerate() {
        *byte = (i * 7 + i / 251) as u8;
    }
    let mut downloads = Vec::with_capacity(chunks);
    let started = Instant::now();
    for n in 0..chunks {
        content[..8].copy_from_slice(&(n as u64).to_be_bytes());
        let chunk = uploader
            .create_chunk(ChunkSize::Mib4, ChunkDigest::of(&content), 1, None)
            .await
            .unwrap();
        uploader
            .upload_chunk(&chunk.upload, &content, window)
            .await
            .unwrap();
        downloads.extend(chunk.downloads);
    }
    let upload = started.elapsed();
    let started = Instant::now();
    for download in &downloads {
        let bytes = downloader.download_chunk(download, window).await.unwrap();
        assert_eq!(bytes.len(), content.len());
    }
    let download = started.elapsed();
    let megabytes = (chunks * content.len()) as f64 / 1e6;
    println!(
        "{} MiB: upload {:.1} MB/s ({:.2} s), download {:.1} MB/s ({:.2} s)",
        chunks * 4,
        megabytes / upload.as_secs_f64(),
        upload.as_secs_f64(),
        megabytes / download.as_secs_f64(),
        download.as_secs_f64()
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|line| line.starts_with("VmHWM")) {
        println!(
            "client peak resident memory: {}",
            line.trim_start_matches("VmHWM:").trim()
        );
    }
}
