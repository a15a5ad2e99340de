//! The processes the soak starts (the gateway and the upstreams), each on a port that stays its own
//! across restarts: killed with SIGKILL, stopped and continued, started again on the same port.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a process is started; called again for every restart.
pub type Launch = Box<dyn Fn() -> Command + Send>;

pub struct Proc {
    pub name: &'static str,
    pub port: u16,
    launch: Launch,
    log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    /// Starts the process (its stdout and stderr appended to `dir/NAME.log`) and waits until its port
    /// accepts connections.
    pub async fn start(
        name: &'static str,
        port: u16,
        dir: &Path,
        launch: Launch,
    ) -> Result<Proc, String> {
        let log = dir.join(format!("{name}.log"));
        std::fs::write(&log, "").map_err(|e| format!("{}: {e}", log.display()))?;
        let mut proc = Proc {
            name,
            port,
            launch,
            log,
            child: None,
        };
        proc.spawn().await?;
        Ok(proc)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Starts it again after [`Proc::kill`]; a port not yet free (or a start that failed) is retried
    /// for 60 s.
    pub async fn spawn(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = std::fs::OpenOptions::new()
                .append(true)
                .open(&self.log)
                .map_err(|e| e.to_string())?;
            let err = out.try_clone().map_err(|e| e.to_string())?;
            let child = (self.launch)()
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("{}: {e}", self.name))?;
            self.child = Some(child);
            match self.wait_listening(deadline).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {
                    self.kill();
                }
            }
        }
    }

    /// Waits until the port accepts a connection; an error if the process exits or `deadline` passes.
    async fn wait_listening(&mut self, deadline: Instant) -> Result<(), String> {
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!(
                    "{} exited ({status}); see {}",
                    self.name,
                    self.log.display()
                ));
            }
            if tokio::net::TcpStream::connect(self.addr()).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("{} is not listening on {}", self.name, self.port));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, and the exit collected; how it had exited if it was gone already (on its own).
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let gone = child.try_wait().ok().flatten();
        let _ = child.kill();
        let _ = child.wait();
        gone
    }

    /// Sends `signal` (`STOP`, `CONT`) to the process.
    pub fn signal(&self, signal: &str) -> Result<(), String> {
        let pid = self
            .pid()
            .ok_or_else(|| format!("{} is not running", self.name))?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{signal} {pid}: {status}"))
        }
    }

    /// Whether it is still running (not exited on its own).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }
}

impl Drop for Proc {
    /// SIGKILL ends a stopped process too.
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// VmRSS of `pid` in KiB, from /proc (0 once the process is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = status.lines().find_map(|l| l.strip_prefix("VmRSS:"));
    field
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `n` ports free now, below the kernel's ephemeral range (32768 and up here): a restarted upstream
/// takes its port back, and no outgoing connection of the gateway can hold it as its local port
/// while the upstream is down.
pub fn ports(n: usize) -> Vec<u16> {
    let mut found = Vec::new();
    let first = 20_000 + (std::process::id() % 100) as u16 * 100;
    for port in first..32_000 {
        if found.len() == n {
            break;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            found.push(port);
        }
    }
    assert_eq!(found.len(), n, "free ports below 32000");
    found
}
