//! A replication link a test can hold (`Link`): a TCP relay between a
//! replica and its primary, for the `--read-from` tests of a replica that
//! lags.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A replication link the test can hold: a TCP relay between a replica and
/// its primary. Held, the link stays up (the connection is open) while
/// nothing crosses it, so the replica falls behind exactly as a slow or
/// congested link makes it, on every server of the matrix.
pub struct Link {
    pub port: u16,
    held: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Link {
    pub fn to(primary_port: u16) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let held = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, st) = (held.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((down, _)) => {
                        down.set_nonblocking(false).expect("blocking");
                        let up = TcpStream::connect(("127.0.0.1", primary_port)).expect("connect");
                        for (from, to) in [
                            (
                                down.try_clone().expect("clone"),
                                up.try_clone().expect("clone"),
                            ),
                            (up, down),
                        ] {
                            let (h, st) = (h.clone(), st.clone());
                            std::thread::spawn(move || relay(from, to, &h, &st));
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Link { port, held, stop }
    }

    /// Hold the link; bytes the primary sends from now on wait.
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
        // A read already under way (at most one 50 ms timeout) ends first.
        std::thread::sleep(Duration::from_millis(200));
    }

    pub fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.release();
    }
}

fn relay(mut from: TcpStream, mut to: TcpStream, held: &AtomicBool, stop: &AtomicBool) {
    from.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        if held.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}
