//! SOCKS5 proxies on loopback (no authentication, CONNECT only) for the
//! profiles' `--socks5` option: a faithful one that counts its connections,
//! and one that tampers with the WebSocket frames between client and relay.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A faithful proxy; returns its address and a count of the connections it
/// made.
pub(crate) fn socks5_proxy() -> (String, Arc<AtomicUsize>) {
    let proxy = TamperingProxy::start();
    (proxy.address.clone(), proxy.connections.clone())
}

/// Which way a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Toward {
    Client,
    Relay,
}

/// What the proxy does to one WebSocket frame of a connection.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mischief {
    /// Never forwards it.
    Drop,
    /// Forwards it twice.
    Duplicate,
    /// Forwards it after the next frame (or after a pause if none comes).
    Reorder,
    /// Forwards it, then the connection's first frame in that direction again.
    Replay,
}

/// One connection's treatment: `mischief` on the frame numbered `frame`
/// (from 0, after the HTTP upgrade) going `toward`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub(crate) toward: Toward,
    pub(crate) frame: usize,
    pub(crate) mischief: Mischief,
}

/// A SOCKS5 proxy that gives each new connection the next plan armed (none
/// once they are used up: a faithful connection).
pub(crate) struct TamperingProxy {
    pub(crate) address: String,
    pub(crate) connections: Arc<AtomicUsize>,
    plans: Arc<Mutex<VecDeque<Plan>>>,
    /// Plans applied (the frame was there to tamper with).
    pub(crate) applied: Arc<AtomicUsize>,
}

impl TamperingProxy {
    pub(crate) fn start() -> TamperingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let connections = Arc::new(AtomicUsize::new(0));
        let plans = Arc::new(Mutex::new(VecDeque::new()));
        let applied = Arc::new(AtomicUsize::new(0));
        let (counter, queue, done) = (connections.clone(), plans.clone(), applied.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let (counter, queue, done) = (counter.clone(), queue.clone(), done.clone());
                std::thread::spawn(move || {
                    if let Some(relay) = socks5_handshake(&client) {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let plan = queue.lock().unwrap().pop_front();
                        pipe(client, relay, plan, &done);
                    }
                });
            }
        });
        TamperingProxy {
            address,
            connections,
            plans,
            applied,
        }
    }

    /// The next connections get these plans, one each.
    pub(crate) fn arm(&self, plans: &[Plan]) {
        self.plans.lock().unwrap().extend(plans.iter().copied());
    }

    /// Plans armed and not yet given to a connection.
    pub(crate) fn armed(&self) -> usize {
        self.plans.lock().unwrap().len()
    }

    /// Drops the plans not yet used.
    pub(crate) fn disarm(&self) {
        self.plans.lock().unwrap().clear();
    }
}

fn socks5_handshake(mut client: &TcpStream) -> Option<TcpStream> {
    let request = read_request(client)?;
    assert_eq!(request.command, 1, "CONNECT");
    let relay = TcpStream::connect((request.host.as_str(), request.port)).ok()?;
    client.write_all(&SUCCEEDED).ok()?;
    Some(relay)
}

/// A client's SOCKS5 request, as it sent it.
pub(crate) struct Request {
    /// 1: CONNECT.
    pub(crate) command: u8,
    /// 1: an IPv4 address, 3: a domain name (for the proxy to resolve).
    pub(crate) address_type: u8,
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// The reply that lets the client's stream through to its target.
pub(crate) const SUCCEEDED: [u8; 10] = [5, 0, 0, 1, 0, 0, 0, 0, 0, 0];

/// The reply refusing a request ("connection not allowed by ruleset").
pub(crate) const NOT_ALLOWED: [u8; 10] = [5, 2, 0, 1, 0, 0, 0, 0, 0, 0];

/// Reads the client's greeting, accepts it without authentication, and reads
/// its request; `None` if the client goes away or names its target other
/// than by IPv4 address or domain name.
pub(crate) fn read_request(mut client: &TcpStream) -> Option<Request> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).ok()?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).ok()?;
    client.write_all(&[5, 0]).ok()?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).ok()?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).ok()?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).ok()?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).ok()?;
            String::from_utf8(name).ok()?
        }
        _ => return None,
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).ok()?;
    Some(Request {
        command: request[1],
        address_type: request[3],
        host,
        port: u16::from_be_bytes(port),
    })
}

fn pipe(client: TcpStream, relay: TcpStream, plan: Option<Plan>, applied: &Arc<AtomicUsize>) {
    let for_relay = plan.filter(|p| p.toward == Toward::Relay);
    let for_client = plan.filter(|p| p.toward == Toward::Client);
    let (client_read, relay_write) = (client.try_clone().unwrap(), relay.try_clone().unwrap());
    let done = applied.clone();
    let upstream = std::thread::spawn(move || forward(client_read, relay_write, for_relay, &done));
    forward(relay, client, for_client, applied);
    let _ = upstream.join();
}

/// Copies `from` to `to`: the HTTP upgrade as it is, then frame by frame,
/// with `plan`'s mischief.
fn forward(mut from: TcpStream, mut to: TcpStream, plan: Option<Plan>, applied: &Arc<AtomicUsize>) {
    let _ = (|| -> std::io::Result<()> {
        // The HTTP request or response, up to its blank line.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            from.read_exact(&mut byte)?;
            head.push(byte[0]);
        }
        to.write_all(&head)?;
        let mut first: Option<Vec<u8>> = None;
        let mut held: Option<Vec<u8>> = None;
        for index in 0.. {
            if held.is_some() {
                // A held frame goes out after the next one, or after a pause.
                from.set_read_timeout(Some(Duration::from_millis(500)))?;
                let mut peek = [0u8; 1];
                let ready = from.peek(&mut peek);
                from.set_read_timeout(None)?;
                if ready.is_err() {
                    to.write_all(&held.take().unwrap())?;
                }
            }
            let frame = read_frame(&mut from)?;
            if first.is_none() {
                first = Some(frame.clone());
            }
            match plan {
                Some(plan) if plan.frame == index => {
                    applied.fetch_add(1, Ordering::SeqCst);
                    match plan.mischief {
                        Mischief::Drop => {}
                        Mischief::Duplicate => {
                            to.write_all(&frame)?;
                            to.write_all(&frame)?;
                        }
                        Mischief::Reorder => held = Some(frame),
                        Mischief::Replay => {
                            to.write_all(&frame)?;
                            to.write_all(first.as_ref().unwrap())?;
                        }
                    }
                }
                _ => {
                    to.write_all(&frame)?;
                    if let Some(held) = held.take() {
                        to.write_all(&held)?;
                    }
                }
            }
        }
        Ok(())
    })();
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// One WebSocket frame, as its raw bytes.
fn read_frame(from: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut frame = vec![0u8; 2];
    from.read_exact(&mut frame)?;
    let masked = frame[1] & 0x80 != 0;
    let length = match frame[1] & 0x7f {
        126 => {
            let mut bytes = [0u8; 2];
            from.read_exact(&mut bytes)?;
            frame.extend_from_slice(&bytes);
            u64::from(u16::from_be_bytes(bytes))
        }
        127 => {
            let mut bytes = [0u8; 8];
            from.read_exact(&mut bytes)?;
            frame.extend_from_slice(&bytes);
            u64::from_be_bytes(bytes)
        }
        short => u64::from(short),
    };
    assert!(length <= 1 << 20, "a frame of {length} bytes");
    let rest = usize::try_from(length).unwrap() + if masked { 4 } else { 0 };
    let start = frame.len();
    frame.resize(start + rest, 0);
    from.read_exact(&mut frame[start..])?;
    Ok(frame)
}
