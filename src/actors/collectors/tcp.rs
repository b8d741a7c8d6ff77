//! One TCP log host (`info-center loghost ... transport tcp`): a non-blocking connection, a
//! queue bounded by bytes, RFC 6587 frames written as far as the kernel takes them, and a
//! reconnect with backoff. Nothing here ever waits: `pump` does what the socket allows now and
//! comes back at the next turn.

use std::collections::VecDeque;
use std::io::{IoSlice, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd as _;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrStorage, connect, socket};

/// How a TCP host's connection and queue behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpTuning {
    /// The most bytes of framed messages the host's queue holds (a message that would pass
    /// it is dropped and counted). 4 MiB holds some 15,000 session logs: a collector that
    /// restarts within seconds loses nothing, and four hosts cost at most 16 MiB.
    pub queue_bytes: usize,
    /// The first wait before a reconnect; it doubles after each failure ...
    pub backoff_min: Duration,
    /// ... up to this.
    pub backoff_max: Duration,
    /// A connection not established after this long is abandoned (the kernel would retry its
    /// SYN for two minutes; a collector that slow is down for our purposes).
    pub connect_timeout: Duration,
}

impl Default for TcpTuning {
    fn default() -> Self {
        TcpTuning {
            queue_bytes: 4 << 20,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What one `pump` did to the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Messages the kernel took whole.
    pub sent: u64,
    /// Messages cut by a lost connection (part of them went out on the connection that died:
    /// the collector saw a truncated frame, and the rest cannot be sent on a new one).
    pub lost: u64,
}

#[derive(Debug)]
enum Conn {
    /// No connection; the next attempt at `retry_at`.
    Down {
        retry_at: Instant,
    },
    /// A non-blocking connect in progress since `since`.
    Connecting {
        stream: TcpStream,
        since: Instant,
    },
    Up(TcpStream),
}

/// A TCP host's connection and queue.
#[derive(Debug)]
pub struct TcpLink {
    dest: SocketAddr,
    tuning: TcpTuning,
    conn: Conn,
    backoff: Duration,
    /// Framed messages back to back (one ring, no allocation per message).
    queue: VecDeque<u8>,
    /// The length of each message in `queue`, oldest first.
    frames: VecDeque<usize>,
    /// Bytes of the oldest message already written.
    head_written: usize,
}

impl TcpLink {
    /// A link that connects at its first `pump`.
    pub fn new(dest: SocketAddr, tuning: TcpTuning, now: Instant) -> TcpLink {
        TcpLink {
            dest,
            tuning,
            conn: Conn::Down { retry_at: now },
            backoff: tuning.backoff_min,
            queue: VecDeque::new(),
            frames: VecDeque::new(),
            head_written: 0,
        }
    }

    pub fn connected(&self) -> bool {
        matches!(self.conn, Conn::Up(_))
    }

    /// Messages waiting (including one partly written).
    pub fn queued(&self) -> u64 {
        self.frames.len() as u64
    }

    pub fn queued_bytes(&self) -> usize {
        self.queue.len()
    }

    /// Queues one framed message; false (nothing queued) when it does not fit.
    pub fn push(&mut self, frame: &[u8]) -> bool {
        if frame.is_empty() || self.queue.len() + frame.len() > self.tuning.queue_bytes {
            return false;
        }
        self.queue.extend(frame);
        self.frames.push_back(frame.len());
        true
    }

    /// When a link that is down tries again (`None`: connecting or connected).
    pub fn down_until(&self) -> Option<Instant> {
        match self.conn {
            Conn::Down { retry_at } => Some(retry_at),
            _ => None,
        }
    }

    /// The next `pump` may try to connect at once (shutdown: one last chance).
    pub fn retry_now(&mut self, now: Instant) {
        if let Conn::Down { retry_at } = &mut self.conn {
            *retry_at = now;
        }
    }

    /// Connects, notices a lost connection, writes what the socket takes. Never blocks.
    pub fn pump(&mut self, now: Instant) -> Progress {
        let mut progress = Progress::default();
        self.advance_connection(now);
        if let Conn::Up(stream) = &mut self.conn
            && !peer_still_there(stream)
        {
            self.lose_connection(now, &mut progress);
        }
        self.write(now, &mut progress);
        progress
    }

    /// Empties the queue (shutdown, or a host taken out of the configuration): the number of
    /// messages thrown away.
    pub fn discard_all(&mut self) -> u64 {
        let n = self.frames.len() as u64;
        self.queue.clear();
        self.frames.clear();
        self.head_written = 0;
        self.conn = Conn::Down {
            retry_at: Instant::now() + self.tuning.backoff_max,
        };
        n
    }

    fn advance_connection(&mut self, now: Instant) {
        match &self.conn {
            Conn::Down { retry_at } if now >= *retry_at => match start_connect(self.dest) {
                Ok((stream, true)) => self.up(stream),
                Ok((stream, false)) => self.conn = Conn::Connecting { stream, since: now },
                Err(_) => self.fail(now),
            },
            Conn::Connecting { stream, since } => {
                // SO_ERROR set: the attempt failed. A peer address: it succeeded. Neither:
                // still in progress (a failure between the two calls is seen next turn).
                let failed = !matches!(stream.take_error(), Ok(None));
                if failed {
                    self.fail(now);
                } else if stream.peer_addr().is_ok() {
                    if let Conn::Connecting { stream, .. } =
                        std::mem::replace(&mut self.conn, Conn::Down { retry_at: now })
                    {
                        self.up(stream);
                    }
                } else if now.duration_since(*since) >= self.tuning.connect_timeout {
                    self.fail(now);
                }
            }
            _ => {}
        }
    }

    fn up(&mut self, stream: TcpStream) {
        // Logs are small and late is worse than small packets.
        let _ = stream.set_nodelay(true);
        self.conn = Conn::Up(stream);
        self.backoff = self.tuning.backoff_min;
    }

    /// A connect that failed: wait, then try again, waiting twice as long next time.
    fn fail(&mut self, now: Instant) {
        self.conn = Conn::Down {
            retry_at: now + self.backoff,
        };
        self.backoff = (self.backoff * 2).min(self.tuning.backoff_max);
    }

    fn lose_connection(&mut self, now: Instant, progress: &mut Progress) {
        if self.head_written > 0
            && let Some(len) = self.frames.pop_front()
        {
            self.queue.drain(..len - self.head_written);
            self.head_written = 0;
            progress.lost += 1;
        }
        self.fail(now);
    }

    fn write(&mut self, now: Instant, progress: &mut Progress) {
        loop {
            let Conn::Up(stream) = &mut self.conn else {
                return;
            };
            if self.queue.is_empty() {
                return;
            }
            let (a, b) = self.queue.as_slices();
            let written = stream.write_vectored(&[IoSlice::new(a), IoSlice::new(b)]);
            match written {
                Ok(0) => return self.lose_connection(now, progress),
                Ok(n) => {
                    self.queue.drain(..n);
                    self.head_written += n;
                    while let Some(&len) = self.frames.front() {
                        if self.head_written < len {
                            break;
                        }
                        self.head_written -= len;
                        self.frames.pop_front();
                        progress.sent += 1;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return self.lose_connection(now, progress),
            }
        }
    }
}

/// A collector sends nothing: a read that finds the end of the stream or an error means the
/// connection is gone (what it did send is read and ignored, a bounded amount per turn).
fn peer_still_there(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    for _ in 0..16 {
        match stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// A non-blocking socket and its connect: the stream and whether it is connected already
/// (loopback can answer at once), or an error.
fn start_connect(dest: SocketAddr) -> Result<(TcpStream, bool), Errno> {
    let family = match dest {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let connected = match connect(fd.as_raw_fd(), &SockaddrStorage::from(dest)) {
        Ok(()) => true,
        Err(Errno::EINPROGRESS) => false,
        Err(e) => return Err(e),
    };
    Ok((TcpStream::from(fd), connected))
}
