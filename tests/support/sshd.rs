//! A throwaway OpenSSH server (the distribution's /usr/sbin/sshd) for tests: its own host
//! key, a client key made here and authorized for the current user, listening on one address
//! and a free port; killed when dropped. `ssh_command()` gives the client options that trust
//! exactly this server's key.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    dir: tempfile::TempDir,
    pub addr: String,
    pub port: u16,
    pub user: String,
    child: Child,
}

fn tool(name: &str) -> PathBuf {
    let found = ["/usr/bin", "/usr/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "{name} not found: install OpenSSH (apt-get install -y openssh-server openssh-client)"
        )
    })
}

fn keygen(path: &Path) {
    let out = Command::new(tool("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "pglcr-test", "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .unwrap()
        .port()
}

impl Sshd {
    /// Starts sshd on 127.0.0.1.
    pub fn start() -> Sshd {
        Self::start_on("127.0.0.1", free_port(), None)
    }

    /// Starts sshd on `addr:port`, inside network namespace `netns` when given.
    pub fn start_on(addr: &str, port: u16, netns: Option<&str>) -> Sshd {
        assert!(
            Path::new(SSHD).is_file(),
            "{SSHD} not found: install OpenSSH (apt-get install -y openssh-server openssh-client)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        std::fs::write(
            d.join("known_hosts"),
            format!("[{addr}]:{port} {}\n", host_pub.join(" ")),
        )
        .unwrap();
        let config = format!(
            "Port {port}\nListenAddress {addr}\nHostKey {d}/host_key\n\
             AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n\
             PidFile {d}/sshd.pid\nMaxSessions 64\nMaxStartups 64\nLogLevel ERROR\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        // sshd's privilege separation needs this directory when it runs as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new(tool("ip"));
                c.args(["netns", "exec", ns, SSHD]);
                c
            }
            None => Command::new(SSHD),
        };
        let child = cmd
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .expect("start sshd");
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let mut sshd = Sshd {
            dir,
            addr: addr.to_string(),
            port,
            user,
            child,
        };
        sshd.wait_ready(netns);
        sshd
    }

    fn wait_ready(&mut self, netns: Option<&str>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited with {status}: {}", self.log());
            }
            let up = match netns {
                None => TcpStream::connect((self.addr.as_str(), self.port)).is_ok(),
                // The port is in another namespace: ask from there.
                Some(ns) => Command::new(tool("ip"))
                    .args(["netns", "exec", ns, "ss", "-Hltn"])
                    .output()
                    .is_ok_and(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .contains(&format!("{}:{}", self.addr, self.port))
                    }),
            };
            if up {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// `ssh://user@addr:port/path`
    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@{}:{}{}",
            self.user,
            self.addr,
            self.port,
            path.display()
        )
    }

    /// The client command: this server's key only, the test's key only, no user config.
    pub fn ssh_command(&self) -> String {
        let d = self.dir.path().display();
        format!(
            "ssh -F /dev/null -i {d}/client_key -o IdentitiesOnly=yes \
             -o UserKnownHostsFile={d}/known_hosts -o StrictHostKeyChecking=yes"
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
