//! Writing to standard output and standard error without panicking. `std`'s `println!` panics
//! when the stream is closed (`nself db migrate up | head -1`: the reader exits, the next write
//! fails with EPIPE, since Rust ignores SIGPIPE). Every line nself prints goes through
//! [`outln!`]/[`out!`]/[`errln!`]/[`errout!`] instead: the first failed write marks the stream
//! closed, and later writes to it are dropped, so the command finishes what it was doing (a
//! migration run is never cut between two statements by a closed pipe) and exits with its own
//! code, quietly, as other command-line tools do.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Which stream a write goes to.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn closed_flag(self) -> &'static AtomicBool {
        match self {
            Stream::Stdout => &STDOUT_CLOSED,
            Stream::Stderr => &STDERR_CLOSED,
        }
    }

    /// Whether a write to this stream has failed (the reader went away). Loops that only exist
    /// to print (following a log) stop when this turns true.
    pub fn is_closed(self) -> bool {
        self.closed_flag().load(Ordering::Relaxed)
    }
}

/// Writes formatted text to `stream`; a failure marks the stream closed and is not reported.
pub fn write(stream: Stream, args: fmt::Arguments<'_>) {
    let flag = stream.closed_flag();
    if flag.load(Ordering::Relaxed) {
        return;
    }
    let result = match stream {
        Stream::Stdout => std::io::stdout().lock().write_fmt(args),
        Stream::Stderr => std::io::stderr().lock().write_fmt(args),
    };
    if result.is_err() {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Flushes `stream` (after a `out!` without a newline), with the same closed-pipe rule.
pub fn flush(stream: Stream) {
    let flag = stream.closed_flag();
    if flag.load(Ordering::Relaxed) {
        return;
    }
    let result = match stream {
        Stream::Stdout => std::io::stdout().lock().flush(),
        Stream::Stderr => std::io::stderr().lock().flush(),
    };
    if result.is_err() {
        flag.store(true, Ordering::Relaxed);
    }
}

/// A locked standard stream for code that writes with `io::Write` (a whole export, a JSON
/// document, a rendered report): a closed pipe (EPIPE) marks the stream closed and the write
/// counts as done, so the caller finishes quietly as with [`outln!`]; any other error is
/// returned.
pub struct Quiet<W> {
    inner: W,
    stream: Stream,
}

/// Standard output for `io::Write` users, with the closed-pipe rule of [`Quiet`].
pub fn stdout() -> Quiet<std::io::StdoutLock<'static>> {
    Quiet {
        inner: std::io::stdout().lock(),
        stream: Stream::Stdout,
    }
}

/// Standard error for `io::Write` users, with the closed-pipe rule of [`Quiet`].
pub fn stderr() -> Quiet<std::io::StderrLock<'static>> {
    Quiet {
        inner: std::io::stderr().lock(),
        stream: Stream::Stderr,
    }
}

impl<W: Write> Quiet<W> {
    fn settle<T>(&self, result: std::io::Result<T>, done: T) -> std::io::Result<T> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.stream.closed_flag().store(true, Ordering::Relaxed);
                Ok(done)
            }
            other => other,
        }
    }
}

impl<W: Write> Write for Quiet<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.stream.is_closed() {
            return Ok(buf.len());
        }
        let result = self.inner.write(buf);
        self.settle(result, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.stream.is_closed() {
            return Ok(());
        }
        let result = self.inner.flush();
        self.settle(result, ())
    }
}

/// `println!` that never panics: see the module documentation.
macro_rules! outln {
    () => { $crate::out::write($crate::out::Stream::Stdout, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Stdout, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write($crate::out::Stream::Stdout, format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => { $crate::out::write($crate::out::Stream::Stderr, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Stderr, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that never panics.
macro_rules! errout {
    ($($arg:tt)*) => { $crate::out::write($crate::out::Stream::Stderr, format_args!($($arg)*)) };
}
